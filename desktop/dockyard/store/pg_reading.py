"""The team ledger for a command that only reads (``dockyard status``, ``dockyard runs``).

Its reads go through ``store/pg_wire.py``, so the command never imports psycopg (~75 ms
of its start). Everything else goes to psycopg (``store/pg.py``), opened at its first need:
a transaction (the recovery of a run or deployment left in flight writes), a session of
the caller's own (a lock, ``LISTEN``), a statement whose parameters or columns the light
client does not read. Errors read as ``store/pg.py``'s do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from dockyard.store.pg_ledger import SEARCH_PATH, PgSessions, rule_refusal, went_away
from dockyard.store.pg_wire import ServerError, Unsupported, WireError, WireSession
from dockyard.store.sql import Database, SqlConnection, SqlCursor

INSUFFICIENT_PRIVILEGE = "42501"  # a rule of the team server (psycopg's InsufficientPrivilege)


class ReadingConnection:
    """A thread's session through the light client; what it cannot do, psycopg does."""

    in_transaction = False  # autocommit: every statement is its own transaction

    def __init__(self, session: WireSession, label: str, full: Callable[[], Database]) -> None:
        self._session = session
        self._label = label
        self._full = full

    @property
    def closed(self) -> bool:
        return self._session.closed

    def execute(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ()) -> SqlCursor:
        try:
            return self._session.execute(sql, parameters)  # type: ignore[arg-type]
        except Unsupported:
            return self._full().connect().execute(sql, parameters)
        except WireError as exc:
            raise went_away(self._label, str(exc)) from exc
        except ServerError as exc:
            if exc.sqlstate == INSUFFICIENT_PRIVILEGE:
                raise rule_refusal(exc.message) from exc
            if exc.operational:
                raise went_away(self._label, exc.message) from exc
            raise

    def close(self) -> None:
        self._session.close()


class PgReadingDatabase(PgSessions[ReadingConnection]):
    """The team ledger: reads through the light client, the rest through psycopg."""

    def __init__(
        self,
        connect: Callable[[Mapping[str, str]], WireSession],
        open_full: Callable[[], Database],
        label: str,
        name: str = "",
    ) -> None:
        """``connect(startup)``: a logged-in session with these settings (its errors in
        their sentences); ``open_full()``: the ledger through psycopg."""
        self._connect = connect
        self._open_full = open_full
        self._full: Database | None = None
        self._full_lock = threading.Lock()
        self._writing: dict[int, SqlConnection] = {}  # by thread: in a transaction
        super().__init__(label, name)

    @staticmethod
    def _closed(connection: ReadingConnection) -> bool:
        return connection.closed

    def _open_session(self) -> ReadingConnection:
        session = self._connect({**self.naming(""), "search_path": SEARCH_PATH})
        return ReadingConnection(session, self.label, self.full)

    def full(self) -> Database:
        """The ledger through psycopg, opened now if it was not."""
        with self._full_lock:
            if self._full is None:
                self._full = self._open_full()
            return self._full

    def connect(self) -> SqlConnection:
        """This thread's session; inside a transaction its psycopg connection, so that
        what the transaction wrote reads back."""
        return self._writing.get(threading.get_ident()) or self._thread_session()

    @contextmanager
    def transaction(self) -> Iterator[SqlConnection]:
        thread = threading.get_ident()
        outer = self._writing.get(thread)
        with self.full().transaction() as connection:
            self._writing[thread] = connection
            try:
                yield connection
            finally:
                if outer is None:
                    del self._writing[thread]

    def open_private(self, purpose: str = "") -> SqlConnection:
        return self.full().open_private(purpose)

    def change_marker(self, private: SqlConnection) -> object:
        return self.full().change_marker(private)

    def wait_for_change(self, private: SqlConnection, timeout: float) -> bool:
        return bool(self.full().wait_for_change(private, timeout))  # type: ignore[attr-defined]

    def release(self) -> None:
        super().release()
        if self._full is not None:
            self._full.release()

    def close(self) -> None:
        super().close()
        with self._full_lock:
            full, self._full = self._full, None
        if full is not None:
            full.close()
