"""The consortium's X.509 material (cryptography): a CA and the TLS certificates it issues.

All TLS keys are ECDSA P-256 (what gRPC's TLS stack supports everywhere). The CA signs with
SHA-256. A member's node certificate carries the member name as subject CN and SANs for the hosts
it is reached at (localhost and 127.0.0.1 by default), with both serverAuth and clientAuth usage
(the same certificate serves the client API and both ends of mutual-TLS peer streams).
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("localhost", "127.0.0.1")
CA_VALID_DAYS = 3650
CERT_VALID_DAYS = 825


class PkiError(ValueError):
    pass


@dataclass(frozen=True)
class Issued:
    key_pem: bytes
    cert_pem: bytes


@dataclass(frozen=True)
class CertificateAuthority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return _key_pem(self.key)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def create_ca(common_name: str = "baaskit consortium CA", valid_days: int = CA_VALID_DAYS) -> CertificateAuthority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(key=key, cert=cert)


def load_ca(cert_pem: bytes, key_pem: bytes) -> CertificateAuthority:
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except ValueError as exc:
        raise PkiError(f"cannot load the CA: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError("the CA key must be an ECDSA key")
    return CertificateAuthority(key=key, cert=cert)


def _san(hosts: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def issue_tls_cert(
    ca: CertificateAuthority,
    common_name: str,
    hosts: Sequence[str] = DEFAULT_HOSTS,
    organization: str | None = None,
    server: bool = True,
    valid_days: int = CERT_VALID_DAYS,
) -> Issued:
    """A fresh P-256 key and a certificate for it signed by the CA.

    server=True: serverAuth + clientAuth with SANs for `hosts` (a node). server=False: clientAuth
    only (a client identity for mutual TLS, if a deployment wants one)."""
    if not common_name:
        raise PkiError("a certificate needs a common name")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if server:
        usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if server:
        if not hosts:
            raise PkiError("a server certificate needs at least one host")
        builder = builder.add_extension(_san(hosts), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    return Issued(key_pem=_key_pem(key), cert_pem=cert.public_bytes(serialization.Encoding.PEM))


def load_cert(pem: bytes | str) -> x509.Certificate:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise PkiError(f"not a PEM certificate: {exc}") from None


def common_name(pem: bytes | str) -> str:
    attrs = load_cert(pem).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attrs:
        raise PkiError("certificate has no common name")
    value = attrs[0].value
    return value if isinstance(value, str) else value.decode()


def same_certificate(a: bytes | str, b: bytes | str) -> bool:
    """True iff both PEMs hold the byte-identical (DER) certificate."""
    der = serialization.Encoding.DER
    return load_cert(a).public_bytes(der) == load_cert(b).public_bytes(der)


def issued_by(cert_pem: bytes | str, ca_pem: bytes | str) -> bool:
    """True iff `cert_pem` was signed by the CA in `ca_pem`."""
    cert, ca = load_cert(cert_pem), load_cert(ca_pem)
    try:
        cert.verify_directly_issued_by(ca)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
