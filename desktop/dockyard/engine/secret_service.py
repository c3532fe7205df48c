"""The Secret Service (gnome-keyring, KeePassXC, KWallet's bridge), spoken to directly.

Exactly what the ``keyring`` library's ``SecretService`` backend stores and finds (the
default collection; attributes ``service`` and ``username``; its label and ``application``),
so the values Dockyard kept through that library stay readable and the other way round.
It exists because the library costs about 0.15 s before its first answer (it imports
``urllib`` and scans every installed package for backends), and team mode's
``dockyard status`` reads its password on every start; ``engine/keyring_store.py`` decides
when it stands in for the library. ``secretstorage`` is imported on first use (30 ms).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

# The keyring library's name for itself in every item it makes; kept for the same items.
APPLICATION = "Python keyring library"


class SecretServiceError(Exception):
    """The service could not be reached, or its collection stayed locked."""


def available() -> bool:
    """Whether a Secret Service runs on the session bus or can be started there."""
    try:
        import secretstorage
    except ImportError:
        return False
    try:
        with _failures_said(), closing(secretstorage.dbus_init()) as connection:
            return bool(secretstorage.check_service_availability(connection))
    except SecretServiceError:
        return False


class SecretServiceKeyring:
    """``get``/``set``/``delete`` on the default collection, unlocking it when it is locked
    (the service may ask the user); raises ``SecretServiceError`` when it cannot."""

    def get(self, service: str, key: str) -> str | None:
        with self._collection() as collection:
            for item in collection.search_items(_query(service, key)):
                if item.is_locked() and (item.unlock() or item.is_locked()):
                    raise SecretServiceError("the item stayed locked")
                return str(item.get_secret().decode("utf-8"))
        return None

    def set(self, service: str, key: str, value: str) -> None:
        attributes = {**_query(service, key), "application": APPLICATION}
        label = f"Password for '{key}' on '{service}'"
        with self._collection() as collection:
            collection.create_item(label, attributes, value.encode("utf-8"), replace=True)

    def delete(self, service: str, key: str) -> bool:
        """Deletes the first matching item (as the library does); False when none."""
        with self._collection() as collection:
            for item in collection.search_items(_query(service, key)):
                item.delete()
                return True
        return False

    @contextmanager
    def _collection(self) -> Iterator[Any]:
        import secretstorage

        with _failures_said(), closing(secretstorage.dbus_init()) as connection:
            collection = secretstorage.get_default_collection(connection)
            if collection.is_locked() and (collection.unlock() or collection.is_locked()):
                raise SecretServiceError("the collection stayed locked")
            yield collection


@contextmanager
def _failures_said() -> Iterator[None]:
    from jeepney import DBusErrorResponse
    from secretstorage.exceptions import SecretStorageException

    try:
        yield
    except (SecretStorageException, DBusErrorResponse, OSError) as exc:
        raise SecretServiceError(str(exc) or type(exc).__name__) from exc


def _query(service: str, key: str) -> dict[str, str]:
    return {"username": key, "service": service}
