"""A tag of a watched repository found while the ledger cannot record a run is not lost.

The window watches a repository on a team ledger; the server refuses its members (every
session ended) and a tag is made. Or on the local ledger, while another program holds the
database's write lock. The status bar says the tag will run when the ledger is back; once
it is, the window starts that run, once, and it succeeds. A run that cannot start for
another reason says that reason instead. Real PostgreSQL, daemon, git and
keyring; the window offscreen.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import docker
import pytest
from PySide6.QtWidgets import QLabel, QMessageBox
from pytestqt.qtbot import QtBot
from tests.gui.helpers import close_window, named, team_window

from dockyard.core.model import RunStatus
from dockyard.engine.pipeline import runprocess
from dockyard.store.database import open_database
from dockyard.store.repositories import RepositoryStore
from dockyard.store.runs import RunStore
from dockyard.ui import messages
from dockyard.ui.mainwindow import MainWindow
from testbed.cli import remove_images
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import clone, make_app_repo
from testbed.teamdb import TeamDatabase

pytestmark = [pytest.mark.gui, pytest.mark.docker, pytest.mark.postgres, pytest.mark.keyring]

TRIGGERS = "trigger:\n  tags: 'v*'\n  interval: 1s\n"
SENTENCE = (
    "v1.4.0 of shop was found while the team ledger is unreachable; "
    "it will run when the ledger is back."
)
LOCAL_SENTENCE = SENTENCE.replace(
    "the team ledger is unreachable", "the ledger cannot record a run"
)


def test_a_tag_found_while_the_team_ledger_is_away_runs_once_it_is_back(
    qtbot: QtBot,
    tmp_path: Path,
    team: TeamDatabase,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:
    source = make_app_repo(tmp_path / "source", dockyard_yml=TRIGGERS)
    origin = clone(source.path, tmp_path / "shop.git", bare=True)
    home = tmp_path / "home"
    team.connect_home(home, team.developer)
    window = team_window(qtbot, home)
    try:
        repositories = RepositoryStore(window.db)
        stored = repositories.add(str(origin))  # as the ledger knows a clone of it
        repositories.set_watch(stored.id, True)
        qtbot.waitUntil(lambda: stored.location in window.watcher.next_poll, timeout=30_000)

        banner = named(window, QLabel, "Ledger unreachable")
        team.allow_connections(False)
        try:
            qtbot.waitUntil(banner.isVisible, timeout=15_000)
            source.tag("v1.4.0")
            source.repo.git.push(str(origin), "v1.4.0")
            qtbot.waitUntil(lambda: window.statusBar().currentMessage() == SENTENCE, timeout=30_000)
        finally:
            team.allow_connections(True)

        qtbot.waitUntil(lambda: not banner.isVisible(), timeout=15_000)
        qtbot.waitUntil(lambda: bool(window.runs.busy()), timeout=30_000)
        qtbot.waitUntil(lambda: not window.runs.busy(), timeout=300_000)
        qtbot.wait(3000)  # the watcher looked again meanwhile: nothing more starts
        assert not window.runs.busy()
        with team.admin() as admin:  # the window's own session was cut by the outage
            runs = admin.execute(
                "SELECT status, started_by FROM dockyard.runs WHERE repo = %s AND ref = %s",
                (stored.location, "v1.4.0"),
            ).fetchall()
        assert runs == [("succeeded", team.developer)]
    finally:
        close_window(window)
        remove_images(docker_client, "dockyard/shop:")


def test_a_tag_found_while_the_local_database_is_locked_runs_once_it_is_free(
    qtbot: QtBot,
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:
    repo = make_app_repo(tmp_path / "shop", dockyard_yml=TRIGGERS)
    db = open_database(dockyard_home)
    stored = RepositoryStore(db).add(str(repo.path))
    RepositoryStore(db).set_watch(stored.id, True)
    db.close()
    window = MainWindow(home=dockyard_home)
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: stored.location in window.watcher.next_poll, timeout=30_000)
        # Another program holds the write lock (a backup tool, a stuck sqlite3 shell).
        with closing(sqlite3.connect(dockyard_home / "dockyard.db", isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            repo.tag("v1.4.0")
            qtbot.waitUntil(
                lambda: window.statusBar().currentMessage() == LOCAL_SENTENCE, timeout=30_000
            )
            other.execute("ROLLBACK")

        qtbot.waitUntil(lambda: bool(window.runs.busy()), timeout=30_000)
        qtbot.waitUntil(lambda: not window.runs.busy(), timeout=300_000)
        qtbot.wait(3000)  # the watcher looked again meanwhile: nothing more starts
        assert not window.runs.busy()
        runs = [r for r in RunStore(window.db).list(stored.location) if r.ref == "v1.4.0"]
        assert [r.status for r in runs] == [RunStatus.SUCCEEDED]
    finally:
        close_window(window)
        remove_images(docker_client, "dockyard/shop:")


def test_a_tag_whose_run_cannot_start_says_why_not_that_the_ledger_is_away(
    qtbot: QtBot,
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pipeline's process cannot start (its interpreter is gone): the status bar says
    that, once, not that the ledger is away; the tag is kept and runs once it can."""
    repo = make_app_repo(tmp_path / "shop", dockyard_yml=TRIGGERS)
    db = open_database(dockyard_home)
    stored = RepositoryStore(db).add(str(repo.path))
    RepositoryStore(db).set_watch(stored.id, True)
    db.close()
    said: list[str] = []
    messages.bus.info.connect(said.append)
    window = MainWindow(home=dockyard_home)
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: stored.location in window.watcher.next_poll, timeout=30_000)
        monkeypatch.setattr(runprocess, "child_command", lambda: [str(tmp_path / "gone")])
        repo.tag("v1.4.0")
        reason = "v1.4.0 of shop did not start: Could not start a process for the pipeline"
        qtbot.waitUntil(
            lambda: window.statusBar().currentMessage().startswith(reason), timeout=30_000
        )
        sentence = window.statusBar().currentMessage()
        qtbot.wait(3000)  # three more looks (1 s apart) tried it again, quietly
        assert window.statusBar().currentMessage() == sentence
        assert [m for m in said if m.startswith("v1.4.0")] == [sentence]
        assert LOCAL_SENTENCE not in said
        assert not window.findChildren(QMessageBox)  # a status bar sentence, not dialogs

        monkeypatch.undo()  # the interpreter is back: the tag was not lost
        qtbot.waitUntil(lambda: bool(window.runs.busy()), timeout=30_000)
        qtbot.waitUntil(lambda: not window.runs.busy(), timeout=300_000)
        qtbot.wait(3000)
        runs = [r for r in RunStore(window.db).list(stored.location) if r.ref == "v1.4.0"]
        assert [r.status for r in runs] == [RunStatus.SUCCEEDED]
    finally:
        messages.bus.info.disconnect(said.append)
        close_window(window)
        remove_images(docker_client, "dockyard/shop:")
