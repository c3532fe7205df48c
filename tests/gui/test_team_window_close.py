"""A team window closed while its server is away leaves no session behind once the server
is back, even if its change listener was about to try again when the window closed.

The listener retries every second while the server is away. Closing the window stops it
and, once the window's tasks have ended, closes the ledger; a try that began just before
(the listener past its "am I stopped?" check, the scheduler running the window's close
first) used to open the ledger anew after it was closed: a session left on the team
server for as long as the process lives. The test holds the listener at that point with
a wrapper around the ledger's ``opened`` (the one step of the interleaving the scheduler
would otherwise choose) and lets it go once the window is closed and the server is back.
Real window (offscreen), real PostgreSQL stopped and started again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named

from dockyard.engine.team_changes import RETRY_SECONDS
from dockyard.store.database import Database
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
    team.connect_home(home, team.developer)
    monkeypatch.setenv("DOCKYARD_HOME", str(home))
    errors: list[str] = []
    messages.bus.error.connect(lambda message, _details: errors.append(message))
    window = MainWindow(home=home)
    qtbot.addWidget(window)
    window.show()
    ledger = named(window, QLabel, "Ledger")
    qtbot.waitUntil(lambda: ": reachable" in ledger.text(), timeout=20_000)
    # Its reads, its look at the ledger and its listener, each named for what it does.
    named_for = {"dockyard window", "dockyard window (watching)", "dockyard window (listening)"}
    qtbot.waitUntil(lambda: set(_window_sessions(team)) == named_for, timeout=10_000)

    team.server.go_away()
    qtbot.waitUntil(lambda: ": unreachable" in ledger.text(), timeout=20_000)
    held = HeldListener(window, monkeypatch)
    assert held.reached.wait(10), "the listener never tried again"
    caplog.set_level(logging.INFO, logger="dockyard")
    caplog.clear()

    window.close()
    assert held.closed.wait(10), "the window never closed its ledger"
    team.server.come_back()
    held.let_go()
    qtbot.wait(int(3 * RETRY_SECONDS * 1000))  # past the listener's next tries

    assert _window_sessions(team) == []
    assert held.listener is not None and not held.listener.is_alive(), "the listener lives on"
    # Quietly: no error for a window that is gone, no traceback in the log.
    assert errors == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not any(r.exc_info for r in caplog.records)
