"""The one way the window runs background work.

``TaskRunner.submit(fn, *args, on_result=..., on_error=...)`` runs ``fn(*args)`` on a
``QThreadPool``; its result or its error comes back to the callbacks on the UI thread
(queued signals). The callbacks are typed by ``fn``: ``on_result`` receives what ``fn``
returns, so no caller recovers a type by hand. Every error goes to the notification sink
(``messages.bus``) unless the caller handles it, so no failure dies silently in a thread.
The pool is injectable so tests can run tasks synchronously.

``shutdown()`` (a closing window, the application quitting) ends the tasks that have not
started and detaches the running ones: they finish their call, report to no one, and
never touch a Qt object that is being destroyed. ``after_tasks(fn)`` runs ``fn`` in a pool
thread once every task started so far has returned (a closing window closes its ledger's
connections that way: no task of its is using them any more, and the UI thread does not
wait for them).

A task submitted with ``abandon_at_exit`` runs on a daemon thread of its own instead: a
quitting process does not wait for it, as Qt waits for its pool. It is for reads that may
take long to give up and leave nothing half-done (a Docker endpoint that never answers
takes 10 s), never for a write.

A runner may also be destroyed without ``shutdown()`` (its view deleted, or a runner of a
test dropped) while its tasks run or wait in the pool. Nothing a task uses dies with it:
the pool holds the task (a plain callable, not a Python ``QRunnable`` that Python could free
while the pool still points at it), the task's signals belong to its binding, and the
binding lives on the UI thread until the task's ``finished`` arrives; only the callbacks
are dropped with the runner.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from typing import Any, TypeVar, TypeVarTuple

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThreadPool, Signal, Slot

from dockyard.core.errors import DockyardError, LedgerClosed, LedgerUnreachable
from dockyard.store.failures import store_failure

log = logging.getLogger("dockyard.ui")

MIN_SHARED_THREADS = 8

T = TypeVar("T")
U = TypeVar("U")
Ts = TypeVarTuple("Ts")

ErrorCallback = Callable[[str, str], object]  # one-sentence message, details


class _TaskSignals(QObject):
    progress = Signal(object)
    result = Signal(object)
    error = Signal(str, str)  # one-sentence message, details
    outage = Signal(str)  # the team ledger could not be reached (before ``error``)
    finished = Signal()


class Task:
    """Runs ``call()`` in a pool thread and reports through its signals until detached."""

    def __init__(self, call: Callable[[Callable[[Any], None]], object]) -> None:
        # Created on the UI thread, so queued emissions reach the bindings there; owned by
        # the task's binding (deleted with it on the UI thread, never by a pool thread
        # dropping the task's last reference).
        self.signals = _TaskSignals()
        self.call = call
        self._lock = threading.RLock()  # a synchronous test pool emits from the UI thread
        self._detached = False

    def detach(self) -> None:
        """From now on the task reports nothing (its receivers are going away)."""
        with self._lock:
            self._detached = True

    def _emit(self, signal: str, *args: object) -> None:
        # Under the lock: detach() returns only once no emission is under way, so the UI
        # thread may delete the receivers (and the application its objects) right after.
        with self._lock:
            if not self._detached:
                try:
                    getattr(self.signals, signal).emit(*args)
                except RuntimeError:
                    # "Signal source has been deleted": the application ended without
                    # quitting (a script), so nobody listens any more.
                    self._detached = True

    def run(self) -> None:
        with self._lock:
            if self._detached:
                return  # shut down before it started: nobody waits for it
        try:
            value = self.call(lambda update: self._emit("progress", update))
        except LedgerClosed:
            pass  # its window closed the ledger: nobody is left to tell
        except DockyardError as exc:
            if isinstance(exc, LedgerUnreachable):
                self._emit("outage", exc.message)
            self._emit("error", exc.message, exc.details)
        except Exception as exc:
            failure = store_failure(exc)  # a full disk or a damaged database
            if failure is not None:
                log.warning("%s", failure.message)
                self._emit("error", failure.message, str(exc))
            else:
                log.exception("background task failed")
                self._emit(
                    "error",
                    f"Unexpected error: {exc}. Details are in the log; please report it.",
                    traceback.format_exc(),
                )
        else:
            self._emit("result", value)
        finally:
            self._emit("finished")


class _Outstanding:
    """A runner's tasks that have not returned from their thread yet, and what to run in a
    pool thread once none has. Plain Python: tasks count down after their runner is gone."""

    def __init__(self, pool: QThreadPool) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._count = 0
        self._then: list[Callable[[], object]] = []
        self._threads: set[threading.Thread] = set()  # tasks abandoned at exit

    def run(self, task: Task) -> None:
        try:
            task.run()
        finally:
            with self._lock:
                self._count -= 1
                then, self._then = (self._then, []) if self._count == 0 else ([], self._then)
            for fn in then:
                fn()

    def start(self, task: Task, *, abandon_at_exit: bool = False) -> None:
        with self._lock:
            self._count += 1
        if not abandon_at_exit:
            self._pool.start(functools.partial(self.run, task))
            return
        thread = threading.Thread(target=self._run_alone, args=(task,), daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _run_alone(self, task: Task) -> None:
        try:
            self.run(task)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def join_threads(self, deadline: float | None) -> bool:
        """Wait for the tasks on threads of their own (tests and scripts, never the UI)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)

    def then(self, fn: Callable[[], object]) -> None:
        with self._lock:
            if self._count:
                self._then.append(fn)
                return
        self._pool.start(fn)


_PENDING: set[_Binding] = set()  # bindings whose task has not reported ``finished`` yet


