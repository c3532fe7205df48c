"""The Secret Service (gnome-keyring, KeePassXC, KWallet's bridge), spoken to directly.

Exactly what the ``keyring`` library's ``SecretService`` backend stores and finds (the
default collection; attributes ``service`` and ``username``; its label and ``application``),
so the values Dockyard kept through that library stay readable and the other way round.
It exists because the library costs about 0.15 s before its first answer (it imports
``urllib`` and scans every installed package for backends), and team mode's
``dockyard status`` reads its password on every start; ``engine/keyring_store.py`` decides
when it stands in for the library.

A read from an unlocked collection goes over D-Bus with ``jeepney`` alone, in the
specification's unencrypted "plain" session (which libsecret falls back to):
``secretstorage`` would import ``cryptography`` (about 40 ms with itself) to encrypt the
value on its way over the user's own session bus, where only this user's processes could
read it, and they may ask the service for it anyway. Everything else (a locked collection
or item, writes, deletes) goes through ``secretstorage``, imported then, which unlocks (the
service may ask the user).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

# The keyring library's name for itself in every item it makes; kept for the same items.
APPLICATION = "Python keyring library"


class SecretServiceError(Exception):
    """The service could not be reached, or its collection stayed locked."""


_BUS_NAME = "org.freedesktop.secrets"
_SERVICE = ("/org/freedesktop/secrets", "org.freedesktop.Secret.Service")
_DEFAULT_COLLECTION = (
    "/org/freedesktop/secrets/aliases/default",
    "org.freedesktop.Secret.Collection",
)
_ANSWER_SECONDS = 25.0  # D-Bus's own default wait for a reply


def available() -> bool:
    """Whether a Secret Service runs on the session bus or can be started there."""
    if importlib.util.find_spec("secretstorage") is None:
        return False  # unlocking and writing need it (and so does the library's backend)
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    bus = DBusAddress("/org/freedesktop/DBus", "org.freedesktop.DBus", "org.freedesktop.DBus")
    try:
        with open_dbus_connection() as connection:
            ask = _asking(connection)
            if ask(new_method_call(bus, "NameHasOwner", "s", (_BUS_NAME,)))[0]:
                return True
            return _BUS_NAME in ask(new_method_call(bus, "ListActivatableNames"))[0]
    except (_NotThisWay, KeyError, ValueError, OSError):
        return False  # no session bus (KeyError: DBUS_SESSION_BUS_ADDRESS unset)


class _NotThisWay(Exception):
    """The plain read cannot answer (locked, refused, no default collection): ask
    ``secretstorage``, which unlocks and says what went wrong."""


def _asking(connection: Any) -> Any:
    """``ask(message)``: the reply's body; ``_NotThisWay`` for an error reply."""
    from jeepney.wrappers import DBusErrorResponse, unwrap_msg

    def ask(message: Any) -> Any:
        try:
            return unwrap_msg(connection.send_and_get_reply(message, timeout=_ANSWER_SECONDS))
        except DBusErrorResponse as exc:
            raise _NotThisWay(exc.name) from exc

    return ask


def _read_unlocked(service: str, key: str) -> str | None:
    """The value from the default collection when it is unlocked, read in a plain session;
    ``_NotThisWay`` when it is locked or the service refuses this way."""
    from jeepney import DBusAddress, Properties, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    collection = DBusAddress(_DEFAULT_COLLECTION[0], _BUS_NAME, _DEFAULT_COLLECTION[1])
    secrets = DBusAddress(_SERVICE[0], _BUS_NAME, _SERVICE[1])
    try:
        with open_dbus_connection() as connection:
            ask = _asking(connection)
            ((_signature, locked),) = ask(Properties(collection).get("Locked"))
            if locked:
                raise _NotThisWay("the collection is locked")
            (found,) = ask(
                new_method_call(collection, "SearchItems", "a{ss}", (_query(service, key),))
            )
            if not found:
                return None
            _output, session = ask(
                new_method_call(secrets, "OpenSession", "sv", ("plain", ("s", "")))
            )
            item = DBusAddress(found[0], _BUS_NAME, "org.freedesktop.Secret.Item")
            # (session, parameters, value, content type); an item locked alone is refused
            (secret,) = ask(new_method_call(item, "GetSecret", "o", (session,)))
    except (KeyError, ValueError, OSError) as exc:
        raise _NotThisWay(str(exc)) from exc  # TimeoutError is an OSError
    return bytes(secret[2]).decode("utf-8")


class SecretServiceKeyring:
    """``get``/``set``/``delete`` on the default collection, unlocking it when it is locked
    (the service may ask the user); raises ``SecretServiceError`` when it cannot."""

    def get(self, service: str, key: str) -> str | None:
        try:
            return _read_unlocked(service, key)
        except _NotThisWay:
            pass
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
