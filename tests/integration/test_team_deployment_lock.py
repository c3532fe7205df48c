"""The team ledger's deployment lock follows the holder's database session (issue 10).

A desktop deploying to an environment holds it for as long as its session lives: a live
one still makes every other wait, and one that crashed — even on another machine, where
no process can be checked — frees the environment at once, as does a session the server
ended. Real PostgreSQL; the holder is a process of its own standing for another desktop.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dockyard.store.ledger import DeploymentLock, SqliteReleaseLedger
from dockyard.store.pg import PgDatabase
from testbed.teamdb import TeamDatabase

pytestmark = pytest.mark.postgres

DESKTOP = Path(__file__).resolve().parents[2] / "desktop"
# Another desktop, on another machine (its host name says so: its process cannot be
# checked from here), takes the production lock and deploys until it is stopped.
HOLDER = textwrap.dedent(
    """
    import socket, sys
    socket.gethostname = lambda: "desktop-b.example.test"
    import psycopg
    from dockyard.store.ledger import SqliteReleaseLedger
    from dockyard.store.pg import PgDatabase
    dsn = sys.argv[1]
    db = PgDatabase(lambda: psycopg.connect(dsn), "holder")
    lock, _ = SqliteReleaseLedger(db).try_lock_environment(
        "web", "production", what="v2.0.0", taken_by="holder"
    )
    print("held" if lock is not None else "busy", flush=True)
    sys.stdin.read()  # deploying, until the test ends it
    """
)


def _dsn(team: TeamDatabase, member: str) -> str:
    return team.server.dsn(user=member, password=team.password(member), dbname=team.name)


@pytest.fixture
def ledger(team: TeamDatabase) -> Iterator[SqliteReleaseLedger]:
    """The release manager's ledger on this desktop."""
    dsn = _dsn(team, team.release_manager)
    db = PgDatabase(lambda: psycopg.connect(dsn), "rm")
    yield SqliteReleaseLedger(db)
    db.close()


@pytest.fixture
def holder(team: TeamDatabase) -> Iterator[subprocess.Popen[str]]:
    """The other desktop, holding production's lock."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, _dsn(team, team.developer)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(DESKTOP)},
    )  # fmt: skip
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    yield process
    if process.poll() is None:
        process.kill()
    process.communicate()


def _take(ledger: SqliteReleaseLedger, within: float) -> DeploymentLock:
    """The lock, once it is free (polling as a waiting deployment does); fails after
    ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        lock, holder = ledger.try_lock_environment("web", "production", what="v3", taken_by="rm")
        if lock is not None:
            return lock
        assert time.monotonic() < deadline, f"still held by {holder}"
        time.sleep(0.1)


def test_a_live_desktop_holds_the_environment_and_a_killed_one_frees_it_at_once(
    ledger: SqliteReleaseLedger, holder: subprocess.Popen[str]
) -> None:
    for _ in range(3):  # while the holder lives, it holds
        lock, busy = ledger.try_lock_environment("web", "production", what="v3", taken_by="rm")
        assert lock is None and busy is not None
        assert (busy.what, busy.taken_by) == ("v2.0.0", "holder")
        time.sleep(0.3)
    held = ledger.environment_lock("web", "production")
    assert held is not None and held.what == "v2.0.0"
    other, _ = ledger.try_lock_environment("web", "staging", what="v3", taken_by="rm")
    assert other is not None  # another environment is not held up
    ledger.unlock_environment(other)

    holder.send_signal(signal.SIGKILL)  # the desktop crashes mid-deployment
    holder.wait(timeout=10)
    mine = _take(ledger, within=20)  # at once (a loaded server), not after 30 minutes
    assert ledger.environment_lock("web", "production") == mine
    ledger.unlock_environment(mine)
    assert ledger.environment_lock("web", "production") is None
    again = _take(ledger, within=0)  # released for the next one
    ledger.unlock_environment(again)


def test_a_session_the_server_ended_frees_the_environment(
    team: TeamDatabase, ledger: SqliteReleaseLedger, holder: subprocess.Popen[str]
) -> None:
    assert ledger.environment_lock("web", "production") is not None
    assert team.end_lock_session("web", "production") == [(True,)]
    mine = _take(ledger, within=20)
    assert holder.poll() is None  # its process still runs: only its session ended
    ledger.unlock_environment(mine)


@pytest.fixture
def idle_sessions_end(team: TeamDatabase) -> None:
    """A server that ends sessions idle for a second (``idle_session_timeout``, as managed
    servers often set), for the other desktop's connections made from now on."""
    with team.admin() as admin:
        admin.execute(
            f'ALTER ROLE "{team.developer}" IN DATABASE "{team.name}" '
            "SET idle_session_timeout = 1000"
        )


def test_a_server_ending_idle_sessions_does_not_free_an_environment_being_deployed(
    idle_sessions_end: None, ledger: SqliteReleaseLedger, holder: subprocess.Popen[str]
) -> None:
    time.sleep(2.5)  # the deployment runs on the daemon; its lock's session only waits
    lock, busy = ledger.try_lock_environment("web", "production", what="v3", taken_by="rm")
    assert lock is None and busy is not None and busy.taken_by == "holder"
    assert holder.poll() is None
