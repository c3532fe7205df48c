"""Closing the window while its background work is on the way ends that work quietly.

The window starts reading at once (repositories, git polls of watched repositories, the
daemons, the store). Closed within a second, it used to print ``RuntimeError: Signal
source has been deleted`` tracebacks: tasks still running reported to Qt objects the
application had already destroyed.

A closed window also lets go of its ledger: its connections (in team mode, sessions on
the server) close once its tasks have ended, not when the process ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from tests.gui.helpers import open_window, team_window

from dockyard.store.database import open_database
from dockyard.store.repositories import RepositoryStore
from dockyard.ui import messages
from dockyard.ui.mainwindow import MainWindow
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
from testbed.teamdb import TeamDatabase

pytestmark = pytest.mark.gui

# The real start-up (``dockyard`` with no arguments), with the window closed as soon as it
# is shown, the way a user closes a window opened by mistake.
CLOSE_AT_ONCE = """
import sys
from PySide6.QtCore import QTimer
from dockyard.ui import app, mainwindow

shown = mainwindow.MainWindow.show

def show_then_close(window):
    shown(window)
    QTimer.singleShot(0, window.close)

mainwindow.MainWindow.show = show_then_close
sys.exit(app.run_window([]))
"""


def _watched_repositories(home: Path, tmp_path: Path, count: int) -> None:
    db = open_database(home)
    try:
        store = RepositoryStore(db)
        for number in range(count):
            repo = make_app_repo(tmp_path / f"app{number}")
            store.set_watch(store.add(str(repo.path)).id, True)
    finally:
        db.close()


def test_closing_the_window_at_once_prints_no_traceback_and_exits(
    docker_daemon: PrivateDaemon, dockyard_home: Path, tmp_path: Path
) -> None:
    _watched_repositories(dockyard_home, tmp_path, 3)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    finished = subprocess.run(
        [sys.executable, "-c", CLOSE_AT_ONCE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # nothing left hanging: the process ends on its own
    )
    stderr = finished.stderr
    assert finished.returncode == 0, stderr
    for sign in ("Traceback", "RuntimeError", "Signal source has been deleted", "ERROR"):
        assert sign not in stderr, stderr


def test_a_closed_window_hears_nothing_from_a_task_still_running(
    qtbot: QtBot, dockyard_home: Path, tmp_path: Path
) -> None:
    _watched_repositories(dockyard_home, tmp_path, 1)
    errors: list[str] = []
    messages.bus.error.connect(lambda message, _details: errors.append(message))
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    release = threading.Event()
    answered: list[str] = []

    def slow_read() -> str:
        release.wait(30)
        raise RuntimeError("read after the window closed")

    window.tasks.submit(
        slow_read,
        on_result=answered.append,
        on_error=lambda message, _details: answered.append(message),
    )
    window.close()
    release.set()

    assert window.tasks.wait(30_000), "tasks still running 30 s after the window closed"
    qtbot.wait(200)  # whatever the tasks posted back has been delivered by now
    assert answered == []
    assert errors == []
    assert window.tasks.active == 0


def _sessions(team: TeamDatabase, member: str) -> int:
    with team.admin() as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND usename = %s",
            (team.name, member),
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.postgres
def test_a_closed_team_window_leaves_no_session_on_the_server(
    qtbot: QtBot, tmp_path: Path, team: TeamDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("DOCKYARD_HOME", str(home))
    team.connect_home(home, team.developer)
    window = team_window(qtbot, home)
    qtbot.waitUntil(lambda: window.repositories.loaded, timeout=20_000)
    # Its reads, its look at the change marker and its notification listener are sessions.
    qtbot.waitUntil(lambda: _sessions(team, team.developer) >= 3, timeout=10_000)

    window.close()

    qtbot.waitUntil(lambda: _sessions(team, team.developer) == 0, timeout=10_000)


def test_a_closed_window_closes_its_local_ledger(
    qtbot: QtBot, dockyard_home: Path, tmp_path: Path
) -> None:
    _watched_repositories(dockyard_home, tmp_path, 1)
    window = open_window(qtbot)
    wal = dockyard_home / "dockyard.db-wal"
    assert wal.exists()  # SQLite keeps it while a connection is open

    window.close()

    # The last connection to close checkpoints the log into the database and removes it.
    qtbot.waitUntil(lambda: not wal.exists(), timeout=10_000)
