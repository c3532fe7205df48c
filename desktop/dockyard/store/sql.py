"""What the store needs of a database, whichever engine holds it.

Two implement it: ``database.SqliteDatabase`` (the local ledger, one file per home) and
``pg.PgDatabase`` (the team ledger on PostgreSQL). The store modules write their SQL once,
in the dialect both share: ``?`` placeholders, ``ON CONFLICT … DO UPDATE``, ``RETURNING``.
Where the engines differ (the audit chain, noticing other writers), code asks ``dialect``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Generic, Protocol, TypeVar


class SqlRow(Protocol):
    def __getitem__(self, key: str | int, /) -> Any: ...
    def keys(self) -> list[str]: ...


class SqlCursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class SqlConnection(Protocol):
    def execute(
        self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ..., /
    ) -> SqlCursor: ...

    @property
    def in_transaction(self) -> bool: ...

    def close(self) -> None: ...


class Database(Protocol):
    """One ledger database; each thread gets its own connection."""

    dialect: str  # "sqlite" or "postgres"
    read_only: bool  # True while writes cannot succeed (a full disk): reads still work

    def connect(self) -> SqlConnection: ...
    def transaction(self) -> AbstractContextManager[SqlConnection]: ...
    def open_private(self, purpose: str = "") -> SqlConnection:
        """A connection of the caller's own (the caller closes it); ``purpose`` names it
        on a team server (``pg_stat_activity.application_name``)."""
        ...

    def release(self) -> None: ...
    def close(self) -> None: ...
    def change_marker(self, private: SqlConnection) -> object:
        """A value that changes when another connection commits; ``private`` is a
        connection of the caller's own (``open_private``), used for nothing else."""
        ...


C = TypeVar("C", bound=SqlConnection)


class ThreadConnections(Generic[C]):
    """One connection per thread, opened on first use; all closed at shutdown.

    Keyed by thread id, not ``threading.local``: a thread of Qt's pool gets a new Python
    thread state (and new thread-locals) for every task, so each would open a connection.
    """

    def __init__(self, open_: Callable[[], C], usable: Callable[[C], bool] = lambda _c: True):
        self._open = open_
        self._usable = usable  # False: open a new one (a server connection that was lost)
        self._by_thread: dict[int, C] = {}
        self._all: list[C] = []
        self._lock = threading.Lock()

    def get(self) -> C:
        connection = self._by_thread.get(threading.get_ident())
        if connection is None or not self._usable(connection):
            gone, connection = connection, self._open()
            self._by_thread[threading.get_ident()] = connection
            with self._lock:
                if gone is not None and gone in self._all:
                    self._all.remove(gone)
                self._all.append(connection)
        return connection

    def release(self) -> None:
        """Close this thread's connection (a worker thread before it ends)."""
        connection = self._by_thread.pop(threading.get_ident(), None)
        if connection is not None:
            with self._lock:
                if connection in self._all:
                    self._all.remove(connection)
            connection.close()

    def close_all(self) -> None:
        """Close every connection (at shutdown, when no thread uses them any more)."""
        with self._lock:
            connections, self._all = self._all, []
        self._by_thread = {}
        for connection in connections:
            connection.close()
