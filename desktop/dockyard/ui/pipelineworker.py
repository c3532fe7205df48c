"""Runs pipelines in child processes and turns their events into Qt signals.

Each run is one ``Task`` of the shared ``TaskRunner`` (the one worker abstraction): the
task starts the pipeline in a child process (``engine.pipeline.runprocess``) and waits on its
events, which cross to the UI thread as queued signals. In the window's own process a
pipeline's Python threads held the GIL for tens of milliseconds at a time while logs
streamed, and the window stalled (tests/benchmarks/bench_ui_heartbeat.py). Log lines are
not forwarded: the log view follows the file on disk, which the child writes as lines
arrive. Several runs (of different repositories) go on at once.

Pipelines get their own thread pool: each waits for minutes, and would otherwise fill the
shared pool (two threads on a two-core machine) so that nothing else could start.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal

from dockyard.core.model import Run
from dockyard.engine.events import CancelToken, Event, RunChanged, StageChanged
from dockyard.engine.pipeline.outcome import PipelineOutcome
from dockyard.store.database import Database
from dockyard.store.failures import cannot_record
from dockyard.ui.worker import TaskRunner

MAX_PARALLEL_RUNS = 8  # more runs wait in the pool's queue


class LedgerAway:
    """Reported just before the failure of a run the ledger could not record (it cannot
    record now): a watched change waits for the ledger, it is not reported as failed."""


def _run_pipeline(
    report: Callable[[RunChanged | StageChanged | LedgerAway], None],
    home: Path,
    db: Database,
    location: str,
    ref: str | None,
    started_by: str,
    cancel: CancelToken,
) -> PipelineOutcome:
    # Imported by the worker: runprocess imports the pipeline runner and the deploy engine
    # (Docker's SDK, GitPython), which the window does not need to show its runs.
    from dockyard.engine.pipeline.runprocess import run_in_child

    def sink(event: Event) -> None:
        if isinstance(event, RunChanged | StageChanged):
            report(event)

    try:
        return run_in_child(
            home=home,
            db=db,
            location=location,
            ref=ref,
            started_by=started_by,
            sink=sink,
            cancel=cancel,
        )
    except Exception as exc:
        if cannot_record(exc):
            report(LedgerAway())
        raise


class PipelineWorker(QObject):
    """One running pipeline, seen from the UI thread."""

    run_changed = Signal(object)  # Run snapshot
    stage_changed = Signal(str, object)  # run id, Stage snapshot
    finished = Signal(object)  # PipelineOutcome, or None when the task itself failed

    def __init__(self, location: str, ref: str | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.location = location
        self.ref = ref
        self.cancel_token = CancelToken()
        self.run: Run | None = None
        self.done = False
        self.failure: str | None = None  # the sentence of a failure before any outcome
        self.ledger_away = False  # it failed because the ledger cannot record now
        self.tells_unrecorded = True  # False: its starter says a failure before the run

    @property
    def run_id(self) -> str | None:
        return self.run.id if self.run else None

    def start(
        self, tasks: TaskRunner, *, home: Path, db: Database, started_by: str
    ) -> PipelineWorker:
        tasks.submit_reporting(
            _run_pipeline,
            home,
            db,
            self.location,
            self.ref,
            started_by,
            self.cancel_token,
            on_progress=self._event,
            on_result=self._finished,
            on_error=self._failed,
        )
        return self

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def _event(self, event: RunChanged | StageChanged | LedgerAway) -> None:
        if isinstance(event, LedgerAway):
            self.ledger_away = True
        elif isinstance(event, RunChanged):
            self.run = event.run
            self.run_changed.emit(event.run)
        else:
            self.stage_changed.emit(event.run_id, event.stage)

    def _finished(self, outcome: PipelineOutcome) -> None:
        self.done = True
        self.run = outcome.run
        self.run_changed.emit(outcome.run)
        self.finished.emit(outcome)

    def _failed(self, message: str, details: str) -> None:
        from dockyard.ui import messages

        self.done = True
        self.failure = message
        if self.run is not None or self.tells_unrecorded:
            messages.error(message, details)
        self.finished.emit(None)


class RunCoordinator(QObject):
    """Every pipeline the window started: start, find by run id, cancel, count."""

    run_changed = Signal(object)  # Run
    stage_changed = Signal(str, object)  # run id, Stage
    run_finished = Signal(object)  # PipelineOutcome | None

    def __init__(
        self, tasks: TaskRunner, home: Path, db: Database, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(MAX_PARALLEL_RUNS)
        self.tasks = TaskRunner(self.pool, on_error=tasks.on_error, parent=self)
        self.home = home
        self.db = db
        self.workers: list[PipelineWorker] = []

    def start(self, location: str, ref: str | None, started_by: str) -> PipelineWorker:
        worker = PipelineWorker(location, ref, self)
        worker.run_changed.connect(self.run_changed)
        worker.stage_changed.connect(self.stage_changed)
        worker.finished.connect(lambda outcome: self._done(worker, outcome))
        self.workers.append(worker)
        return worker.start(self.tasks, home=self.home, db=self.db, started_by=started_by)

    def _done(self, worker: PipelineWorker, outcome: object) -> None:
        if worker in self.workers:
            self.workers.remove(worker)
        worker.deleteLater()
        self.run_finished.emit(outcome)

    def active(self) -> list[PipelineWorker]:
        """Runs still going, as the user sees them (a cancelled run is not)."""
        return [
            worker for worker in self.busy() if worker.run is None or not worker.run.status.finished
        ]

    def busy(self) -> list[PipelineWorker]:
        """Workers whose child process has not ended (it may be tidying up a finished run)."""
        return [worker for worker in self.workers if not worker.done]

    def worker_for(self, run_id: str) -> PipelineWorker | None:
        for worker in self.workers:
            if worker.run_id == run_id:
                return worker
        return None

    def cancel(self, run_id: str) -> bool:
        worker = self.worker_for(run_id)
        if worker is None:
            return False
        worker.cancel()
        return True

    def cancel_all(self) -> None:
        for worker in self.active():
            worker.cancel()
