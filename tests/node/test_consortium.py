"""generate_consortium, key files and PKI: everything `baaskit init` writes loads and checks out."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509

from baaskit.genesis import load_genesis
from baaskit.node import pki
from baaskit.node.config import load_config
from baaskit.node.consortium import (
    DEFAULT_NAMES,
    ConsortiumError,
    ConsortiumPaths,
    generate_consortium,
)
from baaskit.node.keyfiles import (
    KeyFileError,
    load_public_key,
    load_signing_key,
    save_public_key,
    save_signing_key,
)


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> ConsortiumPaths:
    return generate_consortium(tmp_path_factory.mktemp("c") / "net", clients_per_member=2, admin_count=2, genesis_time_ms=1234)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_genesis_lists_members_keys_clients_and_admins(consortium: ConsortiumPaths) -> None:
    g = load_genesis(consortium.genesis)
    assert [m.name for m in g.members] == list(DEFAULT_NAMES)
    assert (g.n, g.f, g.certificate_quorum, g.params["f"], g.genesis_time_ms) == (4, 1, 3, 1, 1234)
    assert [(m.api_port, m.peer_port) for m in g.members] == [(7000, 7001), (7002, 7003), (7004, 7005), (7006, 7007)]
    for node, member in zip(consortium.nodes, g.members, strict=True):
        assert bytes(load_signing_key(node.node_key).verify_key) == member.node_key
        assert pki.same_certificate(node.tls_cert.read_bytes(), member.tls_cert_pem)
    client_keys = [bytes(load_signing_key(p).verify_key) for p in consortium.clients]
    assert [c.key for c in g.clients] == client_keys
    assert [p.name for p in consortium.clients][:2] == ["bank-hk-0.key", "bank-hk-1.key"]
    admin_keys = [bytes(load_signing_key(p).verify_key) for p in consortium.admins]
    assert list(g.admins) == admin_keys
    assert g.app_state == {"kv": {}, "notary": {}, "remittance": {"admins": [k.hex() for k in admin_keys]}}
    assert set(client_keys) | set(admin_keys) == g.enrolled_keys()
    assert g.ca_cert_pem.encode() == consortium.ca_cert.read_bytes()


def test_every_config_loads_against_the_genesis(consortium: ConsortiumPaths) -> None:
    for node in consortium.nodes:
        cfg = load_config(node.config)
        assert (cfg.name, cfg.member, cfg.api_port, cfg.peer_port) == (node.name, node.member, node.api_port, node.peer_port)
        assert cfg.data_dir == node.data_dir and cfg.genesis_path == consortium.genesis
        assert cfg.ca_cert_path == consortium.ca_cert and cfg.log_file == node.log_file
        assert cfg.genesis.members[cfg.member].name == node.name
        assert bytes(cfg.load_node_key().verify_key) == cfg.genesis.members[cfg.member].node_key
        cert, key, ca = cfg.read_tls()
        assert b"BEGIN CERTIFICATE" in cert and b"PRIVATE KEY" in key and ca == consortium.ca_cert.read_bytes()


def test_private_files_are_0600_and_key_folders_0700(consortium: ConsortiumPaths) -> None:
    privates = [consortium.ca_key, *consortium.clients, *consortium.admins]
    for node in consortium.nodes:
        privates += [node.node_key, node.tls_key]
        assert _mode(node.dir) == 0o700
    for p in privates:
        assert _mode(p) == 0o600, p
    assert _mode(consortium.clients[0].parent) == 0o700


def test_tls_certificates_are_p256_issued_by_the_ca_for_localhost(consortium: ConsortiumPaths) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    ca_pem = consortium.ca_cert.read_bytes()
    for node in consortium.nodes:
        pem = node.tls_cert.read_bytes()
        cert = x509.load_pem_x509_certificate(pem)
        assert pki.issued_by(pem, ca_pem)
        assert pki.common_name(pem) == node.name
        key = cert.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == ["localhost"]
        assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    other_ca = pki.create_ca("rogue")
    rogue = pki.issue_tls_cert(other_ca, "bank-hk")
    assert not pki.issued_by(rogue.cert_pem, ca_pem)


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, hostname: str) -> ssl.SSLObject:
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=hostname)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"c": False, "s": False}
    for _ in range(10):
        for name, side, out, peer_in in (("c", client, c_out, s_in), ("s", server, s_out, c_in)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
            peer_in.write(out.read())
        if all(done.values()):
            return server
    raise AssertionError("handshake did not finish")


def test_mutual_tls_handshake_with_the_generated_material(consortium: ConsortiumPaths, tmp_path: Path) -> None:
    a, b = consortium.nodes[0], consortium.nodes[1]
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(consortium.ca_cert))
    server_ctx.load_cert_chain(a.tls_cert, a.tls_key)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(consortium.ca_cert))
    client_ctx.load_cert_chain(b.tls_cert, b.tls_key)
    for host in ("localhost", "127.0.0.1"):
        server = _handshake(server_ctx, client_ctx, host)
        peer = server.getpeercert(binary_form=True)
        assert peer is not None and pki.same_certificate(
            x509.load_der_x509_certificate(peer).public_bytes(pki.serialization.Encoding.PEM), b.tls_cert.read_bytes()
        )
    # a certificate from another CA is refused by the server
    rogue = pki.issue_tls_cert(pki.create_ca("rogue"), "bank-hk")
    (tmp_path / "r.crt").write_bytes(rogue.cert_pem)
    (tmp_path / "r.key").write_bytes(rogue.key_pem)
    bad_client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(consortium.ca_cert))
    bad_client.load_cert_chain(tmp_path / "r.crt", tmp_path / "r.key")
    with pytest.raises(ssl.SSLError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        _handshake(server_ctx, bad_client, "localhost")


def test_refuses_to_overwrite_and_bad_arguments(consortium: ConsortiumPaths, tmp_path: Path) -> None:
    with pytest.raises(ConsortiumError, match="not an empty folder"):
        generate_consortium(consortium.root)
    with pytest.raises(ConsortiumError, match="at least 4"):
        generate_consortium(tmp_path / "a", names=["a", "b", "c"])
    with pytest.raises(ConsortiumError, match="unique"):
        generate_consortium(tmp_path / "b", names=["a", "b", "c", "A"])
    with pytest.raises(ConsortiumError, match="member name"):
        generate_consortium(tmp_path / "c", names=["a", "b", "c", "../x"])
    with pytest.raises(ConsortiumError, match="differ"):
        generate_consortium(tmp_path / "d", ports=[(1, 2), (3, 4), (5, 6), (6, 7)])
    with pytest.raises(ConsortiumError, match="tuning"):
        generate_consortium(tmp_path / "e", tuning={"tick": 5})
    assert not (tmp_path / "a").exists()


def test_explicit_ports_names_and_tuning(tmp_path: Path) -> None:
    names = ["n0", "n1", "n2", "n3", "n4"]
    ports = [(9100 + 2 * i, 9101 + 2 * i) for i in range(5)]
    paths = generate_consortium(tmp_path / "x", names=names, chain_id="other", ports=ports, clients_per_member=0, admin_count=0, tuning={"tick_ms": 20})
    g = load_genesis(paths.genesis)
    assert (g.chain_id, g.n, g.f, g.clients, g.admins) == ("other", 5, 1, (), ())
    cfg = load_config(paths.nodes[4].config)
    assert (cfg.api_port, cfg.peer_port, cfg.tick_ms, cfg.max_batch_txs) == (9108, 9109, 20, 500)


def test_key_files(tmp_path: Path) -> None:
    import nacl.signing

    key = nacl.signing.SigningKey.generate()
    path = save_signing_key(tmp_path / "k" / "a.key", key)
    assert _mode(path) == 0o600
    assert bytes(load_signing_key(path)) == bytes(key)
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        save_signing_key(path, key)
    save_signing_key(path, nacl.signing.SigningKey.generate(), overwrite=True)
    assert bytes(load_signing_key(path)) != bytes(key)
    pub = save_public_key(tmp_path / "a.pub", bytes(key.verify_key))
    assert load_public_key(pub) == bytes(key.verify_key)
    with pytest.raises(KeyFileError, match="does not exist"):
        load_signing_key(tmp_path / "missing.key")
    (tmp_path / "bad.key").write_text("zz")
    with pytest.raises(KeyFileError, match="not hex"):
        load_signing_key(tmp_path / "bad.key")
    (tmp_path / "short.key").write_text("abcd")
    with pytest.raises(KeyFileError, match="2 bytes"):
        load_signing_key(tmp_path / "short.key")
