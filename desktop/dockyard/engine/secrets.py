"""Secret values in the OS keyring (Secret Service, Keychain, Windows Credential Locker).

Values never touch Dockyard's database, logs or images: only names and fingerprints do.
Every value read or stored here is also handed to the process-wide redactor
(``core.redaction``, by ``engine/keyring_store.py``), so nothing this process records or
prints can show it.

A fingerprint is a keyed mark (HMAC-SHA256) of a value, ``v2:`` and 32 hex digits: it
shows that a secret changed without revealing it, and cannot be guessed offline without
the key, which is random, kept in the keyring and made on first use, one per Dockyard
home (named by the id in ``DOCKYARD_HOME/ledger-id``). Snapshots recorded before carry
the old, unkeyed marks (16 hex digits); they are compared by recomputing the old way.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import logging
import secrets as random
from collections.abc import Callable, Mapping
from pathlib import Path

from dockyard.core.errors import UserInputError
from dockyard.engine import keyring_store
from dockyard.engine.home import dockyard_home
from dockyard.store.sql import Database
from dockyard.store.team_keys import shared_fingerprint_key

log = logging.getLogger("dockyard.secrets")

SERVICE = keyring_store.SECRETS
LEDGER_ID_FILE = "ledger-id"
MARK_VERSION = "v2:"
# The mark of a secret that had no value when the snapshot was taken (an approval
# request may wait for it to be set; a deployment never goes out with it).
NOT_SET = ""


def _key(repo: str, environment: str, name: str) -> str:
    return f"{repo}/{environment}/{name}"


def not_set_message(repo: str, environment: str, name: str) -> str:
    return (
        f"Secret {name!r} of environment {environment!r} is not in the keyring; "
        f"set it with: dockyard secret set {repo} {environment} {name}"
    )


class SecretStore:
    """Per repository and environment secrets, kept by the OS keyring."""

    def __init__(
        self, service: str = SERVICE, home: Path | None = None, db: Database | None = None
    ) -> None:
        self.service = service
        self.home = home  # whose fingerprint key; None: DOCKYARD_HOME
        self.db = db  # a team ledger brings the team's key

    def set(self, repo: str, environment: str, name: str, value: str) -> None:
        if not value:
            raise UserInputError(f"The value for secret {name!r} is empty; nothing was stored.")
        keyring_store.write(self.service, _key(repo, environment, name), value)
        log.info("secret %s set for %s/%s", name, repo, environment)

    def get(self, repo: str, environment: str, name: str) -> str:
        value = self.find(repo, environment, name)
        if value is None:
            raise UserInputError(not_set_message(repo, environment, name))
        return value

    def find(self, repo: str, environment: str, name: str) -> str | None:
        """The value, or None when it was never set (the keyring must be reachable)."""
        return keyring_store.read(self.service, _key(repo, environment, name))

    def find_quietly(self, repo: str, environment: str, name: str) -> str | None:
        """The value, or None when it is not set or there is no keyring at all."""
        return keyring_store.read_quietly(self.service, _key(repo, environment, name))

    def delete(self, repo: str, environment: str, name: str) -> None:
        keyring_store.delete(self.service, _key(repo, environment, name))

    def fingerprints(self) -> Fingerprints:
        """Keyed fingerprints of this store's Dockyard home (the key is read on first use)."""
        home = self.home or dockyard_home()
        team_key = shared_fingerprint_key(self.db) if self.db is not None else None
        if team_key is not None:  # marks must compare on every member's machine
            return Fingerprints(team_key)
        return Fingerprints(lambda: self._fingerprint_key(home))

    def _fingerprint_key(self, home: Path) -> bytes:
        home.mkdir(parents=True, exist_ok=True)
        # One lock for the id and the key: two processes starting at once make one key.
        with open(home / LEDGER_ID_FILE, "a+", encoding="ascii") as id_file:
            fcntl.flock(id_file, fcntl.LOCK_EX)
            id_file.seek(0)
            ledger_id = id_file.read().strip()
            if not ledger_id:
                ledger_id = random.token_hex(16)
                id_file.write(ledger_id + "\n")
                id_file.flush()
            stored = keyring_store.read(keyring_store.FINGERPRINT_KEY, ledger_id)
            if stored is None:
                stored = base64.b64encode(random.token_bytes(32)).decode()
                keyring_store.write(keyring_store.FINGERPRINT_KEY, ledger_id, stored)
        return base64.b64decode(stored)


class Fingerprints:
    """Marks secret values with a keyed HMAC; compares old (unkeyed) marks too."""

    def __init__(self, key: bytes | Callable[[], bytes]) -> None:
        self._key = key

    def key(self) -> bytes:
        if callable(self._key):
            self._key = self._key()
        return self._key

    def mark(self, value: str) -> str:
        digest = hmac.new(self.key(), value.encode(), hashlib.sha256).hexdigest()
        return MARK_VERSION + digest[:32]

    def marks(self, values: Mapping[str, str | None]) -> dict[str, str]:
        """name -> mark; ``NOT_SET`` for a name without a value."""
        return {
            name: NOT_SET if value is None else self.mark(value) for name, value in values.items()
        }

    def matches(self, mark: str, value: str) -> bool:
        """Whether ``mark`` (of any version) was made from ``value``."""
        if mark == NOT_SET:
            return False
        if mark.startswith(MARK_VERSION):
            return hmac.compare_digest(mark, self.mark(value))
        return hmac.compare_digest(mark, legacy_fingerprint(value))


def legacy_fingerprint(value: str) -> str:
    """The unkeyed mark of Dockyard before 'v2:' marks; only ever compared, never made."""
    return hashlib.sha256(("dockyard-secret:" + value).encode()).hexdigest()[:16]


def is_current_mark(mark: str) -> bool:
    return mark.startswith(MARK_VERSION)
