"""Who you are comes from git (``git config user.email``) without the window waiting for it.

The window used to run git on the UI thread while it was being built (and again when
Settings opened): a git that takes its time (a home on a slow network share) kept the
window from showing, and Settings from opening. Now git is asked in a worker; until it
answers the status bar says "you are …" and acting as someone waits, in one sentence.
Watched repositories are looked at once it answered: a tag found meanwhile would be
refused, and never run.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit, QMessageBox
from pytestqt.qtbot import QtBot
from tests.gui.helpers import named

from dockyard.store.database import open_database
from dockyard.store.repositories import RepositoryStore
from dockyard.store.runs import RunStore
from dockyard.ui.mainwindow import MainWindow
from dockyard.ui.watching import RepositoryWatcher
from dockyard.ui.worker import TaskRunner
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo

pytestmark = pytest.mark.gui

GIT_ANSWERS_AFTER_S = 6
# Building and showing the window takes well under a second; 3 s leaves room for a loaded
# machine and is still far below the time git takes to answer here.
SHOWN_WITHIN_S = 3.0


@pytest.fixture
def slow_git_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A ``git`` first on PATH that takes its time to say user.email; the rest is real git."""
    real_git = shutil.which("git")
    assert real_git is not None
    folder = tmp_path / "slow-git"
    folder.mkdir()
    script = folder / "git"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$*" = "config --get user.email" ]; then\n'
        f"  sleep {GIT_ANSWERS_AFTER_S}; echo slow@example.test; exit 0\n"
        "fi\n"
        f'exec {real_git} "$@"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("DOCKYARD_USER")  # so git is asked
    return "slow@example.test"


def test_the_window_shows_without_waiting_for_git_to_say_who_you_are(
    qtbot: QtBot, dockyard_home: Path, slow_git_identity: str
) -> None:
    started = time.monotonic()
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    elapsed = time.monotonic() - started

    assert elapsed < SHOWN_WITHIN_S, f"the window took {elapsed:.1f} s to show"
    ledger = named(window, QLabel, "Ledger")
    assert "you are …" in ledger.text()
    # Acting as someone waits until git answered, and says so.
    window.start_run("/srv/identity-test/shop", "main")
    boxes = [b for b in window.findChildren(QMessageBox) if b.accessibleName() == "Error"]
    assert [b.text() for b in boxes] == [
        "Still reading who you are (git's user.email): running a pipeline waits a moment."
    ]
    assert window.runs.active() == []
    for box in boxes:
        box.close()
    # Settings shows the default identity once git said it, and opens at once meanwhile.
    started = time.monotonic()
    window.show_settings()
    assert time.monotonic() - started < SHOWN_WITHIN_S
    dialog = window.settings_dialog
    assert dialog is not None
    identity = named(dialog, QLineEdit, "Identity")

    answered = (GIT_ANSWERS_AFTER_S + 10) * 1000
    qtbot.waitUntil(lambda: f"you are {slow_git_identity}" in ledger.text(), timeout=answered)
    assert window.identity == slow_git_identity
    qtbot.waitUntil(
        lambda: identity.placeholderText() == f"default: {slow_git_identity}", timeout=answered
    )
    dialog.reject()
    window.tasks.wait(20_000)


def test_a_tag_made_while_dockyard_was_closed_runs_as_you_once_git_answered(
    qtbot: QtBot,
    docker_daemon: PrivateDaemon,
    dockyard_home: Path,
    tmp_path: Path,
    slow_git_identity: str,
) -> None:
    repo = make_app_repo(tmp_path / "watched", dockyard_yml="trigger:\n  tags: 'v*'\n")
    db = open_database(dockyard_home)
    try:
        stored = RepositoryStore(db).add(str(repo.path))
        RepositoryStore(db).set_watch(stored.id, True)
        # An earlier session saw the repository (its baseline); then a tag came.
        tasks = TaskRunner()
        earlier = RepositoryWatcher(tasks, dockyard_home, db, lambda *_: None)
        earlier.start()
        qtbot.waitUntil(lambda: bool(earlier.next_poll), timeout=20_000)
        earlier.stop()
        tasks.wait(10_000)
        repo.tag("v1.0.0")

        window = MainWindow()
        qtbot.addWidget(window)
        window.show()
        answered = (GIT_ANSWERS_AFTER_S + 20) * 1000
        qtbot.waitUntil(lambda: bool(window.runs.busy()), timeout=answered)
        window.runs.cancel_all()  # what matters is who started it, not the build
        qtbot.waitUntil(lambda: not window.runs.busy(), timeout=120_000)
        window.tasks.wait(20_000)

        runs = RunStore(db).list(stored.location)
        assert [(run.ref, run.started_by) for run in runs] == [("v1.0.0", slow_git_identity)]
    finally:
        db.close()
