"""What both clients of the team ledger share, without importing either: its rows, its
sessions (one per thread, the first kept from the schema check) and its sentences.

``store/pg.py`` reads and writes through psycopg; ``store/pg_reading.py`` reads through
``store/pg_wire.py`` (a command that only reads need not import psycopg, ~75 ms).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from dockyard.core.errors import LedgerUnreachable, UserInputError
from dockyard.store.sql import SqlConnection, ThreadConnections
from dockyard.store.team_version import check_schema

SEARCH_PATH = "dockyard, pg_catalog"


class PgRow:
    """One result row, readable by column name and by position, like ``sqlite3.Row``."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: Mapping[str, int], values: Sequence[Any]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._index)


C = TypeVar("C", bound=SqlConnection)


class PgSessions(Generic[C]):
    """The team ledger's sessions: one per thread, as with SQLite; the first one, which
    checked the schema and asked who is logged in, serves the first thread that reads."""

    dialect = "postgres"
    read_only = False

    def __init__(self, label: str, name: str) -> None:
        self.label = label  # "user@host:port/db", for sentences
        # With a name, sessions are opened as ``application_name=NAME``: the server's
        # admin sees who holds each session (pg_stat_activity).
        self.name = name
        self._threads: ThreadConnections[C] = ThreadConnections(
            self._first_or_new, usable=lambda connection: not self._closed(connection)
        )
        connection = self._open_session()
        try:
            self.schema_version = check_schema(connection)
            row = connection.execute("SELECT session_user").fetchone()
        except BaseException:
            connection.close()  # a schema this client does not know: no session left behind
            raise
        self.identity = str(row[0]) if row else ""
        # Kept for the first thread that reads, which need not be this one: a command
        # opens the ledger in the background while its modules load (engine/ledger_source).
        self._spare: C | None = connection
        self._spare_lock = threading.Lock()

    def _open_session(self) -> C:
        """A new session for a thread's reads and writes."""
        raise NotImplementedError

    @staticmethod
    def _closed(connection: C) -> bool:
        raise NotImplementedError

    def _thread_session(self) -> C:
        return self._threads.get()

    def _first_or_new(self) -> C:
        with self._spare_lock:
            spare, self._spare = self._spare, None
        return spare if spare is not None and not self._closed(spare) else self._open_session()

    def naming(self, purpose: str) -> dict[str, str]:
        if not self.name:
            return {}
        return {"application_name": f"{self.name} ({purpose})" if purpose else self.name}

    def release(self) -> None:
        self._threads.release()

    def close(self) -> None:
        with self._spare_lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.close()
        self._threads.close_all()


def went_away(label: str, reason: str) -> LedgerUnreachable:
    """A statement's session was lost."""
    where = f" {label}" if label else ""
    return LedgerUnreachable(
        f"The team ledger{where} went away ({reason}); nothing of that step was recorded. "
        "Try again when it is reachable."
    )


def rule_refusal(message: str) -> UserInputError:
    """The server's refusal by a rule of the team schema (a right not held), as a sentence."""
    message = message.removeprefix("dockyard: ")
    return UserInputError(message[:1].upper() + message[1:] + ".")


def server_reason(exc: Exception) -> str:
    """The server's or the network's reason, short: libpq's first line names the address
    again ("connection to server at …, port … failed: Connection refused") and its
    second is a hint; the sentence around it names the server already."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    first = text.splitlines()[0]
    return first.rsplit(" failed: ", 1)[-1].strip() if " failed: " in first else first
