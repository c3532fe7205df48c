"""Which ledger a command or the window works on: the local SQLite file, or the team's.

A home connected with ``dockyard team connect`` keeps the team server in ``team.json``;
then every command reads and writes the team ledger, and who acts is the role the server
authenticated, never ``DOCKYARD_USER``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dockyard.core.errors import (
    DockyardError,
    InfrastructureError,
    LedgerClosed,
    LedgerUnreachable,
    UserInputError,
)
from dockyard.core.locations import is_url, normalise_location
from dockyard.engine.home import TEAM_SETTINGS_FILE, current_identity
from dockyard.store import pg_versions
from dockyard.store.database import Database, open_database
from dockyard.store.sql import SqlConnection


def in_team_mode(home: Path) -> bool:
    return (home / TEAM_SETTINGS_FILE).exists()


def open_ledger(home: Path, role: str = "", *, light_reads: bool = False) -> Database:
    """The team ledger when ``home`` is connected to one, else the local database.
    ``role`` ("window", "run") names this process's sessions on the team server;
    ``light_reads``: its reads through the light client (store/pg_wire.py), psycopg only
    for the rest (writes, listening), for a command that only reads (status, runs)."""
    if not in_team_mode(home):
        return open_database(home)
    global _opening
    opening, _opening = _opening, None
    if opening is not None and (opening.home, opening.role) == (home, role):
        return opening.result()
    return _team_opener(light_reads)(home, role)


def _team_opener(light_reads: bool) -> Callable[[Path, str], Database]:
    """How to open the team ledger; psycopg is imported on the calling thread unless its
    reads go through the light client (psycopg then comes with the first write, if any)."""
    from dockyard.engine.team import open_team_ledger, open_team_reader

    if light_reads:
        return open_team_reader
    pg_versions.preset()
    importlib.import_module("psycopg")  # ~75 ms: only team mode pays for it
    return open_team_ledger


class _Opening:
    """The team ledger being opened on a thread of its own; ``result`` waits for it."""

    def __init__(self, home: Path, role: str, light_reads: bool) -> None:
        opener = _team_opener(light_reads)
        self.home, self.role = home, role
        self._ledger: Database | None = None
        self._failure: Exception | None = None

        def run() -> None:
            try:
                self._ledger = opener(home, role)
            except Exception as exc:  # noqa: BLE001 - raised where the command opens the ledger
                self._failure = exc

        self._thread = threading.Thread(target=run, name="dockyard-team-ledger", daemon=True)
        self._thread.start()

    def result(self) -> Database:
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        assert self._ledger is not None
        return self._ledger


_opening: _Opening | None = None


def open_ledger_soon(home: Path, role: str = "", *, light_reads: bool = False) -> None:
    """Start opening ``home``'s team ledger in the background; ``open_ledger`` takes it.

    A command calls this before it imports its own modules: the keyring read, the login
    and the schema check then wait on D-Bus and the server while those modules load
    (psycopg itself, unless its reads go through the light client, is imported here, on
    the calling thread). Nothing for a local ledger.
    """
    global _opening
    if in_team_mode(home) and _opening is None:
        _opening = _Opening(home, role, light_reads)


class DeferredLedger:
    """The window's ledger: a ``Database`` that opens the team ledger on first use, in
    whichever worker needs it first (a team server is a network connection away, and the
    UI thread must not wait on it), and again after it could not be reached.

    The local ledger opens at once, as before (a damaged file stops the window with its
    sentence). ``switch`` follows the home after ``dockyard team connect``/``disconnect``.
    ``close`` is final: afterwards nothing opens a connection through it (``LedgerClosed``),
    and one that was being made meanwhile is closed as soon as it is made, so a closed
    window leaves no session on the team server even while a worker or the change listener
    was reconnecting.
    """

    RETRY_AFTER_SECONDS = 2.0  # a failed connection is not retried by every waiting read

    def __init__(self, home: Path) -> None:
        self.home = home
        self._lock = threading.Lock()  # the state below; never held while connecting
        self._opening = threading.Lock()  # one connection attempt at a time
        self._inner: Database | None = None
        self._failure: tuple[float, LedgerUnreachable] | None = None
        self._closed = False
        self.team = in_team_mode(home)
        self.dialect = "postgres" if self.team else "sqlite"
        if not self.team:
            self._inner = open_database(home)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def read_only(self) -> bool:
        return self._inner.read_only if self._inner is not None else False

    @read_only.setter
    def read_only(self, value: bool) -> None:
        if self._inner is not None:
            self._inner.read_only = value

    @property
    def identity(self) -> str | None:
        """Who the team server says this login is; None before it was reached."""
        said = getattr(self._inner, "identity", None)
        return said if isinstance(said, str) else None

    @property
    def label(self) -> str:
        return str(getattr(self._inner, "label", "") or "")

    def opened(self) -> Database:
        """The ledger, connected now if it was not (in a worker: this may wait on the
        network); raises ``LedgerUnreachable`` with the server's sentence (also for a
        refused login or a schema this client does not know), ``LedgerClosed`` once closed."""
        with self._lock:
            if self._closed:
                raise _closed()
            if self._inner is not None:
                return self._inner
        with self._opening:
            with self._lock:
                if self._closed:
                    raise _closed()
                if self._inner is not None:
                    return self._inner  # another worker opened it meanwhile
                if self._failure is not None:
                    failed_at, failure = self._failure
                    if time.monotonic() - failed_at < self.RETRY_AFTER_SECONDS:
                        raise failure
            made = self._open_inner()
            with self._lock:
                if not self._closed:
                    self._inner, self._failure = made, None
                    return made
            _quietly_close(made)  # closed while it connected: it serves no one
            raise _closed()

    def _open_inner(self) -> Database:
        try:
            # psycopg for all of it: the window listens from its start, so it imports
            # psycopg at once anyway; the light client's reads beside it gained nothing
            # measurable (bench_team_status).
            return open_ledger(self.home, "window")
        except DockyardError as exc:
            if not self.team:
                raise  # the local file's own sentence (a damaged database, a full disk)
            # A refused login or a schema this client does not know: the window cannot
            # use the team ledger either; it says so once, like an outage.
            failure = exc if isinstance(exc, LedgerUnreachable) else LedgerUnreachable(exc.message)
            with self._lock:
                self._failure = (time.monotonic(), failure)
            if failure is exc:
                raise
            raise failure from exc

    def _unless_closed(self, ledger: Database) -> None:
        """After a connection was made through ``ledger``: if the ledger was closed
        meanwhile, close everything ``ledger`` holds again (the new connection too)."""
        if self._closed:
            _quietly_close(ledger)
            raise _closed()

    def connect(self) -> SqlConnection:
        ledger = self.opened()
        connection = ledger.connect()
        self._unless_closed(ledger)
        return connection

    @contextmanager
    def transaction(self) -> Iterator[SqlConnection]:
        ledger = self.opened()
        try:
            with ledger.transaction() as connection:
                yield connection
        finally:
            self._unless_closed(ledger)

    def open_private(self, purpose: str = "") -> SqlConnection:
        """A connection of the caller's own; the caller closes it (also one opened just
        before ``close``), except one made while ``close`` ran, which is closed here."""
        connection = self.opened().open_private(purpose)
        with self._lock:
            if not self._closed:
                return connection
        _quietly_close(connection)
        raise _closed()

    def change_marker(self, private: SqlConnection) -> object:
        return self.opened().change_marker(private)

    def release(self) -> None:
        if self._inner is not None:
            self._inner.release()

    def close(self) -> None:
        """Close every connection and open none any more (the window closed)."""
        with self._lock:
            self._closed = True
            inner, self._inner = self._inner, None
        if inner is not None:
            inner.close()

    def switch(self) -> Database | None:
        """After the home was connected to a team ledger or disconnected: the next use
        opens whichever ledger the home now names. Returns the ledger let go of (None if
        none was open): the caller closes it once no thread uses it any more."""
        with self._lock:
            inner, self._inner = self._inner, None
            self._failure = None
            self.team = in_team_mode(self.home)
            self.dialect = "postgres" if self.team else "sqlite"
        return inner


def _closed() -> LedgerClosed:
    return LedgerClosed("The window closed its ledger; nothing more is read or written there.")


def _quietly_close(closable: Database | SqlConnection) -> None:
    # A connection that broke (the server went away) may fail to close; it is gone anyway.
    with contextlib.suppress(Exception):
        closable.close()


@dataclass(frozen=True)
class LedgerInfo:
    """What the window's status bar says about the ledger it works on."""

    team: bool
    where: str  # "local", or the team server as "user@host:port/database"
    identity: str  # who the team server says you are; "" for the local ledger


