"""Test fixtures for node unit tests: a real in-memory genesis with real Ed25519 keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import nacl.signing

from baaskit.contracts.kv import KvContract
from baaskit.contracts.router import Application
from baaskit.genesis import Enrollment, Genesis, Member, parse_genesis
from baaskit.node.certificates import BlockCertificate, CertificateCollector
from baaskit.node.executor import ExecutedBlock
from baaskit.node.proposal import encode_proposal
from baaskit.tx import TxEnvelope, make_tx

CHAIN = "test-chain"
GENESIS_TIME = 1_700_000_000_000


def _key(seed: int) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(bytes([seed]) * 32)


@dataclass(frozen=True)
class Chain:
    genesis: Genesis
    node_keys: tuple[nacl.signing.SigningKey, ...]
    clients: tuple[nacl.signing.SigningKey, ...]
    outsider: nacl.signing.SigningKey

    def tx(self, key: str, value: str, client: int = 0, nonce: str | None = None) -> TxEnvelope:
        return make_tx(self.clients[client], CHAIN, "kv", "set", {"key": key, "value": value}, nonce or f"n-{key}-{value}")

    def proposal(self, time_ms: int, envelopes: list[TxEnvelope], view: int = 0, proposer: int = 0) -> bytes:
        return encode_proposal(time_ms, envelopes, view=view, proposer=proposer)


def make_chain(n: int = 4, n_clients: int = 2, app_state: dict[str, Any] | None = None) -> Chain:
    node_keys = tuple(_key(10 + i) for i in range(n))
    clients = tuple(_key(100 + i) for i in range(n_clients))
    members = tuple(
        Member(
            index=i,
            name=f"m{i}",
            node_key=bytes(k.verify_key),
            host="127.0.0.1",
            peer_port=7001 + 2 * i,
            api_port=7000 + 2 * i,
            tls_cert_pem="-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        )
        for i, k in enumerate(node_keys)
    )
    genesis = Genesis(
        chain_id=CHAIN,
        genesis_time_ms=GENESIS_TIME,
        members=members,
        ca_cert_pem="",
        clients=tuple(Enrollment(name=f"c{i}", key=bytes(k.verify_key), member="m0") for i, k in enumerate(clients)),
        admins=(),
        app_state=app_state if app_state is not None else {"kv": {}},
    )
    return Chain(parse_genesis(genesis.encode()), node_keys, clients, _key(200))


def kv_app() -> Application:
    return Application([KvContract()])


def certify(genesis: Genesis, executions: list[ExecutedBlock]) -> BlockCertificate:
    """The certificate of one block from three members' executions of it (2f+1 of 4)."""
    collector = CertificateCollector(genesis)
    collector.add_local(executions[0])
    cert = collector.add(executions[1].vote()) or collector.add(executions[2].vote())
    assert cert is not None
    return cert
