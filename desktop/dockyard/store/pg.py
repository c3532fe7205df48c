"""The team ledger: the store's queries on PostgreSQL, through the same interface as SQLite.

The store modules write their SQL once, in the dialect both engines share (``?``
placeholders, ``ON CONFLICT``, ``RETURNING``); ``PgConnection`` translates the placeholders
and gives rows that read like ``sqlite3.Row`` (by name and by position). Every write
transaction takes one advisory lock first, the equivalent of SQLite's ``BEGIN IMMEDIATE``:
a read-then-write (the pending request to supersede, the next deployment) cannot race
another Dockyard on another machine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import RowMaker

from dockyard.core.errors import LedgerUnreachable
from dockyard.store.sql import SqlConnection, ThreadConnections
from dockyard.store.team import check_schema, refused
from dockyard.store.team_schema import NOTIFY_CHANNEL

WRITE_LOCK = "SELECT pg_advisory_xact_lock(hashtext('dockyard.write'))"


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


def _row_factory(cursor: psycopg.Cursor[Any]) -> RowMaker[PgRow]:
    names = [column.name for column in cursor.description or ()]
    index = {name: position for position, name in enumerate(names)}

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(index, values)

    return make


def translate(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` (and a literal ``%`` to ``%%``).

    The store's SQL keeps ``?`` out of its string literals, so no parsing is needed.
    """
    return sql.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """The part of ``sqlite3.Connection`` the store uses, on a psycopg connection."""

    def __init__(self, raw: psycopg.Connection[Any], label: str = "") -> None:
        self.raw = raw
        self.label = label  # the server, for sentences
        self.listening = False  # LISTEN sent (change_marker)
        self.notified = 0

    def execute(
        self, sql: str, parameters: Sequence[object] | Mapping[str, object] = ()
    ) -> psycopg.Cursor[PgRow]:
        try:
            cursor = self.raw.cursor(row_factory=_row_factory)  # raises once it is closed
            if parameters:
                return cursor.execute(translate(sql), parameters)
            return cursor.execute(sql)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise refused(exc) from exc  # a rule of the team server: one sentence, exit 2
        except psycopg.OperationalError as exc:
            where = f" {self.label}" if self.label else ""
            raise LedgerUnreachable(
                f"The team ledger{where} went away ({server_reason(exc)}); nothing of that step "
                "was recorded. Try again when it is reachable."
            ) from exc

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


class PgDatabase:
    """The team ledger's database; one connection per thread, as with SQLite."""

    dialect = "postgres"
    read_only = False

    def __init__(
        self, connect: Callable[..., psycopg.Connection[Any]], label: str, name: str = ""
    ) -> None:
        self.label = label  # "user@host:port/db", for sentences
        self._connect = connect
        # With a name, connections are opened as ``connect(application_name=...)``: the
        # server's admin sees who holds each session (pg_stat_activity).
        self.name = name
        self._threads: ThreadConnections[PgConnection] = ThreadConnections(
            self._first_or_new, usable=lambda connection: not connection.raw.closed
        )
        connection = self.open_private()
        try:
            self.schema_version = check_schema(connection.raw)
            row = connection.execute("SELECT session_user").fetchone()
        except psycopg.OperationalError as exc:
            connection.close()
            raise self._went_away(exc) from exc
        except BaseException:
            connection.close()  # a schema this client does not know: no session left behind
            raise
        self.identity = str(row[0]) if row else ""
        # Kept for the first thread that reads, which need not be this one: a command
        # opens the ledger in the background while its modules load (engine/ledger_source).
        self._spare: PgConnection | None = connection
        self._spare_lock = threading.Lock()

    def connect(self) -> PgConnection:
        return self._threads.get()

    def _first_or_new(self) -> PgConnection:
        with self._spare_lock:
            spare, self._spare = self._spare, None
        return spare if spare is not None and not spare.raw.closed else self.open_private()

    def open_private(self, purpose: str = "") -> PgConnection:
        raw: psycopg.Connection[Any] | None = None
        try:
            raw = self._connect(**self._naming(purpose))
            raw.autocommit = True
            raw.execute("SET search_path TO dockyard, pg_catalog")
        except psycopg.OperationalError as exc:
            # Also a server shutting down between the login and the first statement.
            if raw is not None:
                raw.close()
            raise LedgerUnreachable(
                f"The team ledger {self.label} is unreachable ({server_reason(exc)}); check that "
                "the server runs and this machine may reach it."
            ) from exc
        return PgConnection(raw, self.label)

    def _naming(self, purpose: str) -> dict[str, str]:
        if not self.name:
            return {}
        return {"application_name": f"{self.name} ({purpose})" if purpose else self.name}

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """One transaction (nested calls become savepoints), the writers serialised."""
        connection = self.connect()
        nested = connection.in_transaction
        try:
            with connection.raw.transaction():
                if not nested:
                    connection.raw.execute(WRITE_LOCK)
                yield connection
        except psycopg.OperationalError as exc:
            raise LedgerUnreachable(
                f"The team ledger {self.label} went away during a write ({server_reason(exc)}); "
                "nothing of that write was recorded. Try again when it is reachable."
            ) from exc

    def change_marker(self, private: SqlConnection) -> object:
        """How many notifications of other connections' commits ``private`` has seen
        (LISTEN/NOTIFY: the team schema's triggers notify on every change)."""
        assert isinstance(private, PgConnection)
        try:
            self._listen(private)
            private.raw.execute("SELECT 1")  # receives what arrived meanwhile
            own = private.raw.info.backend_pid
            private.notified += sum(1 for n in private.raw.notifies(timeout=0) if n.pid != own)
        except psycopg.OperationalError as exc:
            raise self._went_away(exc) from exc
        return private.notified

    def wait_for_change(self, private: SqlConnection, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds on ``private`` (a connection used for nothing
        else) for the server's word that someone committed a change; True when it came.
        The first call starts listening: changes before it are not reported."""
        assert isinstance(private, PgConnection)
        try:
            self._listen(private)
            return bool(list(private.raw.notifies(timeout=timeout, stop_after=1)))
        except psycopg.OperationalError as exc:
            raise self._went_away(exc) from exc

    @staticmethod
    def _listen(private: PgConnection) -> None:
        if not private.listening:
            private.raw.execute(f"LISTEN {NOTIFY_CHANNEL}")
            private.listening = True

    def _went_away(self, exc: psycopg.OperationalError) -> LedgerUnreachable:
        return LedgerUnreachable(
            f"The team ledger {self.label} went away ({server_reason(exc)}); check that the "
            "server runs and this machine may reach it."
        )

    def release(self) -> None:
        self._threads.release()

    def close(self) -> None:
        with self._spare_lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.close()
        self._threads.close_all()


def server_reason(exc: Exception) -> str:
    """The server's or the network's reason, short: libpq's first line names the address
    again ("connection to server at …, port … failed: Connection refused") and its
    second is a hint; the sentence around it names the server already."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    first = text.splitlines()[0]
    return first.rsplit(" failed: ", 1)[-1].strip() if " failed: " in first else first
