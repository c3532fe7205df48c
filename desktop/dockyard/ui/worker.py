"""The one way the window runs background work.

A ``Task`` wraps a plain callable; it runs on a ``QThreadPool`` and reports back through
signals, which Qt delivers on the UI thread. Every error goes to the notification sink
(``messages.bus``), so no failure dies silently in a thread. The pool is injectable so
tests can run tasks synchronously.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from dockyard.core.errors import DockyardError, LedgerUnreachable
from dockyard.store.failures import store_failure

log = logging.getLogger("dockyard.ui")

MIN_SHARED_THREADS = 8


class TaskSignals(QObject):
    started = Signal()
    progress = Signal(object)
    result = Signal(object)
    error = Signal(str, str)  # one-sentence message, details
    outage = Signal(str)  # the team ledger could not be reached (before ``error``)
    finished = Signal()


class Task(QRunnable):
    """Runs ``fn(*args, **kwargs)``; passes ``progress=`` when ``with_progress`` is set."""

    def __init__(
        self, fn: Callable[..., Any], *args: Any, with_progress: bool = False, **kwargs: Any
    ) -> None:
        super().__init__()
        # Python keeps the task (and its signals object) alive until the UI thread has seen
        # ``finished``: a pool-deleted runnable could take its signals with it while their
        # queued emissions are still on the way.
        self.setAutoDelete(False)
        self.signals = TaskSignals()
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        if with_progress:
            self.kwargs["progress"] = self.signals.progress.emit

    def run(self) -> None:
        signals = self.signals
        signals.started.emit()
        try:
            value = self.fn(*self.args, **self.kwargs)
        except DockyardError as exc:
            if isinstance(exc, LedgerUnreachable):
                signals.outage.emit(exc.message)
            signals.error.emit(exc.message, exc.details)
        except Exception as exc:
            failure = store_failure(exc)  # a full disk or a damaged database
            if failure is not None:
                log.warning("%s", failure.message)
                signals.error.emit(failure.message, str(exc))
                return
            log.exception("background task failed")
            signals.error.emit(
                f"Unexpected error: {exc}. Details are in the log; please report it.",
                traceback.format_exc(),
            )
        else:
            signals.result.emit(value)
        finally:
            signals.finished.emit()


class _Binding(QObject):
    """Lives on the UI thread so the callbacks run there (queued), not in the worker."""

    def __init__(
        self,
        runner: TaskRunner,
        on_result: Callable[[Any], None] | None,
        on_error: Callable[[str, str], None] | None,
        on_progress: Callable[[Any], None] | None,
    ) -> None:
        super().__init__(runner)
        self.runner = runner
        self.on_result = on_result
        self.on_error = on_error
        self.on_progress = on_progress
        self.task: Task | None = None
        self.outage = False

    @Slot(object)
    def result(self, value: object) -> None:
        if self.on_result is not None:
            self.on_result(value)

    @Slot(str)
    def ledger_outage(self, message: str) -> None:
        self.outage = True
        self.runner.ledger_unreachable.emit(message)

    @Slot(str, str)
    def error(self, message: str, details: str) -> None:
        if self.outage and self.on_error is self.runner.on_error:
            return  # one place says the ledger is away (the status bar), not a dialog per read
        if self.on_error is not None:
            self.on_error(message, details)

    @Slot(object)
    def progress(self, value: object) -> None:
        if self.on_progress is not None:
            self.on_progress(value)

    @Slot()
    def finished(self) -> None:
        self.runner.active -= 1
        # Released here, on the UI thread, once every queued emission has been delivered.
        self.runner.live.discard(self)
        self.task = None
        self.deleteLater()


class TaskRunner(QObject):
    """Starts tasks on a pool and routes their errors to ``on_error``; a task that could
    not reach the team ledger also says so on ``ledger_unreachable``."""

    ledger_unreachable = Signal(str)

    def __init__(
        self,
        pool: QThreadPool | None = None,
        on_error: Callable[[str, str], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        if pool is None:
            pool = QThreadPool.globalInstance()
            # Tasks mostly wait on Docker, git and the network, not on the CPU: the
            # default (one thread per core) would let two slow calls stall the rest.
            pool.setMaxThreadCount(max(pool.maxThreadCount(), MIN_SHARED_THREADS))
        self.pool = pool
        self.on_error = on_error
        self.active = 0
        self.live: set[_Binding] = set()

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str, str], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        **kwargs: Any,
    ) -> Task:
        task = Task(fn, *args, with_progress=on_progress is not None, **kwargs)
        binding = _Binding(self, on_result, on_error or self.on_error, on_progress)
        binding.task = task
        self.live.add(binding)
        task.signals.result.connect(binding.result)
        task.signals.outage.connect(binding.ledger_outage)
        task.signals.error.connect(binding.error)
        task.signals.progress.connect(binding.progress)
        task.signals.finished.connect(binding.finished)
        self.active += 1
        self.pool.start(task)
        return task

    def wait(self, msecs: int = -1) -> bool:
        return self.pool.waitForDone(msecs)
