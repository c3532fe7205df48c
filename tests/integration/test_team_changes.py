"""Another machine's commit wakes this one at once: the team ledger's LISTEN connection
(``engine.team_changes``), also across the server stopping and starting again (issue 10,
item 5). Real PostgreSQL; the other machine is a connection of another member."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dockyard.engine.ledger_source import DeferredLedger
from dockyard.engine.team_changes import TeamChangeListener
from dockyard.store.pg import PgDatabase
from dockyard.store.repositories import RepositoryStore
from testbed.postgres import PostgresServer
from testbed.teamdb import TeamDatabase, team_database

pytestmark = [pytest.mark.postgres, pytest.mark.keyring]


class Wakeups:
    """Counts the listener's calls; ``after(n)`` waits for the call after the n-th."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def __call__(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def after(self, seen: int, within: float) -> float:
        """Seconds until a call after the ``seen``-th came; fails after ``within``."""
        began = time.monotonic()
        with self._changed:
            assert self._changed.wait_for(lambda: self.count > seen, timeout=within), (
                f"no wakeup within {within} s"
            )
        return time.monotonic() - began


@pytest.fixture
def team(stoppable_postgres_server: PostgresServer) -> Iterator[TeamDatabase]:
    with team_database(stoppable_postgres_server) as made:
        yield made


def _other_machine(team: TeamDatabase) -> PgDatabase:
    dsn = team.server.dsn(
        user=team.developer, password=team.password(team.developer), dbname=team.name
    )
    return PgDatabase(lambda: psycopg.connect(dsn), "developer")


def test_a_commit_elsewhere_wakes_the_listener_at_once_also_after_an_outage(
    tmp_path: Path, team: TeamDatabase
) -> None:
    team.connect_home(tmp_path, team.release_manager)
    ledger = DeferredLedger(tmp_path)
    wakeups = Wakeups()
    listener = TeamChangeListener(ledger, wakeups)
    listener.start()
    other = _other_machine(team)
    try:
        deadline = time.monotonic() + 30
        while not _listening(team):  # it connects in its own thread
            assert time.monotonic() < deadline, "the listener never listened"
            time.sleep(0.05)
        assert wakeups.count == 0  # nothing changed yet: nobody is woken for nothing
        RepositoryStore(other).add("https://git.example.test/team/web.git")
        assert wakeups.after(0, within=2) < 1.0

        # The server goes away: the listener says so (the look then reports it) and
        # keeps trying; when it is back it says so once more and listens again.
        seen = wakeups.count
        team.server.go_away()
        wakeups.after(seen, within=30)
        team.server.come_back()
        deadline = time.monotonic() + 30
        while not _listening(team):
            assert time.monotonic() < deadline, "the listener never listened again"
            time.sleep(0.05)
        other.close()  # its connections went with the server
        seen = wakeups.count
        RepositoryStore(other).add("https://git.example.test/team/api.git")
        assert wakeups.after(seen, within=2) < 1.0
    finally:
        listener.stop()
        other.close()
        ledger.close()


def _listening(team: TeamDatabase) -> bool:
    try:
        with team.admin() as admin:
            row = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND usename = %s"
                " AND query LIKE 'LISTEN%%'",
                (team.name, team.release_manager),
            ).fetchone()
    except psycopg.OperationalError:
        return False  # the server is still starting
    return bool(row and row[0])


def test_only_a_statement_that_changes_rows_notifies(team: TeamDatabase) -> None:
    # A read that expires what is due (usually nothing) must not wake every window, whose
    # reads would wake this one again: reads without end.
    other = _other_machine(team)
    with team.admin() as listening:
        listening.execute("LISTEN dockyard_changes")
        try:
            other.connect().execute(
                "UPDATE approval_requests SET status = 'expired' WHERE status = 'pending'"
                " AND expires < '2000-01-01'"
            )
            assert list(listening.notifies(timeout=0.5)) == []
            with other.transaction() as connection:
                for name in ("web", "api"):
                    connection.execute(
                        "INSERT INTO repositories (name, location, added) VALUES (?, ?, ?)",
                        (name, f"https://git.example.test/{name}.git", "2026-01-01T00:00:00Z"),
                    )
            told = list(listening.notifies(timeout=30, stop_after=1))  # as soon as it comes
            told += list(listening.notifies(timeout=0.3))
            assert [n.payload for n in told] == ["repositories"]  # one per table and commit
        finally:
            other.close()
