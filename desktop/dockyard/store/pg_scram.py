"""SCRAM-SHA-256 for the light PostgreSQL client (``store/pg_wire.py``), as libpq logs in
by default: the server proves that it knows the password too, and over TLS the exchange is
bound to the certificate the session verified (``SCRAM-SHA-256-PLUS`` with
``tls-server-end-point``, libpq's ``channel_binding=prefer``). RFCs 5802, 7677, 5929.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence

MECHANISM = "SCRAM-SHA-256"
BOUND = "SCRAM-SHA-256-PLUS"
# A certificate's signature algorithm (its OID's bytes) and the hash that binds to it:
# the signature's own, SHA-256 for MD5 and SHA-1 (RFC 5929, 4.1).
_BINDING_HASHES = {
    "2a864886f70d010104": "sha256", "2a864886f70d010105": "sha256",  # RSA with MD5, SHA-1
    "2a864886f70d01010b": "sha256", "2a864886f70d01010c": "sha384",  # RSA with SHA-2
    "2a864886f70d01010d": "sha512",
    "2a8648ce3d0401": "sha256", "2a8648ce3d040302": "sha256",  # ECDSA with SHA-1, SHA-2
    "2a8648ce3d040303": "sha384", "2a8648ce3d040304": "sha512",
}  # fmt: skip


class ScramRefused(Exception):
    """The server's side of the exchange is wrong (it does not know the password)."""


class ScramUnsupported(Exception):
    """What libpq would do and this does not (no SCRAM offered, another certificate)."""


class Scram:
    """One login's exchange; ``certificate``: the server's (DER) when over TLS."""

    def __init__(
        self,
        password: str,
        offered: Sequence[str],
        certificate: bytes | None,
        *,
        nonce: str = "",
        user: str = "",  # none for PostgreSQL, which takes it from the startup message
    ) -> None:
        if certificate is not None and BOUND in offered:
            self.mechanism, self._binding = BOUND, b"p=tls-server-end-point,,"
            self._binding += _end_point(certificate)
        elif MECHANISM in offered:
            # "y": this client could bind, the server offered none (a downgrade shows).
            self.mechanism, self._binding = MECHANISM, b"n,," if certificate is None else b"y,,"
        else:
            raise ScramUnsupported(f"the login methods {', '.join(offered)}")
        self._password = password.encode()
        self._nonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self._first_bare = f"n={user},r={self._nonce}"
        self._expected = b""
        self.server_checked = False

    def client_first(self) -> bytes:
        header = self._binding.split(b",,", 1)[0] + b",,"
        return header + self._first_bare.encode()

    def client_final(self, server_first: bytes) -> bytes:
        text = server_first.decode()
        try:
            fields = dict(item.split("=", 1) for item in text.split(","))
            nonce, salt, rounds = fields["r"], base64.b64decode(fields["s"]), int(fields["i"])
        except (KeyError, ValueError) as exc:
            raise ScramRefused("malformed SCRAM message") from exc
        if not nonce.startswith(self._nonce) or nonce == self._nonce:
            raise ScramRefused("invalid SCRAM response (nonce mismatch)")
        salted = hashlib.pbkdf2_hmac("sha256", self._password, salt, rounds)
        client_key = _hmac(salted, b"Client Key")
        without_proof = f"c={base64.b64encode(self._binding).decode()},r={nonce}"
        signed = f"{self._first_bare},{text},{without_proof}".encode()
        signature = _hmac(hashlib.sha256(client_key).digest(), signed)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self._expected = _hmac(_hmac(salted, b"Server Key"), signed)
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def check_server(self, server_final: bytes) -> None:
        said = server_final.decode()
        if not (
            said.startswith("v=")
            and self._expected
            and hmac.compare_digest(base64.b64decode(said[2:]), self._expected)
        ):
            raise ScramRefused("incorrect server signature")
        self.server_checked = True


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def _end_point(certificate: bytes) -> bytes:
    """tls-server-end-point: the certificate hashed as its signature algorithm says.
    Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm SEQUENCE { OID … } … }"""
    at = _der(certificate, 0)[0]  # into the certificate
    at = sum(_der(certificate, at))  # past tbsCertificate
    at = _der(certificate, at)[0]  # into signatureAlgorithm
    start, size = _der(certificate, at)
    name = _BINDING_HASHES.get(certificate[start : start + size].hex())
    if name is None:
        raise ScramUnsupported("channel binding to a certificate of this signature algorithm")
    return hashlib.new(name, certificate).digest()


def _der(der: bytes, at: int) -> tuple[int, int]:
    """Where the content of the DER element at ``at`` starts, and its size."""
    size = der[at + 1]
    if size < 0x80:
        return at + 2, size
    count = size & 0x7F
    return at + 2 + count, int.from_bytes(der[at + 2 : at + 2 + count], "big")
