"""A throwaway private CA and a loopback server certificate, for the demo's embedded server.

:func:`make_loopback_cert` makes, with ``cryptography`` (a runtime dependency), a fresh ECDSA
P-256 CA and a certificate for ``127.0.0.1``/``localhost`` signed by it, valid for a few days.
It writes the server's key and certificate chain to one PEM file (mode 0600) and returns the
CA certificate's PEM, which the tablet pins as its private CA (``ServerClient(ca_pem=...)``):
verification stays on, exactly as with a customer's own CA. The CA's private key is never
written anywhere and is dropped when the function returns, so nothing else can be signed by it.

Not for production certificates: a customer's server uses the certificate of its own PKI.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True, slots=True)
class LoopbackCert:
    """``pem_file``: the server's private key plus its chain (leaf, CA). ``ca_pem``: the CA."""

    pem_file: Path
    ca_pem: str


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "MAR Desktop demo"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def make_loopback_cert(folder: Path, *, days: int = 7) -> LoopbackCert:
    """Writes ``folder/server.pem`` (created 0600; ``folder`` is made 0700) and returns it with
    the CA certificate. Raises ``OSError`` if the folder cannot be written."""
    now = datetime.now(UTC) - timedelta(minutes=5)  # tolerate a little clock difference
    until = now + timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("MAR Desktop throwaway demo CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.DNSName("localhost"),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_pem = ca_cert.public_bytes(pem)
    blob = (
        key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        + leaf.public_bytes(pem)
        + ca_pem
    )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / "server.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(blob)
    return LoopbackCert(path, ca_pem.decode("ascii"))
