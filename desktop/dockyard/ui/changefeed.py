"""The one feed of changes into the window: its own runs' events and the store's commits.

Two sources say that what the window shows is stale. The window's own pipelines report
each run and stage as it changes (their child processes' events, ``RunCoordinator``);
everyone else (``dockyard run`` in a terminal, another window, in team mode another
machine) commits to the store, which a look at its change marker notices
(``store.changes``). The window's own runs commit to the store too, so each of their
changes used to reach the views twice: once as an event, again as a store change.

Here they are merged once. Run and stage events pass straight through (the runs list and
its chips follow them live, without reading); every re-read is decided by a look at the
store, which tells whether anything was committed since the last one, by anyone. A run of
the window that ends asks for a look at once instead of re-reading on its own, so its
last commits reach the views in one ``changed``, and a later look that finds nothing new
re-reads nothing.

``ledger_changed()`` is the one entry point for "the ledger (may have) changed": the
timer calls it, a finished run calls it, and in team mode the server's notifications
call it (``engine.team_changes``, from its own thread) the moment another machine
commits, so the timed look is only a safety net there. Looks never overlap; one
asked for while another is on its way follows it, so no change is missed. On the team
ledger each look is also the heartbeat that tells whether the server is reachable
(``reached``/``lost``).
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer, Signal

from dockyard.core.model import Run, Stage
from dockyard.engine.pipeline.outcome import PipelineOutcome
from dockyard.store.changes import ExternalChanges
from dockyard.store.database import Database
from dockyard.ui.pipelineworker import RunCoordinator
from dockyard.ui.worker import TaskRunner

LOOK_EVERY_MS = 2000
# The team server's notifications wake a look the moment someone commits (and every
# second while it is away): the timed look is a safety net for a notification lost with
# a connection that broke silently.
TEAM_LOOK_EVERY_MS = 5000


class ChangeFeed(QObject):
    run_changed = Signal(object)  # Run: one of the window's runs, as its child reports it
    stage_changed = Signal(str, object)  # run id, Stage
    run_finished = Signal(object)  # PipelineOutcome, or None when the run's task failed
    changed = Signal()  # the store changed since the last look: re-read what you show
    reached = Signal()  # a look reached the ledger
    lost = Signal(str)  # a look failed: the sentence why
    _woken = Signal()  # ledger_changed() from any thread, handled on the UI thread

    def __init__(
        self, tasks: TaskRunner, db: Database, runs: RunCoordinator, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._db = db
        self._changes = ExternalChanges(db)
        self._generation = 0  # looks at a ledger the window switched away from are dropped
        self._looking = False
        self._look_again = False
        # ledger_changed() emits under it, stop() sets ``_stopped`` under it: once stopped,
        # no thread is emitting into a feed that may be destroyed with its window.
        self._waking = threading.Lock()
        self._stopped = True
        self.timer = QTimer(self)
        self.timer.setInterval(LOOK_EVERY_MS)
        self.timer.timeout.connect(self._look)
        self._woken.connect(self._look)
        runs.run_changed.connect(self._run_changed)
        runs.stage_changed.connect(self._stage_changed)
        runs.run_finished.connect(self._run_finished)

    def start(self) -> None:
        with self._waking:
            self._stopped = False
        team = self._db.dialect == "postgres"
        self.timer.setInterval(TEAM_LOOK_EVERY_MS if team else LOOK_EVERY_MS)
        self.timer.start()
        self._look()  # takes the baseline

    def stop(self) -> None:
        with self._waking:
            self._stopped = True
        self.timer.stop()
        self._look_again = False

    def close(self) -> None:
        """Close the feed's own ledger connection, once stopped and no look is on its way
        (the window's tasks have ended)."""
        self._changes.close()

    def restart(self) -> None:
        """Watch the ledger anew (the window switched ledgers): a new baseline."""
        old, self._changes = self._changes, ExternalChanges(self._db)
        self._tasks.submit(old.close, on_error=lambda *_: None)
        self._generation += 1
        self._looking = self._look_again = False
        self.start()

    def ledger_changed(self) -> None:
        """The ledger changed, or may have: look (now, or right after the look under way).
        Safe to call from any thread; does nothing once the feed is stopped."""
        with self._waking:
            if not self._stopped:
                self._woken.emit()

    # ----- the window's own runs ----------------------------------------------------

    def _run_changed(self, run: Run) -> None:
        self.run_changed.emit(run)

    def _stage_changed(self, run_id: str, stage: Stage) -> None:
        self.stage_changed.emit(run_id, stage)

    def _run_finished(self, outcome: PipelineOutcome | None) -> None:
        self.run_finished.emit(outcome)
        self._look()  # what the run committed last, in one re-read

    # ----- looking at the store -----------------------------------------------------

    def _look(self) -> None:
        if not self.timer.isActive():
            return  # stopped (the window is closing) or not started yet
        if self._looking:
            self._look_again = True  # the change may have come after that look read
            return
        self._looking = True
        self.timer.start()  # the next timed look counts from this one
        generation = self._generation
        self._tasks.submit(
            self._changes.changed,
            on_result=lambda changed: self._seen(generation, changed),
            on_error=lambda message, _details: self._failed(generation, message),
        )

    def _seen(self, generation: int, changed: bool) -> None:
        if generation != self._generation:
            return
        self._looked()
        self.reached.emit()
        if changed:
            self.changed.emit()

    def _failed(self, generation: int, message: str) -> None:
        # The views report database errors themselves when they read; no message per look.
        if generation != self._generation:
            return
        self._looked()
        self.lost.emit(message)

    def _looked(self) -> None:
        self._looking = False
        if self._look_again:
            self._look_again = False
            self._look()
