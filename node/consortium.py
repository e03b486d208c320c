"""`baaskit init`: generate a consortium's keys, certificates, genesis and per-node configs.

Layout under out_dir (private files 0600, folders holding keys 0700):
    ca.crt  ca.key                      consortium CA (ECDSA P-256)
    genesis.json                        canonical JSON (baaskit.genesis)
    nodes/<name>/node.key               member's Ed25519 node key (consensus + header signatures)
    nodes/<name>/tls.crt tls.key        member's TLS certificate (CN = name, SANs = hosts)
    nodes/<name>/node.toml              the node's config (node/config.py); data/ and node.log beside it
    clients/<member>-<i>.key            enrolled client keys (Ed25519)
    admins/admin-<i>.key                governance keys (also remittance admins)
Member i listens on api = base_port + 2i, peer = base_port + 2i + 1 unless `ports` are given.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.signing
import tomli_w

from baaskit.genesis import Enrollment, Genesis, Member, parse_genesis

from .config import TUNING_DEFAULTS, load_config
from .keyfiles import save_signing_key, write_private
from .pki import DEFAULT_HOSTS, create_ca, issue_tls_cert

DEFAULT_NAMES = ("bank-hk", "wallet-hk", "bank-ph", "wallet-ph")
DEFAULT_CHAIN_ID = "baaskit-local"
DEFAULT_BASE_PORT = 7000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class ConsortiumError(Exception):
    pass


@dataclass(frozen=True)
class NodePaths:
    name: str
    member: int
    dir: Path
    config: Path
    node_key: Path
    tls_cert: Path
    tls_key: Path
    data_dir: Path
    log_file: Path
    api_port: int
    peer_port: int


@dataclass(frozen=True)
class ConsortiumPaths:
    root: Path
    genesis: Path
    ca_cert: Path
    ca_key: Path
    nodes: tuple[NodePaths, ...]
    clients: tuple[Path, ...]
    admins: tuple[Path, ...]
    chain_id: str


def _ports(n: int, base_port: int, ports: Sequence[tuple[int, int]] | None) -> list[tuple[int, int]]:
    if ports is not None:
        chosen = [(int(a), int(p)) for a, p in ports]
        if len(chosen) != n:
            raise ConsortiumError(f"{len(chosen)} (api, peer) port pairs for {n} members")
    else:
        chosen = [(base_port + 2 * i, base_port + 2 * i + 1) for i in range(n)]
    flat = [p for pair in chosen for p in pair]
    if any(not 1 <= p <= 65535 for p in flat):
        raise ConsortiumError(f"ports must be 1..65535, got {flat}")
    if len(set(flat)) != len(flat):
        raise ConsortiumError(f"ports must all differ, got {flat}")
    return chosen


def _check_names(names: Sequence[str]) -> None:
    if len(names) < 4:
        raise ConsortiumError(f"a BFT consortium needs at least 4 members (f >= 1), got {len(names)}")
    for name in names:
        if not _NAME.match(name):
            raise ConsortiumError(f"member name {name!r}: use letters, digits, '.', '_' or '-' (max 63)")
    if len({n.lower() for n in names}) != len(names):
        raise ConsortiumError(f"member names must be unique: {list(names)}")


def generate_consortium(
    out_dir: str | Path,
    names: Sequence[str] = DEFAULT_NAMES,
    chain_id: str = DEFAULT_CHAIN_ID,
    base_port: int = DEFAULT_BASE_PORT,
    ports: Sequence[tuple[int, int]] | None = None,
    clients_per_member: int = 1,
    admin_count: int = 1,
    host: str = "127.0.0.1",
    tls_hosts: Sequence[str] = DEFAULT_HOSTS,
    genesis_time_ms: int | None = None,
    tuning: dict[str, int] | None = None,
    extra_app_state: dict[str, Any] | None = None,
) -> ConsortiumPaths:
    """Write a complete consortium under `out_dir` (which must not exist or be empty)."""
    names = list(names)
    _check_names(names)
    if not chain_id or len(chain_id) > 64:
        raise ConsortiumError("chain_id must be 1..64 characters")
    if clients_per_member < 0 or admin_count < 0:
        raise ConsortiumError("clients_per_member and admin_count must be >= 0")
    for setting in sorted(tuning or {}):
        if setting not in TUNING_DEFAULTS:
            raise ConsortiumError(f"unknown tuning key {setting!r}")
    pairs = _ports(len(names), base_port, ports)
    root = Path(out_dir).expanduser().resolve()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ConsortiumError(f"{root} exists and is not an empty folder; refusing to overwrite keys")
    root.mkdir(parents=True, exist_ok=True)

    ca = create_ca(f"{chain_id} consortium CA")
    ca_cert = root / "ca.crt"
    ca_cert.write_bytes(ca.cert_pem)
    ca_key = write_private(root / "ca.key", ca.key_pem)
    hosts = list(dict.fromkeys([*tls_hosts, host]))  # ordered, without repeats

    members: list[Member] = []
    node_paths: list[NodePaths] = []
    for i, name in enumerate(names):
        d = root / "nodes" / name
        d.mkdir(parents=True, mode=0o700)
        os.chmod(d, 0o700)
        node_key = nacl.signing.SigningKey.generate()
        save_signing_key(d / "node.key", node_key)
        issued = issue_tls_cert(ca, name, hosts=hosts, organization=name)
        (d / "tls.crt").write_bytes(issued.cert_pem)
        write_private(d / "tls.key", issued.key_pem)
        api_port, peer_port = pairs[i]
        members.append(
            Member(
                index=i,
                name=name,
                node_key=bytes(node_key.verify_key),
                host=host,
                peer_port=peer_port,
                api_port=api_port,
                tls_cert_pem=issued.cert_pem.decode(),
            )
        )
        node_paths.append(
            NodePaths(
                name=name,
                member=i,
                dir=d,
                config=d / "node.toml",
                node_key=d / "node.key",
                tls_cert=d / "tls.crt",
                tls_key=d / "tls.key",
                data_dir=d / "data",
                log_file=d / "node.log",
                api_port=api_port,
                peer_port=peer_port,
            )
        )

    enrollments: list[Enrollment] = []
    client_paths: list[Path] = []
    for name in names:
        for j in range(clients_per_member):
            key = nacl.signing.SigningKey.generate()
            path = root / "clients" / f"{name}-{j}.key"
            save_signing_key(path, key)
            client_paths.append(path)
            enrollments.append(Enrollment(name=f"{name}-{j}", key=bytes(key.verify_key), member=name, roles=("client",)))
    admin_keys: list[bytes] = []
    admin_paths: list[Path] = []
    for j in range(admin_count):
        key = nacl.signing.SigningKey.generate()
        path = root / "admins" / f"admin-{j}.key"
        save_signing_key(path, key)
        admin_paths.append(path)
        admin_keys.append(bytes(key.verify_key))
    for folder in ("clients", "admins"):
        if (root / folder).exists():
            os.chmod(root / folder, 0o700)

    app_state: dict[str, Any] = {
        "kv": {},
        "notary": {},
        "remittance": {"admins": [k.hex() for k in admin_keys]},
    }
    app_state.update(extra_app_state or {})
    draft = Genesis(
        chain_id=chain_id,
        genesis_time_ms=genesis_time_ms if genesis_time_ms is not None else int(time.time() * 1000),
        members=tuple(members),
        ca_cert_pem=ca.cert_pem.decode(),
        clients=tuple(enrollments),
        admins=tuple(admin_keys),
        app_state=app_state,
        params={"f": (len(names) - 1) // 3},
    )
    genesis_bytes = draft.encode()
    parse_genesis(genesis_bytes)  # the file we write must load
    genesis_path = root / "genesis.json"
    genesis_path.write_bytes(genesis_bytes + b"\n")

    for np_ in node_paths:
        config = {
            "name": np_.name,
            "member": np_.member,
            "chain_id": chain_id,
            "genesis": os.path.relpath(genesis_path, np_.dir),
            "data_dir": "data",
            "node_key": "node.key",
            "log_file": "node.log",
            "tls": {"cert": "tls.crt", "key": "tls.key", "ca_cert": os.path.relpath(ca_cert, np_.dir)},
            "api": {"host": host, "port": np_.api_port},
            "peer": {"host": host, "port": np_.peer_port},
            "tuning": {**TUNING_DEFAULTS, **(tuning or {})},
        }
        np_.config.write_text(
            f"# baaskit node config for {np_.name} (member {np_.member}) of chain {chain_id}\n"
            + tomli_w.dumps(config),
            encoding="utf-8",
        )
        load_config(np_.config)  # every written config must load against the genesis
    return ConsortiumPaths(
        root=root,
        genesis=genesis_path,
        ca_cert=ca_cert,
        ca_key=ca_key,
        nodes=tuple(node_paths),
        clients=tuple(client_paths),
        admins=tuple(admin_paths),
        chain_id=chain_id,
    )
