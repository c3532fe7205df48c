"""The window's one change feed: a commit by anyone reaches the views once, at once when
the window's own run ends, and a wake-up from any thread is never lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from dockyard.store.database import open_database
from dockyard.store.repositories import RepositoryStore
from dockyard.ui import changefeed
from dockyard.ui.changefeed import ChangeFeed
from dockyard.ui.pipelineworker import RunCoordinator
from dockyard.ui.worker import TaskRunner

pytestmark = pytest.mark.gui


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()
    runner.wait(10_000)


@pytest.fixture
def coordinator(tasks: TaskRunner, dockyard_home: Path) -> Iterator[RunCoordinator]:
    db = open_database(dockyard_home)
    yield RunCoordinator(tasks, dockyard_home, db, tasks)
    db.close()


@pytest.fixture
def feed(
    qtbot: QtBot,
    tasks: TaskRunner,
    coordinator: RunCoordinator,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ChangeFeed]:
    # No timed looks during a test: every look is one the test (or a run) asked for.
    monkeypatch.setattr(changefeed, "LOOK_EVERY_MS", 600_000)
    made = ChangeFeed(tasks, coordinator.db, coordinator, tasks)
    with qtbot.waitSignal(made.reached, timeout=30_000):
        made.start()  # the baseline
    yield made
    made.stop()


def _commit_elsewhere(home: Path, name: str) -> None:
    """A commit through another connection, as ``dockyard`` in a terminal makes it."""
    other = open_database(home)
    try:
        RepositoryStore(other).add(str(home.parent / name))
    finally:
        other.close()


def test_a_commit_elsewhere_reaches_the_views_once(
    qtbot: QtBot, feed: ChangeFeed, dockyard_home: Path
) -> None:
    changes: list[None] = []
    feed.changed.connect(lambda: changes.append(None))
    _commit_elsewhere(dockyard_home, "one")
    with qtbot.waitSignal(feed.changed, timeout=30_000):
        # A notification of the team server arrives on a thread of its own.
        threading.Thread(target=feed.ledger_changed).start()
    with qtbot.waitSignal(feed.reached, timeout=30_000):
        feed.ledger_changed()  # nothing new since: no second re-read
    assert len(changes) == 1


def test_a_wake_up_during_a_look_is_followed_by_another_look(
    qtbot: QtBot, feed: ChangeFeed, dockyard_home: Path
) -> None:
    changes: list[None] = []
    looks: list[None] = []
    feed.changed.connect(lambda: changes.append(None))
    feed.reached.connect(lambda: looks.append(None))
    feed.ledger_changed()  # a look on its way…
    _commit_elsewhere(dockyard_home, "two")
    feed.ledger_changed()  # …and a change it may have missed: one more look follows
    qtbot.waitUntil(lambda: len(looks) == 2, timeout=30_000)
    qtbot.wait(100)
    assert len(looks) == 2
    assert changes == [None]


def test_the_windows_own_finished_run_reaches_the_views_at_once(
    qtbot: QtBot, feed: ChangeFeed, coordinator: RunCoordinator, dockyard_home: Path
) -> None:
    finished: list[object] = []
    feed.run_finished.connect(finished.append)
    _commit_elsewhere(dockyard_home, "three")  # what the run's child process committed
    with qtbot.waitSignal(feed.changed, timeout=30_000):
        coordinator.run_finished.emit(None)
    assert finished == [None]
