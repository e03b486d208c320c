"""`baaskit notarize | verify | lookup | receipt | submit` against real gRPC/TLS API servers
(in-process certified chain), with real key and genesis files. Errors: a message, exit != 0."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from baaskit.cli.main import main
from baaskit.client.sandbox import Sandbox
from baaskit.node.keyfiles import save_signing_key

from .fake_node import FakeCluster


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[Sandbox, FakeCluster, list[str]]]:
    box = Sandbox.create(chain_id="cli-test")
    cluster = FakeCluster(box, 2)
    (tmp_path / "genesis.json").write_bytes(box.genesis.raw)
    (tmp_path / "ca.crt").write_bytes(cluster.ca_pem)
    save_signing_key(tmp_path / "alice.key", box.client_keys["alice"])
    conn = ["--genesis", str(tmp_path / "genesis.json"), "--key", str(tmp_path / "alice.key"), "--ca", str(tmp_path / "ca.crt")]
    for ep in cluster.endpoints:
        conn += ["--endpoint", ep]
    yield box, cluster, conn
    cluster.close()


def test_notarize_verify_lookup_receipt(tmp_path: Path, env: tuple[Sandbox, FakeCluster, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    _, _, conn = env
    doc = tmp_path / "deed.pdf"
    doc.write_bytes(b"%PDF deed of sale")
    assert main(["notarize", str(doc), "--describe", "--label", "deed", *conn]) == 0
    receipt = tmp_path / "deed.pdf.receipt.json"
    assert receipt.is_file()
    capsys.readouterr()

    assert main(["verify", str(doc), str(receipt), "--genesis", str(tmp_path / "genesis.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("VERIFIED") and "alice" in out and "file_name=deed.pdf" in out

    assert main(["verify", str(doc), str(receipt), "--genesis", str(tmp_path / "genesis.json"), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["verified"] and facts["metadata"]["media_type"] == "application/pdf"

    assert main(["lookup", str(doc), *conn]) == 0
    assert json.loads(capsys.readouterr().out)["metadata"]["label"] == "deed"

    again = tmp_path / "again.json"
    assert main(["receipt", str(doc), "--out", str(again), *conn]) == 0
    assert again.read_bytes() == receipt.read_bytes()

    missing = "ab" * 32
    assert main(["lookup", missing, *conn]) == 1
    assert "not registered" in capsys.readouterr().out


def test_notarize_many_files_into_a_folder(tmp_path: Path, env: tuple[Sandbox, FakeCluster, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    box, _, conn = env
    docs = tmp_path / "docs"
    docs.mkdir()
    files = []
    for i in range(25):
        page = docs / f"scan-{i:02}.tif"
        page.write_bytes(bytes([i]) * (100 + i))
        files.append(str(page))
    before = box.height
    assert main(["notarize", *files, "--out", str(tmp_path / "receipts"), *conn]) == 0
    captured = capsys.readouterr()
    assert box.height == before + 1 and "aggregated into 1 transaction" in captured.out
    assert "hashing" in captured.err  # the progress bar
    for f in files:
        receipt = tmp_path / "receipts" / (Path(f).name + ".receipt.json")
        assert main(["verify", f, str(receipt), "--genesis", str(tmp_path / "genesis.json")]) == 0


def test_notarize_separately_one_transaction_per_file_in_one_block(tmp_path: Path, env: tuple[Sandbox, FakeCluster, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    box, _, conn = env
    files = []
    for i in range(12):
        f = tmp_path / f"photo-{i:02}.jpg"
        f.write_bytes(b"\xff\xd8" + bytes([i]) * (50 + i))
        files.append(str(f))
    before = box.height
    assert main(["notarize", *files, "--separately", "--describe", "--label", "site visit", *conn]) == 0
    out = capsys.readouterr().out
    assert box.height == before + 1 and "12 transaction(s)" in out
    for name in files:
        receipt = name + ".receipt.json"
        assert main(["verify", name, receipt, "--genesis", str(tmp_path / "genesis.json")]) == 0
        meta = json.loads(Path(receipt).read_text())
        assert Path(name).name in json.dumps(meta)  # --describe: each file's own metadata


def test_verify_failures_name_the_check(tmp_path: Path, env: tuple[Sandbox, FakeCluster, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    _, _, conn = env
    doc = tmp_path / "a.txt"
    doc.write_bytes(b"original")
    assert main(["notarize", str(doc), *conn]) == 0
    receipt = tmp_path / "a.txt.receipt.json"
    doc.write_bytes(b"originaL")
    capsys.readouterr()
    assert main(["verify", str(doc), str(receipt), "--genesis", str(tmp_path / "genesis.json")]) == 1
    err = capsys.readouterr().err
    assert "NOT VERIFIED" in err and "'document-digest'" in err
    other = Sandbox.create(chain_id="cli-test")
    (tmp_path / "other.json").write_bytes(other.genesis.raw)
    assert main(["verify", "-", str(receipt), "--genesis", str(tmp_path / "other.json")]) == 1
    assert "'bad-signature'" in capsys.readouterr().err


def test_submit_kv(env: tuple[Sandbox, FakeCluster, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    _, _, conn = env
    assert main(["submit", "kv", "set", '{"key":"k","value":"v"}', *conn]) == 0
    assert json.loads(capsys.readouterr().out)["code"] == 0
    assert main(["submit", "kv", "delete", '{"key":"nope"}', *conn]) == 1
    assert main(["submit", "kv", "set", "{oops", *conn]) == 1
    assert "not JSON" in capsys.readouterr().err


def test_bad_input_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    genesis = tmp_path / "genesis.json"
    genesis.write_bytes(Sandbox.create().genesis.raw)
    cases = [
        (["notarize", str(tmp_path / "missing.pdf"), "--cluster", str(tmp_path / "nowhere")], "no such file"),
        (["notarize", str(genesis), "--cluster", str(tmp_path / "nowhere")], "run `baaskit up`"),
        (["notarize", str(genesis), "--genesis", str(genesis), "--key", str(tmp_path / "no.key")], "does not exist"),
        (["verify", str(genesis), str(tmp_path / "no.receipt.json"), "--genesis", str(genesis)], "'format'"),
        (["verify", str(genesis), str(genesis), "--genesis", str(tmp_path / "missing.json")], "'genesis'"),
        (["lookup", "xyz", "--cluster", str(tmp_path)], "neither a file nor"),
    ]
    for argv, message in cases:
        proc = subprocess.run(
            [sys.executable, "-m", "baaskit.cli.main", *argv], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode != 0, argv
        assert message in proc.stderr, (argv, proc.stderr)
        assert "Traceback" not in proc.stderr
