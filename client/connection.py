"""How a client reaches the consortium: endpoints, TLS trust, its key, and the failover policy.

Trust: the server's TLS certificate must be issued by the consortium CA (`ca_cert_pem` of genesis,
or a CA file). Identity: every transaction is signed with the client's enrolled Ed25519 key.
Failover: UNAVAILABLE and DEADLINE_EXCEEDED move to the next endpoint (resubmitting the same
transaction is idempotent: a node answers DUPLICATE or COMMITTED); RESOURCE_EXHAUSTED backs off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import nacl.signing

from baaskit.genesis import Genesis, GenesisError, load_genesis
from baaskit.node.keyfiles import KeyFileError, load_signing_key

FAILOVER_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
BACKOFF_CODES = frozenset({grpc.StatusCode.RESOURCE_EXHAUSTED})
DEFAULT_TIMEOUT_S = 30.0
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
CHANNEL_OPTIONS = (
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.enable_retries", 0),  # we fail over ourselves, to another node
)


class ClientError(Exception):
    """Something the caller can act on; `message` is meant for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unavailable(ClientError):
    """No endpoint answered (all down, or unreachable)."""


class Rejected(ClientError):
    """A node refused the request (malformed, unenrolled signer, not found, ...)."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code


class NotCommitted(ClientError):
    """Transactions not committed before the deadline (they may still commit later)."""

    def __init__(self, message: str, tx_ids: Sequence[bytes]) -> None:
        super().__init__(message)
        self.tx_ids = tuple(tx_ids)


@dataclass(frozen=True)
class Settings:
    endpoints: tuple[str, ...]
    ca_pem: bytes
    chain_id: str
    genesis: Genesis | None = None  # needed to check receipts (member keys, f)
    key: nacl.signing.SigningKey | None = None  # needed to sign transactions
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if not self.endpoints:
            raise ClientError("no node endpoints to connect to")
        for ep in self.endpoints:
            host, sep, port = ep.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ClientError(f"endpoint {ep!r} is not host:port")
        if not self.ca_pem:
            raise ClientError("no CA certificate to check the nodes' TLS certificates against")

    @classmethod
    def from_genesis(
        cls,
        genesis: Genesis,
        key: nacl.signing.SigningKey | None = None,
        endpoints: Sequence[str] = (),
        ca_pem: bytes | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> Settings:
        """Endpoints default to every member's API address listed in genesis."""
        eps = tuple(endpoints) or tuple(f"{m.host}:{m.api_port}" for m in genesis.members)
        return cls(eps, ca_pem or genesis.ca_cert_pem.encode(), genesis.chain_id, genesis, key, timeout_s)


def resolve_settings(
    endpoints: Sequence[str],
    genesis: Genesis | str | Path,
    key: nacl.signing.SigningKey | str | Path | None,
    ca: str | Path | None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Settings:
    """Settings from objects or file paths (genesis, key file, CA file)."""
    try:
        gen = genesis if isinstance(genesis, Genesis) else load_genesis(genesis)
        signing = key if key is None or isinstance(key, nacl.signing.SigningKey) else load_signing_key(key)
        ca_pem = Path(ca).read_bytes() if ca is not None else None
    except (GenesisError, KeyFileError) as exc:
        raise ClientError(str(exc)) from None
    except OSError as exc:
        raise ClientError(f"cannot read CA file {ca}: {exc.strerror}") from None
    return Settings.from_genesis(gen, signing, endpoints, ca_pem, timeout_s)


DEFAULT_CLUSTER_DIR = Path(".baaskit/cluster")


def cluster_settings(
    folder: str | Path = DEFAULT_CLUSTER_DIR,
    client: str | None = None,
    endpoints: Sequence[str] = (),
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Settings:
    """Settings for a local cluster folder (`baaskit init`/`up`): genesis.json, ca.crt and an
    enrolled key from clients/<client>.key (default: the first one, by name)."""
    root = Path(folder)
    genesis = root / "genesis.json"
    if not genesis.is_file():
        raise ClientError(
            f"no cluster in {root} (no genesis.json): run `baaskit up`, or pass --genesis/--key/--endpoint"
        )
    keys = sorted((root / "clients").glob("*.key"))
    if client is not None:
        key: Path | None = root / "clients" / f"{client}.key"
        if key is None or not key.is_file():
            names = ", ".join(k.stem for k in keys) or "none"
            raise ClientError(f"no client key {client!r} in {root / 'clients'} (have: {names})")
    else:
        key = keys[0] if keys else None
    ca = root / "ca.crt"
    return resolve_settings(endpoints, genesis, key, ca if ca.is_file() else None, timeout_s)


def credentials(ca_pem: bytes) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(root_certificates=ca_pem)


def rpc_code(exc: grpc.RpcError) -> grpc.StatusCode:
    code = exc.code() if hasattr(exc, "code") else None
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def rpc_details(exc: grpc.RpcError) -> str:
    details = exc.details() if hasattr(exc, "details") else None
    return str(details or exc)


def backoff_s(attempt: int) -> float:
    return float(min(2.0, 0.05 * (2 ** min(attempt, 6))))
