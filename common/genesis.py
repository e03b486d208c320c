"""The genesis file: the consortium's root of trust, held by every member and every verifier.

Canonical JSON. Members are indexed 0..n-1 (the index is the PBFT replica id). A receipt verifier
needs nothing but this file: member Ed25519 keys and f come from here, never from a node.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baaskit import canonical

GENESIS_VERSION = 1


class GenesisError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Member:
    index: int
    name: str
    node_key: bytes  # Ed25519 public key: consensus messages and header signatures
    host: str
    peer_port: int
    api_port: int
    tls_cert_pem: str  # the member's node TLS certificate, issued by the consortium CA


@dataclass(frozen=True, slots=True)
class Enrollment:
    name: str
    key: bytes  # client Ed25519 public key
    member: str  # the institution that enrolled it
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Genesis:
    chain_id: str
    genesis_time_ms: int
    members: tuple[Member, ...]
    ca_cert_pem: str
    clients: tuple[Enrollment, ...]
    admins: tuple[bytes, ...]  # governance keys (hex in the file)
    app_state: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    raw: bytes = b""

    @property
    def n(self) -> int:
        return len(self.members)

    @property
    def f(self) -> int:
        return (self.n - 1) // 3

    @property
    def certificate_quorum(self) -> int:
        """Signatures a block certificate needs: 2f+1 distinct members."""
        return 2 * self.f + 1

    @property
    def hash(self) -> bytes:
        return hashlib.sha256(self.raw).digest()

    def member_keys(self) -> dict[int, bytes]:
        return {m.index: m.node_key for m in self.members}

    def member_by_name(self, name: str) -> Member:
        for m in self.members:
            if m.name == name:
                return m
        raise GenesisError(f"no member named {name!r}")

    def enrolled_keys(self) -> frozenset[bytes]:
        return frozenset(c.key for c in self.clients) | frozenset(self.admins)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": GENESIS_VERSION,
            "chain_id": self.chain_id,
            "genesis_time_ms": self.genesis_time_ms,
            "members": [
                {
                    "index": m.index,
                    "name": m.name,
                    "node_key": m.node_key.hex(),
                    "host": m.host,
                    "peer_port": m.peer_port,
                    "api_port": m.api_port,
                    "tls_cert_pem": m.tls_cert_pem,
                }
                for m in self.members
            ],
            "ca_cert_pem": self.ca_cert_pem,
            "clients": [
                {"name": c.name, "key": c.key.hex(), "member": c.member, "roles": list(c.roles)}
                for c in self.clients
            ],
            "admins": [a.hex() for a in self.admins],
            "app_state": self.app_state,
            "params": self.params,
        }

    def encode(self) -> bytes:
        return canonical.dumps(self.to_json())


def parse_genesis(data: bytes) -> Genesis:
    try:
        body = canonical.loads(data.strip())
    except canonical.CanonicalError as exc:
        raise GenesisError(f"genesis is not canonical JSON: {exc}") from None
    try:
        if body["v"] != GENESIS_VERSION:
            raise GenesisError(f"unsupported genesis version {body['v']!r}")
        members = tuple(
            Member(
                index=int(m["index"]),
                name=str(m["name"]),
                node_key=bytes.fromhex(m["node_key"]),
                host=str(m["host"]),
                peer_port=int(m["peer_port"]),
                api_port=int(m["api_port"]),
                tls_cert_pem=str(m["tls_cert_pem"]),
            )
            for m in body["members"]
        )
        clients = tuple(
            Enrollment(name=str(c["name"]), key=bytes.fromhex(c["key"]), member=str(c["member"]), roles=tuple(c.get("roles", ())))
            for c in body["clients"]
        )
        genesis = Genesis(
            chain_id=str(body["chain_id"]),
            genesis_time_ms=int(body["genesis_time_ms"]),
            members=members,
            ca_cert_pem=str(body["ca_cert_pem"]),
            clients=clients,
            admins=tuple(bytes.fromhex(a) for a in body["admins"]),
            app_state=dict(body.get("app_state", {})),
            params=dict(body.get("params", {})),
            raw=data.strip(),
        )
    except GenesisError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise GenesisError(f"genesis is missing or has a bad field: {exc}") from None
    if [m.index for m in genesis.members] != list(range(len(genesis.members))):
        raise GenesisError("member indices must be 0..n-1 in order")
    if len(genesis.members) < 4:
        raise GenesisError(f"a BFT consortium needs at least 4 members, genesis has {len(genesis.members)}")
    if any(len(m.node_key) != 32 for m in genesis.members):
        raise GenesisError("every member node_key must be a 32-byte Ed25519 key")
    return genesis


def load_genesis(path: str | Path) -> Genesis:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise GenesisError(f"cannot read genesis {p}: {exc.strerror}") from None
    return parse_genesis(data)
