"""The OS keyring: the one way Dockyard keeps and reads a secret.

Every secret lives under a service named for what it is (the constants below) and a key
inside it. Every value read or stored joins the process-wide redactor
(``core.redaction``). A keyring that cannot be reached is said in one sentence,
exit code 3 (``KeyringUnavailable``; docs/headless.md).

Which keyring: the backend named in ``PYTHON_KEYRING_BACKEND`` or in the ``keyring``
library's ``keyringrc.cfg``, through that library; else, on Linux, the Secret Service
spoken to directly (``engine/secret_service.py``) when it runs and nothing else the
library could choose is installed; else whatever the library finds. The library is
imported only then: importing it and its search for backends take about 0.15 s, which
every team-mode command would pay to read its password.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import threading
from pathlib import Path
from typing import Any, Protocol

from dockyard.core.errors import InfrastructureError
from dockyard.core.redaction import remember_secret
from dockyard.engine.secret_service import SecretServiceError, SecretServiceKeyring, available

# The services (names existing keyrings hold: never rename one) and what keys them.
SECRETS = "dockyard"  # deployment and build secrets: REPO/ENVIRONMENT/NAME
FINGERPRINT_KEY = "dockyard-fingerprint-key"  # a home's fingerprint key: its ledger id
TEAM = "dockyard-team"  # a team server's password: USER@HOST:PORT/DATABASE
REGISTRY = "dockyard-registry"  # a registry login (JSON user and password): its host
ENDPOINT_TLS = "dockyard-endpoint-tls"  # an endpoint's TLS key passphrase: its name

# What the library reads before it searches: then it is the library's choice to make.
_CONFIGURED_BY = ("PYTHON_KEYRING_BACKEND", "KEYRING_PROPERTY_")
# Modules other Linux backends need (KWallet, libsecret, third-party ``keyrings.*``):
# with one of them the library might choose another backend, or chain several.
_OTHER_BACKENDS = ("dbus", "gi", "keyrings")


class KeyringUnavailable(InfrastructureError):
    """The keyring could not be reached (none installed, none running, stayed locked)."""

    def __init__(self, reason: object, *, configured: bool = False) -> None:
        # Unlocking does not help when the configured backend cannot even be loaded.
        advice = (
            "install the backend named in PYTHON_KEYRING_BACKEND or keyringrc.cfg, or name "
            "another one there (or remove the setting)"
            if configured
            else "unlock or start your keyring (Secret Service, e.g. gnome-keyring)"
        )
        super().__init__(f"The OS keyring is not available ({reason}); {advice} and try again.")
        self.reason = str(reason)


def read(service: str, key: str) -> str | None:
    """The value, or None when none is stored; raises ``KeyringUnavailable``."""
    value = _backend().get(service, key)
    if value is not None:
        remember_secret(value)
    return value


def read_quietly(service: str, key: str) -> str | None:
    """The value, or None when none is stored or there is no keyring to ask."""
    try:
        return read(service, key)
    except KeyringUnavailable:
        return None


def write(service: str, key: str, value: str) -> None:
    remember_secret(value)
    _backend().set(service, key, value)


def delete(service: str, key: str) -> bool:
    """Forget the value; False when none was stored."""
    return _backend().delete(service, key)


class _Backend(Protocol):
    def get(self, service: str, key: str) -> str | None: ...
    def set(self, service: str, key: str, value: str) -> None: ...
    def delete(self, service: str, key: str) -> bool: ...


class _DirectSecretService:
    def __init__(self) -> None:
        self._service = SecretServiceKeyring()

    def get(self, service: str, key: str) -> str | None:
        try:
            return self._service.get(service, key)
        except SecretServiceError as exc:
            raise KeyringUnavailable(exc) from exc

    def set(self, service: str, key: str, value: str) -> None:
        try:
            self._service.set(service, key, value)
        except SecretServiceError as exc:
            raise KeyringUnavailable(exc) from exc

    def delete(self, service: str, key: str) -> bool:
        try:
            return self._service.delete(service, key)
        except SecretServiceError as exc:
            raise KeyringUnavailable(exc) from exc


class _Library:
    """The ``keyring`` library's own choice (configured, detected, or ``fail.Keyring``)."""

    def __init__(self) -> None:
        import keyring
        import keyring.errors

        self._errors = keyring.errors
        self._ring: Any = None
        self._broken: Exception | None = None
        try:
            self._ring = keyring.get_keyring()
        except (ImportError, AttributeError, RuntimeError) as exc:
            # A configured backend that is not installed (or not viable here): say so at use.
            self._broken = exc

    def _keyring(self) -> Any:
        if self._ring is None:
            raise KeyringUnavailable(self._broken, configured=True)
        return self._ring

    def get(self, service: str, key: str) -> str | None:
        try:
            return self._keyring().get_password(service, key)
        except (self._errors.KeyringError, RuntimeError) as exc:
            raise KeyringUnavailable(exc) from exc

    def set(self, service: str, key: str, value: str) -> None:
        try:
            self._keyring().set_password(service, key, value)
        except (self._errors.KeyringError, RuntimeError) as exc:
            raise KeyringUnavailable(exc) from exc

    def delete(self, service: str, key: str) -> bool:
        try:
            self._keyring().delete_password(service, key)
        except self._errors.PasswordDeleteError:
            return False
        except (self._errors.KeyringError, RuntimeError) as exc:
            raise KeyringUnavailable(exc) from exc
        return True


_choosing = threading.Lock()
_chosen: _Backend | None = None


def _backend() -> _Backend:
    """The keyring of this process, chosen on first use (as the library does)."""
    global _chosen
    with _choosing:
        if _chosen is None:
            _chosen = _DirectSecretService() if _secret_service_alone() else _Library()
        return _chosen


def _secret_service_alone() -> bool:
    """Whether the library would choose the Secret Service, known without its search."""
    if platform.system() != "Linux":
        return False
    if any(name.startswith(_CONFIGURED_BY) for name in os.environ):
        return False
    config_home = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    if (Path(config_home) / "python_keyring" / "keyringrc.cfg").exists():
        return False
    if any(importlib.util.find_spec(name) is not None for name in _OTHER_BACKENDS):
        return False
    return available()
