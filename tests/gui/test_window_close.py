"""Closing the window while its background work is on the way ends that work quietly.

The window starts reading at once (repositories, git polls of watched repositories, the
daemons, the store). Closed within a second, it used to print ``RuntimeError: Signal
source has been deleted`` tracebacks: tasks still running reported to Qt objects the
application had already destroyed.

Nor does the process live on once its window closed, waiting for an endpoint that never
answers to time out. A closed window also lets go of its ledger: its connections (in team
mode, sessions on the server) close once its tasks have ended, not when the process ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from tests.gui.helpers import open_window, team_window

from dockyard.engine.endpoints.registry import Endpoint, EndpointRegistry
from dockyard.store.database import open_database
from dockyard.store.repositories import RepositoryStore
from dockyard.ui import messages
from dockyard.ui.mainwindow import MainWindow
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
from testbed.slowdaemon import SilentServer
from testbed.teamdb import TeamDatabase

pytestmark = pytest.mark.gui

# The real start-up (``dockyard`` with no arguments), with the window closed DELAY ms after
# it is shown: at once, the way a user closes a window opened by mistake, or once it has
# started talking to the Docker endpoints. It says when it closed the window.
CLOSE_AFTER = """
import sys, time
from PySide6.QtCore import QTimer
from dockyard.ui import app, mainwindow

shown = mainwindow.MainWindow.show

def close(window):
    print(f"closed at {time.monotonic()}", file=sys.stderr, flush=True)
    window.close()

def show_then_close(window):
    shown(window)
    QTimer.singleShot(DELAY, lambda: close(window))

mainwindow.MainWindow.show = show_then_close
sys.exit(app.run_window([]))
"""
# An endpoint that never answers is given up after 10 s (CONNECT_TIMEOUT); a process that
# waits for nothing ends within a second or two of its window closing, even when loaded.
ENDS_AFTER_CLOSE_S = 5.0


def _start_and_close(delay_ms: int) -> tuple[subprocess.CompletedProcess[str], float]:
    """Dockyard's window, closed ``delay_ms`` after it showed; how long the process lived
    on after that."""
    finished = subprocess.run(
        [sys.executable, "-c", CLOSE_AFTER.replace("DELAY", str(delay_ms))],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=60,  # nothing left hanging: the process ends on its own
    )
    ended = time.monotonic()
    assert "closed at " in finished.stderr, finished.stderr  # it showed, and was closed
    closed = float(finished.stderr.split("closed at ", 1)[1].split()[0])
    return finished, ended - closed


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
    finished, _lived_on = _start_and_close(0)
    stderr = finished.stderr
    assert finished.returncode == 0, stderr
    for sign in ("Traceback", "RuntimeError", "Signal source has been deleted", "ERROR"):
        assert sign not in stderr, stderr


def test_an_endpoint_that_never_answers_does_not_keep_dockyard_running_once_closed(
    docker_daemon: PrivateDaemon, dockyard_home: Path
) -> None:
    silent = SilentServer()
    try:
        EndpointRegistry(dockyard_home).add(Endpoint(name="hung", url=silent.url))
        finished, lived_on = _start_and_close(3000)
        connections = len(silent.connections)
    finally:
        silent.close()
    assert finished.returncode == 0, finished.stderr
    assert "Traceback" not in finished.stderr, finished.stderr
    assert connections >= 2  # its badge and its event stream were waiting on "hung"
    assert lived_on < ENDS_AFTER_CLOSE_S, f"Dockyard ended {lived_on:.1f} s after its window"


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
    qtbot.waitUntil(lambda: _sessions(team, team.developer) >= 3, timeout=30_000)

    window.close()

    qtbot.waitUntil(lambda: _sessions(team, team.developer) == 0, timeout=30_000)


def test_a_closed_window_closes_its_local_ledger(
    qtbot: QtBot, dockyard_home: Path, tmp_path: Path
) -> None:
    _watched_repositories(dockyard_home, tmp_path, 1)
    window = open_window(qtbot)
    wal = dockyard_home / "dockyard.db-wal"
    assert wal.exists()  # SQLite keeps it while a connection is open

    window.close()

    # The last connection to close checkpoints the log into the database and removes it.
    qtbot.waitUntil(lambda: not wal.exists(), timeout=30_000)
