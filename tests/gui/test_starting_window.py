"""Dockyard's window paints at once: a starting window, at the place and size the main
window had, shows before the main window's modules (the engine, Docker's SDK, GitPython)
are imported; the main window then takes its place, and shows the selected repository's
runs before anything imports Docker's SDK, GitPython or the YAML reader (the workers that
talk to the daemons and watch repositories start once the runs are shown)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from dockyard.core.errors import InfrastructureError
from dockyard.core.model import Run, RunStatus, utcnow
from dockyard.store.database import open_database
from dockyard.store.repositories import RepositoryStore
from dockyard.store.runs import RunStore
from dockyard.ui import preferences
from dockyard.ui.app import open_window
from dockyard.ui.mainwindow import MainWindow
from dockyard.ui.starting import StartingWindow
from testbed.corruption import damage_a_page

pytestmark = pytest.mark.gui

# Started as ``dockyard`` starts the window (ui/app.py), in a process of its own so that
# nothing is imported yet: what was loaded, and which window, at the first paint.
_START = """
import json, sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

class FirstPaint(QObject):
    seen = None
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and self.seen is None:
            self.seen = {
                "window": watched.window().objectName(),
                "loaded": sorted({"docker", "git", "dockyard.ui.mainwindow"} & set(sys.modules)),
            }
        return False

app = QApplication([sys.argv[0]])
painted = FirstPaint()
app.installEventFilter(painted)
from dockyard.ui.app import open_window
window = open_window(app)
shown = sorted(w.objectName() for w in app.topLevelWidgets() if w.isVisible())
print(json.dumps({"first": painted.seen, "shown": shown}))
"""


def test_the_window_paints_before_the_engine_is_imported(dockyard_home: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", _START], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["first"] == {"window": "starting-window", "loaded": []}
    assert result["shown"] == ["main-window"]  # the starting window gave way


_RUNS_SHOWN = """
import json, sys, time
from PySide6.QtWidgets import QApplication
HEAVY = ("docker", "git", "requests", "ruamel")

def loaded():
    return sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))

def pump(until):
    deadline = time.monotonic() + 60
    while not until() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.001)

app = QApplication([sys.argv[0]])
from dockyard.ui.mainwindow import MainWindow
window = MainWindow()
window.show()
model = window.runs_view.model
at_runs = {}  # what was imported the moment the runs arrived
def arrived():
    if not at_runs:
        at_runs.update(rows=model.rowCount(), loaded=loaded())
model.rowsInserted.connect(arrived)
pump(lambda: at_runs)
pump(lambda: "local" in window.endpoint_status.labels)
badge = window.endpoint_status.labels.get("local")
print(json.dumps({"at_runs": at_runs, "badge": badge.text() if badge else None}))
"""


def test_the_runs_show_before_docker_and_git_are_imported(
    dockyard_home: Path, tmp_path: Path
) -> None:
    db = open_database(dockyard_home)
    location = RepositoryStore(db).add(str(tmp_path)).location
    RunStore(db).create(
        Run("20250101T000000-000001", location, "main", "a" * 40, RunStatus.SUCCEEDED, utcnow())
    )
    db.close()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DOCKER_HOST": "unix:///nonexistent.sock"}
    done = subprocess.run(
        [sys.executable, "-c", _RUNS_SHOWN], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["at_runs"] == {"rows": 1, "loaded": []}
    # Then the daemons are watched: the endpoint's badge says what it found.
    assert "local: unreachable" in result["badge"]


def test_the_starting_window_opens_where_the_main_window_was(
    qtbot: QtBot, dockyard_home: Path
) -> None:
    main = MainWindow()
    qtbot.addWidget(main)
    main.show()
    main.setGeometry(QRect(0, 0, 860, 600))
    qtbot.waitUntil(lambda: main.size() == QSize(860, 600))
    main.tasks.wait(10_000)
    main.close()  # saves its geometry
    starting = StartingWindow()
    qtbot.addWidget(starting)
    assert starting.height() == 600  # not its own 800: the saved one (the width is clamped
    # to the 800-pixel test screen)


def test_a_store_that_cannot_open_leaves_no_starting_window(
    qapp: QApplication, dockyard_home: Path
) -> None:
    db = open_database(dockyard_home)
    RepositoryStore(db).add(str(dockyard_home))
    db.close()
    damage_a_page(dockyard_home / "dockyard.db")
    with pytest.raises(InfrastructureError):
        open_window(qapp)
    assert not [
        w for w in qapp.topLevelWidgets() if isinstance(w, StartingWindow) and w.isVisible()
    ]
    assert preferences.window_settings().value("window/geometry") is None  # nothing saved
