"""The team ledger: the store's queries on PostgreSQL, through the same interface as SQLite.

The store modules write their SQL once, in the dialect both engines share (``?``
placeholders, ``ON CONFLICT``, ``RETURNING``); ``PgConnection`` translates the placeholders
and gives rows that read like ``sqlite3.Row`` (by name and by position). Every write
transaction takes one advisory lock first, the equivalent of SQLite's ``BEGIN IMMEDIATE``:
a read-then-write (the pending request to supersede, the next deployment) cannot race
another Dockyard on another machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import RowMaker

from dockyard.core.errors import LedgerUnreachable
from dockyard.store.pg_ledger import SEARCH_PATH, PgRow, PgSessions, server_reason, went_away
from dockyard.store.sql import SqlConnection
from dockyard.store.team import refused
from dockyard.store.team_schema import NOTIFY_CHANNEL

__all__ = ["PgConnection", "PgDatabase", "PgRow", "server_reason", "translate"]

WRITE_LOCK = "SELECT pg_advisory_xact_lock(hashtext('dockyard.write'))"


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
            raise went_away(self.label, server_reason(exc)) from exc

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


class PgDatabase(PgSessions[PgConnection]):
    """The team ledger's database through psycopg: reads and writes."""

    def __init__(
        self, connect: Callable[..., psycopg.Connection[Any]], label: str, name: str = ""
    ) -> None:
        self._connect = connect
        super().__init__(label, name)

    @staticmethod
    def _closed(connection: PgConnection) -> bool:
        return bool(connection.raw.closed)

    def _open_session(self) -> PgConnection:
        return self.open_private()

    def connect(self) -> PgConnection:
        return self._thread_session()

    def open_private(self, purpose: str = "") -> PgConnection:
        raw: psycopg.Connection[Any] | None = None
        try:
            raw = self._connect(**self.naming(purpose))
            raw.autocommit = True
            raw.execute(f"SET search_path TO {SEARCH_PATH}")
        except psycopg.OperationalError as exc:
            # Also a server shutting down between the login and the first statement.
            if raw is not None:
                raw.close()
            raise LedgerUnreachable(
                f"The team ledger {self.label} is unreachable ({server_reason(exc)}); check that "
                "the server runs and this machine may reach it."
            ) from exc
        return PgConnection(raw, self.label)

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
