"""Runs a pipeline in a child process, so the window never shares its interpreter with one.

A pipeline streams tens of thousands of log lines a second through Python code; in the
window's own process those threads hold the GIL and the UI thread stalls (measured with
tests/benchmarks/bench_ui_heartbeat.py). A child process has its own interpreter, runs at
a lower CPU priority (inherited by compose and git), and cannot take the window down.

The protocol is JSON lines: the parent writes one request to the child's stdin, the child
writes events to its stdout (``run``, ``stage``, then ``outcome`` or ``failure``). A
``cancel`` line cancels the run; stdin closing (the window went away) cancels it too, so
no run outlives its window unrecorded.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from dockyard.core import errors
from dockyard.core.errors import DockyardError, InfrastructureError, LedgerCannotRecord
from dockyard.core.model import Run, Stage
from dockyard.core.redaction import redact_data, redact_standard_streams
from dockyard.core.releases import DeploymentOutcome
from dockyard.engine.events import CancelToken, Event, EventSink, RunChanged, StageChanged
from dockyard.engine.ledger_source import open_ledger
from dockyard.engine.pipeline.outcome import PipelineOutcome
from dockyard.engine.pipeline.start import start_pipeline
from dockyard.engine.release.status import recover_interrupted
from dockyard.store.database import Database
from dockyard.store.failures import cannot_record, store_failure

log = logging.getLogger(__name__)

CHILD_COMMAND = "_pipeline-child"  # ``dockyard _pipeline-child``: not for people
CHILD_NICE = 10  # Linux niceness of the child and every tool it starts

_ERRORS: dict[str, type[DockyardError]] = {
    cls.__name__: cls
    for cls in (
        errors.DockyardError,
        errors.PipelineFailed,
        errors.UserInputError,
        errors.InfrastructureError,
        errors.Cancelled,
    )
}


# -- the wire format ------------------------------------------------------------------


def error_to_wire(error: DockyardError | None) -> dict[str, str] | None:
    if error is None:
        return None
    kind = next((name for name, cls in _ERRORS.items() if type(error) is cls), "DockyardError")
    return {"kind": kind, "message": error.message, "details": error.details}


def error_from_wire(data: dict[str, str] | None) -> DockyardError | None:
    if data is None:
        return None
    cls = _ERRORS.get(data["kind"], DockyardError)
    return cls(data["message"], details=data.get("details", ""))


# -- the parent's side ----------------------------------------------------------------


def child_command() -> list[str]:
    if getattr(sys, "frozen", False):  # a packaged app: the executable is dockyard itself
        return [sys.executable, CHILD_COMMAND]
    return [sys.executable, "-m", "dockyard", CHILD_COMMAND]


def _child_environment() -> dict[str, str]:
    environment = dict(os.environ)
    if not getattr(sys, "frozen", False):
        # The child must import this very package, installed or not.
        package_root = str(Path(__file__).resolve().parents[2])
        paths = [package_root, *filter(None, environment.get("PYTHONPATH", "").split(os.pathsep))]
        environment["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return environment


class PipelineProcess:
    """One pipeline running in a child process, read from any (non-UI) thread."""

    def __init__(self, *, home: Path, location: str, ref: str | None, started_by: str) -> None:
        request = {
            "home": str(home),
            "location": location,
            "ref": ref,
            "started_by": started_by,
        }
        self.run: Run | None = None
        self._write_lock = threading.Lock()
        try:
            self.process = subprocess.Popen(
                child_command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=_child_environment(),
                # Its own session: with Linux's autogroup scheduling (on by default on
                # desktops) CPU is shared between sessions first, so a pipeline in the
                # window's session would take the window's share, whatever its niceness.
                start_new_session=True,
            )
        except OSError as exc:
            raise InfrastructureError(
                f"Could not start a process for the pipeline ({exc.strerror or exc}); check "
                f"that {sys.executable} can run, or run it with: dockyard run {location}"
            ) from exc
        self._send(json.dumps(request))

    def _send(self, line: str) -> None:
        assert self.process.stdin is not None
        with self._write_lock, contextlib.suppress(OSError, ValueError):
            self.process.stdin.write(line.encode() + b"\n")
            self.process.stdin.flush()

    def cancel(self) -> None:
        self._send("cancel")

    def events(self) -> Iterator[Event | PipelineOutcome]:
        """The child's events as they come, the outcome last; raises if the child died."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                message = json.loads(line)
                kind = message["kind"]
            except (ValueError, KeyError, TypeError):
                log.warning("pipeline process said something else: %r", line[:200])
                continue
            if kind == "run":
                self.run = Run.from_json(message["run"])
                yield RunChanged(self.run)
            elif kind == "stage":
                yield StageChanged(message["run_id"], Stage.from_json(message["stage"]))
            elif kind == "outcome":
                yield PipelineOutcome(
                    run=Run.from_json(message["run"]),
                    error=error_from_wire(message["error"]),
                    deployments=tuple(map(DeploymentOutcome.from_json, message["deployments"])),
                )
                return
            elif kind == "failure":
                # Said apart: a watched change waits for the ledger only on that failure.
                cls = LedgerCannotRecord if message.get("cannot_record") else DockyardError
                raise cls(message["message"], details=message["details"])
        code = self.process.wait()
        how = f"exit code {code}" if code >= 0 else f"killed by signal {-code}"
        if self.run is None:
            raise DockyardError(
                f"The pipeline process stopped unexpectedly ({how}) before the run started; "
                "start it again."
            )
        raise DockyardError(
            f"The pipeline process stopped unexpectedly ({how}); run {self.run.id} is marked "
            "interrupted. Start it again; the log so far is kept."
        )

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def run_in_child(
    *,
    home: Path,
    db: Database,
    location: str,
    ref: str | None,
    started_by: str,
    sink: EventSink,
    cancel: CancelToken,
) -> PipelineOutcome:
    """Like ``start_pipeline``, in a child process; blocks the calling thread until done."""
    child = PipelineProcess(home=home, location=location, ref=ref, started_by=started_by)
    unregister = cancel.on_cancel(child.cancel)
    try:
        for event in child.events():
            if isinstance(event, PipelineOutcome):
                return event
            sink(event)
        raise AssertionError("unreachable: events() ends with an outcome or raises")
    except DockyardError:
        if child.process.poll() not in (None, 0):  # it died: settle what it left running
            with contextlib.suppress(Exception):
                recover_interrupted(home, db, started_by)
        raise
    finally:
        unregister()
        child.close()


