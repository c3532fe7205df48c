"""A team window closed while its server is away leaves no session behind once the server
is back, even if its change listener was about to try again when the window closed.

The listener retries every second while the server is away. Closing the window stops it
and, once the window's tasks have ended, closes the ledger; a try that began just before
(the listener past its "am I stopped?" check, the scheduler running the window's close
first) used to open the ledger anew after it was closed: a session left on the team
server for as long as the process lives. The test holds the listener at that point with
a wrapper around the ledger's ``opened`` (the one step of the interleaving the scheduler
would otherwise choose) and lets it go once the window is closed and the server is back.
A deployment under way when the window closes is not the window's to cut: its lock's
session stays until it ends. Real window (offscreen), real PostgreSQL stopped and started.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named, team_window

from dockyard.engine.team_changes import RETRY_SECONDS
from dockyard.store.database import Database
from dockyard.store.ledger import SqliteReleaseLedger
from dockyard.ui import messages
from dockyard.ui.mainwindow import MainWindow
from testbed.postgres import PostgresServer
from testbed.teamdb import TeamDatabase, team_database

pytestmark = [pytest.mark.gui, pytest.mark.postgres, pytest.mark.keyring]

LISTENER = "team-changes"  # the listener thread's name


@pytest.fixture
def team(stoppable_postgres_server: PostgresServer) -> Iterator[TeamDatabase]:
    with team_database(stoppable_postgres_server) as made:
        yield made


def _window_sessions(team: TeamDatabase) -> list[str]:
    """The window's sessions on the server, by the names an admin sees."""
    with team.admin() as admin:
        rows = admin.execute(
            "SELECT application_name FROM pg_stat_activity WHERE datname = %s"
            " AND usename = %s AND application_name LIKE 'dockyard window%%'",
            (team.name, team.developer),
        ).fetchall()
    return sorted(str(row[0]) for row in rows)


class HeldListener:
    """Holds the listener's next try at the ledger (``opened``) until ``let_go``."""

    def __init__(self, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reached = threading.Event()
        self.listener: threading.Thread | None = None
        self._go = threading.Event()
        self.closed = threading.Event()
        db = window.db
        opened, close = db.opened, db.close

        def held_opened() -> Database:
            if threading.current_thread().name == LISTENER and not self._go.is_set():
                self.listener = threading.current_thread()
                self.reached.set()
                self._go.wait(30)
            return opened()

        def noted_close() -> None:
            close()
            self.closed.set()

        monkeypatch.setattr(db, "opened", held_opened)
        monkeypatch.setattr(db, "close", noted_close)

    def let_go(self) -> None:
        self._go.set()


def test_a_team_window_closed_while_its_listener_retries_leaves_no_session(
    qtbot: QtBot,
    tmp_path: Path,
    team: TeamDatabase,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("DOCKYARD_HOME", str(home))
    errors: list[str] = []
    messages.bus.error.connect(lambda message, _details: errors.append(message))
    team.connect_home(home, team.developer)
    window = team_window(qtbot, home)
    ledger = named(window, QLabel, "Ledger")
    # Its reads, its look at the ledger and its listener, each named for what it does.
    named_for = {"dockyard window", "dockyard window (watching)", "dockyard window (listening)"}
    qtbot.waitUntil(lambda: set(_window_sessions(team)) == named_for, timeout=30_000)

    team.server.go_away()
    qtbot.waitUntil(lambda: ": unreachable" in ledger.text(), timeout=20_000)
    held = HeldListener(window, monkeypatch)
    assert held.reached.wait(30), "the listener never tried again"
    caplog.set_level(logging.INFO, logger="dockyard")
    caplog.clear()

    window.close()
    assert held.closed.wait(30), "the window never closed its ledger"
    team.server.come_back()
    held.let_go()
    qtbot.wait(int(3 * RETRY_SECONDS * 1000))  # past the listener's next tries

    assert _window_sessions(team) == []
    assert held.listener is not None and not held.listener.is_alive(), "the listener lives on"
    # Quietly: no error for a window that is gone, no traceback in the log.
    assert errors == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not any(r.exc_info for r in caplog.records)


def _locks(team: TeamDatabase) -> int:
    with team.admin() as admin:
        row = admin.execute("SELECT count(*) FROM dockyard.deployment_locks").fetchone()
    return int(row[0]) if row else 0


def test_a_deployment_under_way_keeps_its_lock_when_its_window_closes(
    qtbot: QtBot, tmp_path: Path, team: TeamDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("DOCKYARD_HOME", str(home))
    team.connect_home(home, team.developer)
    window = team_window(qtbot, home)
    deploying, finish = threading.Event(), threading.Event()

    def deployment() -> None:
        """What an approval's deployment does with the window's ledger, in its task."""
        releases = SqliteReleaseLedger(window.db)
        lock, _holder = releases.try_lock_environment(
            "https://git.example.test/web.git", "staging", what="v1.0.0", taken_by=team.developer
        )
        assert lock is not None
        deploying.set()
        finish.wait(30)
        releases.unlock_environment(lock)

    window.tasks.submit(deployment)
    assert deploying.wait(30)

    window.close()
    qtbot.waitUntil(
        lambda: "dockyard window (listening)" not in _window_sessions(team), timeout=30_000
    )
    # The window's close waits for the deployment: its lock holds the environment still.
    assert "dockyard window (deployment lock)" in _window_sessions(team)
    assert _locks(team) == 1
    finish.set()
    qtbot.waitUntil(lambda: _window_sessions(team) == [], timeout=30_000)
    assert _locks(team) == 0
