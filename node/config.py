"""A node's configuration: one TOML file, validated once, no globals.

Relative paths resolve against the config file's folder. `load_config` checks the file against
the genesis it names (chain id, member index and name, ports, node key, TLS certificate), so a
node started with the wrong genesis or the wrong member's files fails fast with a clear message.

    name = "bank-hk"
    member = 0
    chain_id = "baaskit-local"
    genesis = "../../genesis.json"
    data_dir = "data"
    node_key = "node.key"
    log_file = "node.log"
    [tls]   cert = "tls.crt"  key = "tls.key"  ca_cert = "../../ca.crt"
    [api]   host = "127.0.0.1"  port = 7000
    [peer]  host = "127.0.0.1"  port = 7001
    [tuning]  tick_ms, max_batch_txs, batch_delay_ms, min_block_interval_ms, max_inflight,
              mempool_capacity, max_request_bytes, max_txs_per_request, block_time_skew_ms,
              request_timeout_ticks, view_change_timeout_ticks (all optional, defaults below)
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nacl.signing

from baaskit.genesis import Genesis, GenesisError, load_genesis

from .keyfiles import KeyFileError, load_signing_key
from .pki import PkiError, same_certificate

TUNING_DEFAULTS: dict[str, int] = {
    "tick_ms": 50,
    # Blocks small enough to commit well inside the request timeout on a loaded machine; the
    # per-block cost (~10 ms CPU per node) is then ~20 us per transaction.
    "max_batch_txs": 500,
    "batch_delay_ms": 2,
    # Blocks that are not full are proposed at most every 20 ms (node/driver.py, pacing).
    "min_block_interval_ms": 20,
    "max_inflight": 4,  # proposals the primary has in flight (pipelining depth)
    # Back-pressure: past a few seconds of backlog a client gets RESOURCE_EXHAUSTED (retry later)
    # instead of a queue whose latency grows without bound.
    "mempool_capacity": 20_000,
    "max_request_bytes": 4 * 1024 * 1024,
    "max_txs_per_request": 10_000,
    "block_time_skew_ms": 10_000,
    # Consensus timers, in ticks (per node: they decide when this node suspects the primary).
    # 3 s: a disk shared by busy nodes stalls synced writes for 1-2.4 s (measured on the
    # development machine under full load), and a backup idle beside two stalled ones saw no
    # commit for that long; at 1 s it left the view alone and stayed out of consensus. A crashed
    # primary is still found in ~0.2 s by its broken links (docs/consensus.md, "Lost link").
    "request_timeout_ticks": 60,
    # 3 s, not 1 (the new-view timer runs once 2f+1 replicas left the view; a missed new-view
    # sends this replica on to the next view). At full load a view-change carries MBs of
    # prepared batches. Killing the primary at full load with the cluster's links shaped to
    # 200 Mbit/s, a new-view took more than 1 s to arrive: backups moved on while others
    # installed it, the replicas split across views, and commits resumed after 11-32 s (views
    # 0..3 or 0..5, 4 runs of 5). With 3 s: one view change, commits after 1.7-4.3 s (5 of 5).
    # On loopback a new-view arrives in ~0.5 s, so this timer does not run out there.
    "view_change_timeout_ticks": 60,
}
_TOP = {"name", "member", "chain_id", "genesis", "data_dir", "node_key", "log_file", "tls", "api", "peer", "tuning"}
_SECTIONS = {"tls": {"cert", "key", "ca_cert"}, "api": {"host", "port"}, "peer": {"host", "port"}}


class ConfigError(Exception):
    """A config that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class NodeConfig:
    config_path: Path
    name: str
    member: int
    chain_id: str
    genesis_path: Path
    data_dir: Path
    node_key_path: Path
    tls_cert_path: Path
    tls_key_path: Path
    ca_cert_path: Path
    api_host: str
    api_port: int
    peer_host: str
    peer_port: int
    log_file: Path
    tick_ms: int = TUNING_DEFAULTS["tick_ms"]
    max_batch_txs: int = TUNING_DEFAULTS["max_batch_txs"]
    batch_delay_ms: int = TUNING_DEFAULTS["batch_delay_ms"]
    min_block_interval_ms: int = TUNING_DEFAULTS["min_block_interval_ms"]
    max_inflight: int = TUNING_DEFAULTS["max_inflight"]
    mempool_capacity: int = TUNING_DEFAULTS["mempool_capacity"]
    max_request_bytes: int = TUNING_DEFAULTS["max_request_bytes"]
    max_txs_per_request: int = TUNING_DEFAULTS["max_txs_per_request"]
    block_time_skew_ms: int = TUNING_DEFAULTS["block_time_skew_ms"]
    request_timeout_ticks: int = TUNING_DEFAULTS["request_timeout_ticks"]
    view_change_timeout_ticks: int = TUNING_DEFAULTS["view_change_timeout_ticks"]
    # The parsed genesis the config was checked against (always set by load_config).
    genesis: Genesis = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def load_node_key(self) -> nacl.signing.SigningKey:
        try:
            return load_signing_key(self.node_key_path)
        except KeyFileError as exc:
            raise ConfigError(f"{self.config_path}: node_key: {exc}") from None

    def read_tls(self) -> tuple[bytes, bytes, bytes]:
        """(cert PEM, key PEM, CA cert PEM)."""
        out = []
        for what, path in (("tls.cert", self.tls_cert_path), ("tls.key", self.tls_key_path), ("tls.ca_cert", self.ca_cert_path)):
            try:
                out.append(path.read_bytes())
            except OSError as exc:
                raise ConfigError(f"{self.config_path}: {what}: cannot read {path}: {exc.strerror}") from None
        return out[0], out[1], out[2]


