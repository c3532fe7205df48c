"""The SQLite database file: connections per thread, durable settings, migrations.

Why these settings: WAL lets the window read while a pipeline writes; ``synchronous=FULL``
makes a committed row survive a power cut ("nothing is lost", docs/architecture.md);
``busy_timeout`` makes concurrent writers wait their turn instead of failing.

A damaged file is refused before anything is written into it (store/integrity.py); on a
full disk the file is opened read-only, so what was recorded stays readable
(store/diskspace.py, docs/troubleshooting.md).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dockyard.core.errors import InfrastructureError
from dockyard.store.diskspace import disk_full_error, is_disk_full, is_out_of_room
from dockyard.store.integrity import damage_of, damaged_error, is_damage
from dockyard.store.migrations import MIGRATIONS
from dockyard.store.sql import Database, SqlConnection, ThreadConnections

__all__ = ["DATABASE_FILE", "Database", "SqliteDatabase", "machine_database", "open_database"]

DATABASE_FILE = "dockyard.db"
BUSY_TIMEOUT_SECONDS = 10.0
# Files this process has checked for damage and migrated (machine_database skips them).
_checked: set[Path] = set()
_checking = threading.Lock()


class SqliteDatabase:
    """One SQLite file; each thread gets its own connection (sqlite3 objects are not shared)."""

    dialect = "sqlite"

    def __init__(self, path: Path, *, checked: bool = False) -> None:
        """``checked``: this process already checked and migrated the file (skip it)."""
        self.path = Path(path)
        self._threads: ThreadConnections[sqlite3.Connection] = ThreadConnections(self._open)
        self.read_only = False  # True while the disk is full: reads work, writes are refused
        if checked:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = self.connect()
            self._refuse_damage(connection)  # before the migrations could write into it
            if self._migrate(connection):
                self._refuse_damage(connection)
            _checked.add(self.path)
        except BaseException as error:
            self.close()
            if not isinstance(error, OSError | sqlite3.DatabaseError):
                raise
            if is_disk_full(error) or is_out_of_room(self.path.parent):
                if self._open_read_only():
                    return
                raise disk_full_error(self.path.parent) from error
            if is_damage(error):
                raise damaged_error(self.path, str(error)) from error
            raise InfrastructureError(
                f"Cannot open the database {self.path} ({error}); check that the folder is "
                "writable and the file is a Dockyard database, or set DOCKYARD_HOME elsewhere."
            ) from error

    def _open_read_only(self) -> bool:
        """On a full disk SQLite cannot make its WAL index: read the file as it is."""
        if not self.path.exists():
            return False
        self.read_only = True
        try:
            self._refuse_damage(self.connect())
        except BaseException as error:
            self.close()
            self.read_only = False
            if isinstance(error, sqlite3.Error):
                return False
            raise  # damaged as well: say that
        return True

    def connect(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        return self._threads.get()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on error; nests via savepoints.

        IMMEDIATE takes the write lock up front, so a read-then-write (the next audit
        sequence number, the pending request to supersede) cannot race another writer.
        """
        if self.read_only:
            raise disk_full_error(self.path.parent)
        connection = self.connect()
        if connection.in_transaction:
            connection.execute("SAVEPOINT nested")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK TO nested")
                connection.execute("RELEASE nested")
                raise
            connection.execute("RELEASE nested")
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def release(self) -> None:
        """Close this thread's connection; worker threads call it before they end."""
        self._threads.release()

    def close(self) -> None:
        """Close every connection (at shutdown, when no thread uses the database any more)."""
        self._threads.close_all()

    def open_private(self, purpose: str = "") -> sqlite3.Connection:
        """A connection of the caller's own, not shared with this thread's (the caller
        closes it); a file has no one to tell its ``purpose``."""
        return self._open()

    def change_marker(self, private: SqlConnection) -> object:
        # SQLite bumps data_version whenever another connection commits.
        return int(private.execute("PRAGMA data_version").fetchone()[0])

    @property
    def schema_version(self) -> int:
        return int(self.connect().execute("PRAGMA user_version").fetchone()[0])

    def _open(self) -> sqlite3.Connection:
        if self.read_only:
            return _open_read_only(self.path)
        # isolation_level=None: transactions are explicit (see transaction()), never implicit.
        connection = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=False,  # only so close() can run at shutdown from any thread
        )
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        _enable_wal(connection)
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        return connection

    def _refuse_damage(self, connection: sqlite3.Connection) -> None:
        damage = damage_of(connection)
        if damage:
            raise damaged_error(self.path, damage)

    def _migrate(self, connection: sqlite3.Connection) -> bool:
        """Apply the migrations the file lacks; whether it lacked any. An unchanged file
        needs no second damage check: quick_check reads every page (~30 ms at 30 MB)."""
        newest = len(MIGRATIONS)
        if int(connection.execute("PRAGMA user_version").fetchone()[0]) == newest:
            return False  # a file's schema only moves forward
        migrated = False
        for version, script in enumerate(MIGRATIONS, start=1):
            with self.transaction():
                # Read inside the write lock: another process may have migrated meanwhile.
                current = int(connection.execute("PRAGMA user_version").fetchone()[0])
                if current > newest:
                    raise InfrastructureError(
                        f"The database {self.path} was written by a newer Dockyard (schema "
                        f"{current}, this one knows {newest}); update Dockyard."
                    )
                if current >= version:
                    continue
                for statement in split_statements(script):
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {version}")
                migrated = True
        return migrated


def split_statements(script: str) -> Iterator[str]:
    """Statements of ``script`` one by one (``executescript`` would commit mid-transaction)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                yield pending.strip()
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in migration: {pending.strip()[:60]}")


def open_database(home: Path) -> SqliteDatabase:
    """The database of a Dockyard home folder (``DOCKYARD_HOME``)."""
    return SqliteDatabase(Path(home) / DATABASE_FILE)


@contextmanager
def machine_database(home: Path) -> Iterator[SqliteDatabase]:
    """``home``'s local database for one short use, whichever ledger the home works on:
    this machine's settings live there (store/machine.py). The file is checked and
    migrated on its first use in a process, as ``open_database`` does; after that a use
    costs one connection, so looking up an endpoint per environment stays cheap."""
    path = Path(home) / DATABASE_FILE
    with _checking:
        db = SqliteDatabase(path, checked=path in _checked and path.exists())
    try:
        yield db
    finally:
        db.close()


def _open_read_only(path: Path) -> sqlite3.Connection:
    """Read-only; ``immutable`` when SQLite cannot even make the WAL index (a full disk)."""
    for options in ("mode=ro", "mode=ro&immutable=1"):
        uri = f"{path.resolve().as_uri()}?{options}"
        connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            connection.close()
            continue
        connection.row_factory = sqlite3.Row
        return connection
    raise sqlite3.OperationalError(f"cannot read {path}")


def _enable_wal(connection: sqlite3.Connection) -> None:
    # Switching a new file to WAL needs an exclusive lock and SQLite does not call the busy
    # handler for it: two processes opening a fresh database at once must retry.
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
