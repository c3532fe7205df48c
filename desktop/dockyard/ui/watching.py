"""Watched repositories: poll their refs in the background and start runs on what is new.

Each poll (a git fetch for a remote) runs in a worker; the UI thread only keeps the
schedule and hands new refs to the run coordinator. A new ref whose run the ledger cannot
record (refused while the team ledger is away, or its run never recorded) is put back, so
a later poll finds it again, and the status bar says it will run when the ledger is back.
A run that fails before it is recorded for another reason (its process cannot start) is
put back as well, and the status bar says that reason, once, not at every retry.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from dockyard.store.database import Database
from dockyard.store.repositories import RepositoryStore
from dockyard.ui.worker import TaskRunner

if TYPE_CHECKING:
    from dockyard.engine.pipeline.triggers import RefChange, RefWatcher
    from dockyard.ui.pipelineworker import PipelineWorker

TICK_MS = 1000


def _watched_locations(db: Database) -> list[str]:
    return [repo.location for repo in RepositoryStore(db).list() if repo.watch]


def _poll(
    watcher: RefWatcher | None, location: str, home: Path
) -> tuple[RefWatcher, list[RefChange]]:
    """In a worker; the first poll of a repository makes its watcher (the trigger module
    imports the YAML reader, which the window does not need to show its runs)."""
    from dockyard.engine.pipeline.triggers import RefWatcher

    watcher = watcher or RefWatcher(location, home)
    return watcher, watcher.poll()


class RepositoryWatcher(QObject):
    """Starts a run (through ``start_run``) for each new commit or tag of a watched repo;
    ``start_run`` returns its worker, or None when the ledger refused it for now."""

    changes_found = Signal(object)  # list[RefChange]

    def __init__(
        self,
        tasks: TaskRunner,
        home: Path,
        db: Database,
        start_run: Callable[[str, str], PipelineWorker | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.home = home
        self.db = db
        self.start_run = start_run
        self.watched: set[str] = set()
        self.watchers: dict[str, RefWatcher] = {}  # made by their first poll
        self.next_poll: dict[str, float] = {}
        self.polling: set[str] = set()
        self.unstarted: dict[tuple[str, str, str], str] = {}  # (repo, ref, commit): said
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)

    def start(self) -> None:
        self.timer.start()
        self.tick()

    def stop(self) -> None:
        self.timer.stop()

    def tick(self) -> None:
        self.tasks.submit(
            _watched_locations, self.db, on_result=self._schedule, on_error=self._unread
        )

    def _unread(self, _message: str, _details: str) -> None:
        # The ledger is away (the banner says so): keep looking at what was watched, so a
        # new ref is found now and said to wait for the ledger, not found only later.
        self._schedule(sorted(self.watched))

    def _schedule(self, locations: list[str]) -> None:
        now = time.monotonic()
        self.watched = set(locations)
        for gone in set(self.watchers) - self.watched:
            del self.watchers[gone]
            self.next_poll.pop(gone, None)
        for location in locations:
            if location in self.polling or now < self.next_poll.get(location, 0.0):
                continue
            self.polling.add(location)
            self.tasks.submit(
                _poll,
                self.watchers.get(location),
                location,
                self.home,
                on_result=functools.partial(self._polled, location),
                on_error=functools.partial(self._failed, location),
            )

    def _polled(self, location: str, polled: tuple[RefWatcher, list[RefChange]]) -> None:
        self.polling.discard(location)
        watcher, changes = polled
        if location not in self.watched:
            return  # no longer watched
        self.watchers[location] = watcher
        self.next_poll[location] = time.monotonic() + watcher.trigger.interval
        for change in changes:
            worker = self.start_run(change.repo, change.ref) if change.taken else None
            if worker is None:
                self._keep(watcher, change)
            else:
                worker.tells_unrecorded = False  # _ended says it, once
                worker.finished.connect(functools.partial(self._ended, watcher, change, worker))
        if changes:
            self.changes_found.emit(changes)

    def _ended(
        self, watcher: RefWatcher, change: RefChange, worker: PipelineWorker, outcome: object
    ) -> None:
        key = (change.repo, change.ref, change.commit)
        if outcome is not None or worker.run is not None:
            self.unstarted.pop(key, None)
        elif worker.ledger_away:  # the ledger never recorded its run
            self._keep(watcher, change)
        else:  # failed before it was recorded, for its own reason: tried at the next look
            self._put_back(watcher, change, worker.failure or "")

    def _put_back(self, watcher: RefWatcher, change: RefChange, reason: str) -> None:
        from dockyard.engine.pipeline.triggers import not_started  # imported by the poll
        from dockyard.ui import messages

        self.tasks.submit(watcher.put_back, change)
        key = (change.repo, change.ref, change.commit)
        if self.unstarted.get(key) != reason:
            self.unstarted[key] = reason
            messages.info(not_started(change, reason))

    def _keep(self, watcher: RefWatcher, change: RefChange) -> None:
        from dockyard.engine.pipeline.triggers import kept_for_later  # imported by the poll
        from dockyard.ui import messages

        if change.taken:
            self.tasks.submit(watcher.put_back, change)
        messages.info(kept_for_later(change, self.db))

    def _failed(self, location: str, message: str, details: str) -> None:
        # A repository that cannot be read now is tried again at the next interval; the
        # reason goes to the status bar once, not as a dialog every minute.
        from dockyard.ui import messages

        self.polling.discard(location)
        self.next_poll[location] = time.monotonic() + 60.0
        messages.info(f"Watching {location}: {message}")