class _Reader:
    def __init__(self, path: Path, body: dict[str, Any]) -> None:
        self.path = path
        self.body = body

    def err(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"config {self.path}: {key}: {message}")

    def raw(self, key: str) -> Any:
        node: Any = self.body
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise self.err(key, "missing")
            node = node[part]
        return node

    def text(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not value.strip():
            raise self.err(key, f"expected a non-empty string, got {value!r}")
        return value

    def integer(self, key: str, lo: int, hi: int, default: int | None = None) -> int:
        if default is not None and not self._has(key):
            return default
        value = self.raw(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.err(key, f"expected an integer, got {value!r}")
        if not lo <= value <= hi:
            raise self.err(key, f"{value} is out of range {lo}..{hi}")
        return value

    def path_(self, key: str) -> Path:
        p = Path(self.text(key)).expanduser()
        return p if p.is_absolute() else (self.path.parent / p).resolve()

    def _has(self, key: str) -> bool:
        try:
            self.raw(key)
        except ConfigError:
            return False
        return True


def _check_unknown(reader: _Reader) -> None:
    body = reader.body
    for key in sorted(body):
        if key not in _TOP:
            raise reader.err(key, "unknown key (typo?)")
    for section, allowed in [*sorted(_SECTIONS.items()), ("tuning", set(TUNING_DEFAULTS))]:
        value = body.get(section, {})
        if not isinstance(value, dict):
            raise reader.err(section, "must be a table")
        for key in sorted(value):
            if key not in allowed:
                raise reader.err(f"{section}.{key}", "unknown key (typo?)")


def load_config(path: str | Path, check_files: bool = True) -> NodeConfig:
    """Load and validate a node config and its genesis. Raises ConfigError.

    check_files=False skips the node key and TLS certificate checks (for tools that only need
    addresses, e.g. a status command)."""
    p = Path(path).expanduser().resolve()
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {p} not found") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror}") from None
    try:
        body = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {p} is not valid TOML: {exc}") from None
    r = _Reader(p, body)
    _check_unknown(r)
    tuning = {k: r.integer(f"tuning.{k}", 1, 2**31 - 1, default=v) for k, v in TUNING_DEFAULTS.items()}
    cfg = NodeConfig(
        config_path=p,
        name=r.text("name"),
        member=r.integer("member", 0, 1023),
        chain_id=r.text("chain_id"),
        genesis_path=r.path_("genesis"),
        data_dir=r.path_("data_dir"),
        node_key_path=r.path_("node_key"),
        tls_cert_path=r.path_("tls.cert"),
        tls_key_path=r.path_("tls.key"),
        ca_cert_path=r.path_("tls.ca_cert"),
        api_host=r.text("api.host"),
        api_port=r.integer("api.port", 1, 65535),
        peer_host=r.text("peer.host"),
        peer_port=r.integer("peer.port", 1, 65535),
        log_file=r.path_("log_file"),
        **tuning,
    )
    if cfg.api_port == cfg.peer_port:
        raise r.err("api.port", f"the API and peer ports must differ (both {cfg.api_port})")
    return dataclasses.replace(cfg, genesis=_check_genesis(cfg, check_files))


def _check_genesis(cfg: NodeConfig, check_files: bool) -> Genesis:
    where = f"config {cfg.config_path}"
    try:
        genesis = load_genesis(cfg.genesis_path)
    except GenesisError as exc:
        raise ConfigError(f"{where}: genesis: {exc}") from None
    if genesis.chain_id != cfg.chain_id:
        raise ConfigError(
            f"{where}: wrong genesis: config chain_id {cfg.chain_id!r}, genesis {cfg.genesis_path} is chain {genesis.chain_id!r}"
        )
    if not 0 <= cfg.member < genesis.n:
        raise ConfigError(f"{where}: member {cfg.member} is not in genesis (members 0..{genesis.n - 1})")
    m = genesis.members[cfg.member]
    if m.name != cfg.name:
        raise ConfigError(f"{where}: wrong genesis: member {cfg.member} is {m.name!r} in genesis, config says {cfg.name!r}")
    if (m.api_port, m.peer_port) != (cfg.api_port, cfg.peer_port):
        raise ConfigError(
            f"{where}: ports (api {cfg.api_port}, peer {cfg.peer_port}) differ from genesis "
            f"(api {m.api_port}, peer {m.peer_port}) for {m.name!r}"
        )
    if check_files:
        key = cfg.load_node_key()
        if bytes(key.verify_key) != m.node_key:
            raise ConfigError(f"{where}: node_key {cfg.node_key_path} is not the node key genesis lists for {m.name!r}")
        cert_pem, _, ca_pem = cfg.read_tls()
        try:
            if not same_certificate(cert_pem, m.tls_cert_pem):
                raise ConfigError(f"{where}: tls.cert {cfg.tls_cert_path} is not the certificate genesis lists for {m.name!r}")
            if not same_certificate(ca_pem, genesis.ca_cert_pem):
                raise ConfigError(f"{where}: tls.ca_cert {cfg.ca_cert_path} is not the consortium CA of genesis")
        except PkiError as exc:
            raise ConfigError(f"{where}: TLS: {exc}") from None
    return genesis
