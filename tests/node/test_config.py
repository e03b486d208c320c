"""load_config: every way a config can be wrong is a ConfigError that names the problem."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from baaskit.node.config import TUNING_DEFAULTS, ConfigError, load_config
from baaskit.node.consortium import ConsortiumPaths, generate_consortium


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> ConsortiumPaths:
    return generate_consortium(tmp_path_factory.mktemp("cfg") / "net")


@pytest.fixture
def cfg_path(net: ConsortiumPaths, tmp_path: Path) -> Path:
    """A copy of member 0's folder next to the shared genesis/CA (so edits don't leak)."""
    d = net.root / "nodes" / f"copy-{tmp_path.name}"
    shutil.copytree(net.nodes[0].dir, d)
    return d / "node.toml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_loads_with_defaults_and_resolved_paths(cfg_path: Path, net: ConsortiumPaths) -> None:
    text = cfg_path.read_text()
    cfg_path.write_text(text[: text.index("[tuning]")])
    cfg = load_config(cfg_path)
    assert cfg.tick_ms == TUNING_DEFAULTS["tick_ms"] == 50
    assert (cfg.max_batch_txs, cfg.batch_delay_ms, cfg.mempool_capacity) == (500, 2, 20_000)
    assert (cfg.max_request_bytes, cfg.max_txs_per_request, cfg.block_time_skew_ms) == (4 * 1024 * 1024, 10_000, 10_000)
    assert cfg.data_dir == cfg_path.parent / "data"
    assert cfg.genesis_path == net.genesis
    assert cfg.tls_key_path == cfg_path.parent / "tls.key"


Case = tuple[Callable[[Path], object], str]


def _set(old: str, new: str) -> Callable[[Path], object]:
    return lambda p: edit(p, old, new)


CASES: dict[str, Case] = {
    "missing key": (_set('name = "bank-hk"\n', ""), "name: missing"),
    "missing nested key": (_set("port = 7001\n", ""), "peer.port: missing"),
    "port not a number": (_set("port = 7001", 'port = "7001"'), "peer.port: expected an integer"),
    "port out of range": (_set("port = 7001", "port = 70001"), "out of range"),
    "bool is not an int": (_set("member = 0", "member = true"), "member: expected an integer"),
    "zero tick": (_set("tick_ms = 50", "tick_ms = 0"), "tuning.tick_ms"),
    "unknown key": (_set("member = 0", "member = 0\nmemebr = 1"), "memebr: unknown key"),
    "unknown tuning key": (_set("tick_ms = 50", "tick_ms = 50\ntick = 1"), "tuning.tick: unknown key"),
    "empty string": (_set('data_dir = "data"', 'data_dir = ""'), "data_dir: expected a non-empty string"),
    "not toml": (_set("member = 0", "member = = 0"), "not valid TOML"),
    "same ports": (_set("port = 7001", "port = 7000"), "must differ"),
    "wrong chain": (_set('chain_id = "baaskit-local"', 'chain_id = "other"'), "wrong genesis: config chain_id 'other'"),
    "wrong name": (_set('name = "bank-hk"', 'name = "bank-ph"'), "wrong genesis: member 0 is 'bank-hk'"),
    "member not in genesis": (_set("member = 0", "member = 7"), "member 7 is not in genesis"),
    "ports differ from genesis": (_set("port = 7001", "port = 7011"), "differ from genesis"),
    "missing genesis": (_set('genesis = "../../genesis.json"', 'genesis = "nope.json"'), "cannot read genesis"),
    "another member's key": (lambda p: shutil.copy(p.parent.parent / "wallet-hk" / "node.key", p.parent / "node.key"), "is not the node key genesis lists for 'bank-hk'"),
    "missing node key": (lambda p: (p.parent / "node.key").unlink(), "node_key: private key file"),
    "another member's tls cert": (lambda p: shutil.copy(p.parent.parent / "wallet-hk" / "tls.crt", p.parent / "tls.crt"), "tls.cert"),
    "missing tls key": (lambda p: (p.parent / "tls.key").unlink(), "tls.key: cannot read"),
    "garbage tls cert": (lambda p: (p.parent / "tls.crt").write_text("junk"), "TLS: not a PEM certificate"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_is_a_clear_config_error(cfg_path: Path, case: str) -> None:
    mutate, message = CASES[case]
    mutate(cfg_path)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as info:
        load_config(cfg_path)
    assert "Traceback" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.toml")


def test_wrong_genesis_file(cfg_path: Path, tmp_path: Path) -> None:
    other = generate_consortium(tmp_path / "other")  # same names and chain id, different keys
    edit(cfg_path, 'genesis = "../../genesis.json"', f'genesis = "{other.genesis}"')
    with pytest.raises(ConfigError, match="node key"):
        load_config(cfg_path)
    # without the file checks it loads (addresses only) — and it is the other chain's genesis
    assert load_config(cfg_path, check_files=False).genesis.hash == load_config(other.nodes[0].config).genesis.hash
