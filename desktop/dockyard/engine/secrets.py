"""Secret values in the OS keyring (Secret Service, Keychain, Windows Credential Locker).

Values never touch Dockyard's database, logs or images: only names and fingerprints do.
"""

from __future__ import annotations

import hashlib
import logging

import keyring
import keyring.errors

from dockyard.core.errors import InfrastructureError, UserInputError

log = logging.getLogger("dockyard.secrets")

SERVICE = "dockyard"


def _key(repo: str, environment: str, name: str) -> str:
    return f"{repo}/{environment}/{name}"


def _unavailable(exc: Exception) -> InfrastructureError:
    return InfrastructureError(
        f"The OS keyring is not available ({exc}); unlock or start your keyring "
        "(Secret Service, e.g. gnome-keyring) and try again."
    )


class SecretStore:
    """Per repository and environment secrets, kept by the OS keyring."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    def set(self, repo: str, environment: str, name: str, value: str) -> None:
        if not value:
            raise UserInputError(f"The value for secret {name!r} is empty; nothing was stored.")
        try:
            keyring.set_password(self.service, _key(repo, environment, name), value)
        except (keyring.errors.KeyringError, RuntimeError) as exc:
            raise _unavailable(exc) from exc
        log.info("secret %s set for %s/%s", name, repo, environment)

    def get(self, repo: str, environment: str, name: str) -> str:
        try:
            value = keyring.get_password(self.service, _key(repo, environment, name))
        except (keyring.errors.KeyringError, RuntimeError) as exc:
            raise _unavailable(exc) from exc
        if value is None:
            raise UserInputError(
                f"Secret {name!r} of environment {environment!r} is not in the keyring; "
                f"set it with: dockyard secret set {repo} {environment} {name}"
            )
        return value

    def delete(self, repo: str, environment: str, name: str) -> None:
        try:
            keyring.delete_password(self.service, _key(repo, environment, name))
        except keyring.errors.PasswordDeleteError:
            pass
        except (keyring.errors.KeyringError, RuntimeError) as exc:
            raise _unavailable(exc) from exc


def fingerprint(value: str) -> str:
    """A short, non-reversible mark of a value, so changes show without revealing it."""
    return hashlib.sha256(("dockyard-secret:" + value).encode()).hexdigest()[:16]


def unavailable_keyring(exc: Exception) -> InfrastructureError:
    """The one sentence for a keyring that cannot be reached, for every keyring user."""
    return _unavailable(exc)
