"""What the store needs of a database, whichever engine holds it.

Two implement it: ``database.SqliteDatabase`` (the local ledger, one file per home) and
``pg.PgDatabase`` (the team ledger on PostgreSQL). The store modules write their SQL once,
in the dialect both share: ``?`` placeholders, ``ON CONFLICT … DO UPDATE``, ``RETURNING``.
Where the engines differ (the audit chain, noticing other writers), code asks ``dialect``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol


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
    def open_private(self) -> SqlConnection: ...
    def release(self) -> None: ...
    def close(self) -> None: ...
    def change_marker(self, private: SqlConnection) -> object:
        """A value that changes when another connection commits; ``private`` is a
        connection of the caller's own (``open_private``), used for nothing else."""
        ...
