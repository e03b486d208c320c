"""TLS material for the two gRPC servers of a node, and the peer identity check.

Peers: mutual TLS. Both sides present a certificate issued by the consortium CA (from genesis), and
a certificate only identifies a member if it is byte-for-byte (DER) the `tls_cert_pem` genesis lists
for that member. A CA-issued certificate that genesis does not list is refused.
Clients: server-authenticated TLS with the consortium CA; a client proves who it is by the Ed25519
signature on each transaction (enrolled keys), not by a TLS certificate.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from baaskit.genesis import Genesis


def _der(pem: str | bytes) -> bytes | None:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        return x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
    except ValueError:
        return None


def peer_server_credentials(cert_pem: bytes, key_pem: bytes, ca_pem: bytes) -> grpc.ServerCredentials:
    """Mutual TLS: a dialing peer must present a certificate issued by the consortium CA."""
    return grpc.ssl_server_credentials(
        [(key_pem, cert_pem)], root_certificates=ca_pem, require_client_auth=True
    )


def api_server_credentials(cert_pem: bytes, key_pem: bytes) -> grpc.ServerCredentials:
    """Server-authenticated TLS for the client API."""
    return grpc.ssl_server_credentials([(key_pem, cert_pem)], require_client_auth=False)


def peer_channel_credentials(cert_pem: bytes, key_pem: bytes, ca_pem: bytes) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(root_certificates=ca_pem, private_key=key_pem, certificate_chain=cert_pem)


def client_channel_credentials(ca_pem: bytes) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(root_certificates=ca_pem)


def certificate_names(cert_pem: bytes) -> list[str]:
    """DNS and IP subject-alternative names of a certificate (for ssl_target_name_override)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names: list[str] = list(san.get_values_for_type(x509.DNSName))
    names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return names


class PeerIdentity:
    """Maps a presented TLS certificate to a genesis member index, or refuses it."""

    def __init__(self, genesis: Genesis) -> None:
        self._by_der: dict[bytes, int] = {}
        for member in genesis.members:
            der = _der(member.tls_cert_pem)
            if der is not None:
                self._by_der[der] = member.index

    def member_of_pem(self, pem: str | bytes) -> int | None:
        der = _der(pem)
        if der is None:
            return None
        return self._by_der.get(der)

    def member_of_context(self, context: grpc.aio.ServicerContext) -> int | None:
        """The genesis member whose certificate the caller presented in the TLS handshake."""
        auth = context.auth_context()
        certs: Iterable[bytes] = auth.get("x509_pem_cert", [])
        for pem in certs:
            member = self.member_of_pem(pem)
            if member is not None:
                return member
        return None
