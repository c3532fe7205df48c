"""TLS material of an endpoint: files named in settings, a key passphrase in the keyring.

Server verification is always on: the daemon's certificate must chain to the endpoint's
CA (or, without one, to the system's CAs) and name the host that was dialled.
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

from dockyard.core.errors import UserInputError
from dockyard.engine import keyring_store
from dockyard.engine.endpoints.record import Endpoint

log = logging.getLogger("dockyard.docker")


def set_key_passphrase(endpoint_name: str, passphrase: str) -> None:
    if not passphrase:
        raise UserInputError("The passphrase is empty; nothing was stored.")
    keyring_store.write(keyring_store.ENDPOINT_TLS, endpoint_name, passphrase)


def delete_key_passphrase(endpoint_name: str) -> None:
    keyring_store.delete(keyring_store.ENDPOINT_TLS, endpoint_name)


def _key_passphrase(endpoint: Endpoint) -> str | None:
    if b"ENCRYPTED" not in Path(endpoint.tls_key).read_bytes()[:4096]:
        return None
    value = keyring_store.read(keyring_store.ENDPOINT_TLS, endpoint.name)
    if value is None:
        raise UserInputError(
            f"The TLS key of endpoint {endpoint.name!r} ({endpoint.tls_key}) is encrypted and "
            f"its passphrase is not in the keyring; store it with: "
            f"dockyard hosts passphrase {endpoint.name}"
        )
    return value


def _never_prompt() -> str:
    # Without a password callback OpenSSL would ask on the terminal, which a GUI has not.
    return ""


def ssl_context_for(endpoint: Endpoint) -> tuple[ssl.SSLContext, str]:
    """A verifying client context for the endpoint, and the CA file it trusts ("" = system)."""
    for label, path in (
        ("CA", endpoint.tls_ca),
        ("certificate", endpoint.tls_cert),
        ("key", endpoint.tls_key),
    ):
        if path and not Path(path).is_file():
            raise UserInputError(
                f"The TLS {label} file {path} of endpoint {endpoint.name!r} does not exist; "
                f"fix it with: dockyard hosts add {endpoint.name} … --tls-{label.lower()[:4]}"
            )
    try:
        context = ssl.create_default_context(cafile=endpoint.tls_ca or None)
    except ssl.SSLError as exc:
        raise UserInputError(
            f"The TLS CA file {endpoint.tls_ca} of endpoint {endpoint.name!r} is not a PEM "
            f"certificate ({exc.reason})."
        ) from exc
    if endpoint.tls_cert:
        if not endpoint.tls_key:
            raise UserInputError(
                f"Endpoint {endpoint.name!r} has a TLS certificate but no key; add --tls-key."
            )
        passphrase = _key_passphrase(endpoint)
        try:
            context.load_cert_chain(
                endpoint.tls_cert, endpoint.tls_key, password=passphrase or _never_prompt
            )
        except ssl.SSLError as exc:
            raise UserInputError(
                f"The TLS certificate or key of endpoint {endpoint.name!r} cannot be loaded "
                f"({exc.reason or exc}); check that they match and that the stored "
                "passphrase is right."
            ) from exc
    return context, endpoint.tls_ca