# -- the child's side -----------------------------------------------------------------


def _private_channel() -> IO[str]:
    """The event channel; fd 1 then points at stderr, so no tool can write into it."""
    channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, 0, max(os.getpriority(os.PRIO_PROCESS, 0), CHILD_NICE))
    # Under autogroup scheduling niceness only ranks threads within a session; the
    # session's own weight is set here (a process may lower, not raise, it).
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text(f"{CHILD_NICE}\n")


def _stdin_lines() -> Iterator[bytes]:
    """Lines from fd 0, read unbuffered: a daemon thread blocked in ``sys.stdin`` holds
    its buffer's lock and the interpreter aborts at exit."""
    pending = b""
    while chunk := os.read(0, 4096):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        yield from lines


def _watch_parent(lines: Iterator[bytes], cancel: CancelToken) -> None:
    for line in lines:
        if line.strip() == b"cancel":
            cancel.cancel()
    cancel.cancel()  # stdin closed: the window is gone (or done with us)


def child_main() -> int:
    """``dockyard _pipeline-child``: run the requested pipeline, report on stdout."""
    channel = _private_channel()
    redact_standard_streams()
    _lower_priority()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    lock = threading.Lock()

    def emit(kind: str, **payload: Any) -> None:
        # The window shows what comes here: redacted like everything Dockyard prints.
        with lock:
            channel.write(json.dumps(redact_data({"kind": kind, **payload})) + "\n")

    cancel = CancelToken()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _signum, _frame: cancel.cancel())
    try:
        lines = _stdin_lines()
        request = json.loads(next(lines, b"{}"))
        threading.Thread(target=_watch_parent, args=(lines, cancel), daemon=True).start()
        outcome = _run_requested(request, cancel, emit)
    except Exception as exc:  # noqa: BLE001 - the window shows it as one message
        failure = exc if isinstance(exc, DockyardError) else store_failure(exc)
        message = failure.message if failure is not None else f"Unexpected error: {exc}"
        emit(
            "failure",
            message=message,
            details=traceback.format_exc(),
            cannot_record=cannot_record(exc),
        )
        return 1
    emit(
        "outcome",
        run=outcome.run.to_json(precise=True),
        error=error_to_wire(outcome.error),
        deployments=[deployment.to_json() for deployment in outcome.deployments],
    )
    return 0


def _run_requested(
    request: dict[str, Any], cancel: CancelToken, emit: Callable[..., None]
) -> PipelineOutcome:
    def sink(event: Event) -> None:
        if isinstance(event, RunChanged):
            emit("run", run=event.run.to_json(precise=True))
        elif isinstance(event, StageChanged):
            emit("stage", run_id=event.run_id, stage=event.stage.to_json(precise=True))

    home = Path(request["home"])
    db = open_ledger(home, "run")
    try:
        return start_pipeline(
            home=home,
            db=db,
            location=request["location"],
            ref=request["ref"],
            started_by=request["started_by"],
            sink=sink,
            cancel=cancel,
        )
    finally:
        db.close()