class _Binding(QObject):
    """Lives on the UI thread so the callbacks run there (queued), not in the worker. It
    outlives its runner when the runner is destroyed first (held in ``_PENDING``): the
    task still emits to it until ``finished``."""

    def __init__(
        self,
        runner: TaskRunner,
        task: Task,
        on_result: Callable[[Any], object] | None,
        on_error: ErrorCallback | None,
        on_progress: Callable[[Any], object] | None,
    ) -> None:
        super().__init__()
        self._runner = weakref.ref(runner)  # a runner dropped by its owner is gone
        self.task = task
        self.on_result = on_result
        self.on_error = on_error
        self.on_progress = on_progress
        self.outage = False
        task.signals.setParent(self)
        task.signals.result.connect(self.result)
        task.signals.outage.connect(self.ledger_outage)
        task.signals.error.connect(self.error)
        task.signals.progress.connect(self.progress)
        task.signals.finished.connect(self.finished)
        _PENDING.add(self)

    @property
    def runner(self) -> TaskRunner | None:
        runner = self._runner()
        if runner is None or not shiboken6.isValid(runner):
            self.forget()  # its view went away: nobody listens any more
            return None
        return runner

    @Slot(object)
    def result(self, value: object) -> None:
        if self.runner is not None and self.on_result is not None:
            self.on_result(value)

    @Slot(str)
    def ledger_outage(self, message: str) -> None:
        self.outage = True
        runner = self.runner
        if runner is not None:
            runner.ledger_unreachable.emit(message)

    @Slot(str, str)
    def error(self, message: str, details: str) -> None:
        runner = self.runner
        if runner is None:
            return
        if self.outage and self.on_error is runner.on_error:
            return  # one place says the ledger is away (the status bar), not a dialog per read
        if self.on_error is not None:
            self.on_error(message, details)

    @Slot(object)
    def progress(self, value: object) -> None:
        if self.runner is not None and self.on_progress is not None:
            self.on_progress(value)

    @Slot()
    def finished(self) -> None:
        # Here, on the UI thread, every queued emission has been delivered.
        runner = self.runner
        if runner is not None:
            runner.live.discard(self)
        self.release()

    def forget(self) -> None:
        self.on_result = self.on_error = self.on_progress = None

    def release(self) -> None:
        """Never called back again; deleted (with the task's signals) once no emission
        is under way, and none can follow."""
        self.task.detach()
        self.forget()
        if self in _PENDING:
            _PENDING.discard(self)
            self.deleteLater()


class TaskRunner(QObject):
    """Starts tasks on a pool and routes their errors to ``on_error``; a task that could
    not reach the team ledger also says so on ``ledger_unreachable``."""

    ledger_unreachable = Signal(str)

    def __init__(
        self,
        pool: QThreadPool | None = None,
        on_error: ErrorCallback | None = None,
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
        self._outstanding = _Outstanding(pool)
        self.live: set[_Binding] = set()
        self.closed = False
        app = QCoreApplication.instance()
        if app is not None:
            # The application quitting destroys Qt objects that running tasks would report
            # to: detach them first, whoever forgot to.
            app.aboutToQuit.connect(self.shutdown)

    @property
    def active(self) -> int:
        """Tasks started and not yet reported back."""
        return len(self.live)

    def submit(
        self,
        fn: Callable[[*Ts], T],
        *args: *Ts,
        on_result: Callable[[T], object] | None = None,
        on_error: ErrorCallback | None = None,
        abandon_at_exit: bool = False,
    ) -> None:
        """Run ``fn(*args)`` in the pool; ``on_result`` gets its value on the UI thread,
        ``on_error`` its failure in one sentence (the runner's sink when not given).
        ``abandon_at_exit``: a read the process need not wait for when it quits."""
        self._start(lambda _progress: fn(*args), on_result, on_error, None, abandon_at_exit)

    def submit_reporting(
        self,
        fn: Callable[[Callable[[U], None], *Ts], T],
        *args: *Ts,
        on_progress: Callable[[U], object],
        on_result: Callable[[T], object] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> None:
        """Like ``submit`` for a ``fn`` that reports as it goes: it is called as
        ``fn(report, *args)``, and each ``report(update)`` reaches ``on_progress`` on the UI
        thread."""
        self._start(lambda report: fn(report, *args), on_result, on_error, on_progress)

    def _start(
        self,
        call: Callable[[Callable[[Any], None]], object],
        on_result: Callable[[Any], object] | None,
        on_error: ErrorCallback | None,
        on_progress: Callable[[Any], object] | None,
        abandon_at_exit: bool = False,
    ) -> None:
        if self.closed:
            return  # a callback of a closing window asked for more: nobody would listen
        task = Task(call)
        self.live.add(_Binding(self, task, on_result, on_error or self.on_error, on_progress))
        self._outstanding.start(task, abandon_at_exit=abandon_at_exit)

    def after_tasks(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` in a pool thread once every task started so far has returned (now if
        none runs); after ``shutdown()`` no task starts any more, so none of them uses what
        ``fn`` closes."""
        self._outstanding.then(fn)

    def shutdown(self) -> None:
        """End what has not started, detach what runs; no callback runs after this."""
        self.closed = True
        for binding in list(self.live):
            binding.release()  # one not started yet will do nothing when its turn comes
        self.live.clear()

    def wait(self, msecs: int = -1) -> bool:
        """Wait until the pool's tasks and this runner's own threads are done (tests and
        scripts only: never on the UI thread)."""
        deadline = None if msecs < 0 else time.monotonic() + msecs / 1000
        alone = self._outstanding.join_threads(deadline)
        left = -1 if deadline is None else max(0, round((deadline - time.monotonic()) * 1000))
        return self.pool.waitForDone(left) and alone
