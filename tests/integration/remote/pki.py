"""Certificates for the TLS tests: a CA, a daemon certificate and client certificates, and
the endpoint a user would add with them."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dockyard.engine.endpoints.record import Endpoint

Key = ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: Key, path: Path, passphrase: str = "") -> Path:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    path.chmod(0o600)
    return path


class CertificateAuthority:
    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = _name(name)
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
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
            .sign(self.key, hashes.SHA256())
        )
        self.path = folder / f"{name}-ca.pem"
        self.path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(
        self,
        stem: str,
        *,
        server_names: tuple[str, ...] = (),
        client: bool = False,
        passphrase: str = "",
    ) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(stem))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if server_names:
            alt: list[x509.GeneralName] = []
            for name in server_names:
                try:
                    alt.append(x509.IPAddress(ipaddress.ip_address(name)))
                except ValueError:
                    alt.append(x509.DNSName(name))
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        cert_path = self.folder / f"{stem}-cert.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return Issued(cert_path, _write_key(key, self.folder / f"{stem}-key.pem", passphrase))


@dataclass(frozen=True)
class RemotePKI:
    ca: Path
    server: Issued
    client: Issued
    client_encrypted: Issued
    foreign_client: Issued  # signed by a CA the daemon does not trust
    wrong_name_server: Issued  # valid only for example.invalid
    passphrase: str

    def endpoint(
        self, name: str, url: str, client: Issued | None = None, ca: Path | None = None
    ) -> Endpoint:
        """A TLS endpoint at ``url`` that trusts ``ca`` (this CA unless named) and presents
        ``client`` (the trusted client certificate unless named)."""
        client = client or self.client
        return Endpoint(
            name=name,
            url=url,
            tls_ca=str(ca or self.ca),
            tls_cert=str(client.cert),
            tls_key=str(client.key),
        )


def make_pki(folder: Path) -> RemotePKI:
    folder.mkdir(parents=True, exist_ok=True)
    ca = CertificateAuthority(folder, "dockyard-test")
    other = CertificateAuthority(folder, "other")
    passphrase = "correct horse battery"
    return RemotePKI(
        ca=ca.path,
        server=ca.issue("server", server_names=("127.0.0.1", "localhost")),
        client=ca.issue("client", client=True),
        client_encrypted=ca.issue("client-enc", client=True, passphrase=passphrase),
        foreign_client=other.issue("foreign-client", client=True),
        wrong_name_server=ca.issue("wrong-name", server_names=("example.invalid",)),
        passphrase=passphrase,
    )