def reach_ledger(db: DeferredLedger) -> LedgerInfo:
    """In a worker: the ledger opened (connected), and where it is."""
    db.connect().execute("SELECT 1")  # a connection the server closed shows here
    if not db.team:
        return LedgerInfo(False, "local", "")
    return LedgerInfo(True, db.label, db.identity or "")


def acting_identity(db: Database) -> str:
    """Who acts: the team server's word for the logged-in role, else ``DOCKYARD_USER``,
    git's user.email or the OS login (``current_identity``)."""
    server_says = getattr(db, "identity", None)
    if db.dialect == "postgres" and isinstance(server_says, str):
        return server_says
    return current_identity()


def ignored_user_note(db: Database) -> str | None:
    """The sentence for someone who set ``DOCKYARD_USER`` in team mode, else None."""
    typed = os.environ.get("DOCKYARD_USER", "").strip()
    if db.dialect != "postgres" or not typed:
        return None
    who = acting_identity(db)
    if typed.lower() == who.lower():
        return None
    return f"DOCKYARD_USER={typed} is ignored in team mode: the team server knows you as {who}."


def shared_location(location: str) -> str:
    """In team mode a clone is known by its ``origin`` URL, so that the developer's clone
    and the release manager's clone meet in the ledger. A URL stays as it is."""
    if is_url(location):
        return location
    clone = Path(location)
    try:
        found = subprocess.run(
            ["git", "-C", str(clone), "config", "--get", "remote.origin.url"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InfrastructureError(f"Cannot run git to read the origin of {clone} ({exc}).") from exc
    origin = found.stdout.strip()
    if not origin:
        raise UserInputError(
            f"{clone} has no remote 'origin'; in team mode repositories are shared by their "
            "origin URL: add one (git remote add origin URL) or use the local ledger "
            "(dockyard team disconnect)."
        )
    if is_url(origin) or origin.startswith("/"):
        return normalise_location(origin)
    return normalise_location(str(clone / origin))  # a path relative to the clone
