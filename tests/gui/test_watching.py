"""A watched repository starts a run by itself when a new tag appears."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from dockyard.store.database import open_database
from dockyard.store.repositories import RepositoryStore
from dockyard.ui.pipelineworker import PipelineWorker
from dockyard.ui.watching import RepositoryWatcher
from dockyard.ui.worker import TaskRunner
from testbed.gitrepos import make_app_repo

pytestmark = pytest.mark.gui

TRIGGERS = "trigger:\n  tags: 'v*'\n  interval: 1s\n"


def test_new_tag_of_a_watched_repository_starts_a_run(
    qtbot: QtBot, tmp_path: Path, dockyard_home: Path
) -> None:
    repo = make_app_repo(tmp_path / "watched", dockyard_yml=TRIGGERS)
    db = open_database(dockyard_home)
    stored = RepositoryStore(db).add(str(repo.path))
    RepositoryStore(db).set_watch(stored.id, True)
    started: list[tuple[str, str]] = []

    def start_run(location: str, ref: str) -> PipelineWorker:
        started.append((location, ref))
        return PipelineWorker(location, ref)  # the run itself is not this test's

    tasks = TaskRunner()
    watcher = RepositoryWatcher(tasks, dockyard_home, db, start_run)
    watcher.start()
    # The first look records a baseline: nothing starts.
    qtbot.waitUntil(lambda: bool(watcher.next_poll), timeout=30_000)
    assert started == []
    repo.tag("v1.0.0")
    with qtbot.waitSignal(watcher.changes_found, timeout=30_000):
        pass
    assert started == [(stored.location, "v1.0.0")]
    # Watching off: later tags start nothing.
    RepositoryStore(db).set_watch(stored.id, False)
    qtbot.waitUntil(lambda: not watcher.watchers, timeout=30_000)
    repo.tag("v1.1.0")
    qtbot.wait(2500)
    assert started == [(stored.location, "v1.0.0")]
    watcher.stop()
    tasks.wait(10_000)
