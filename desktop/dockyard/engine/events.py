"""Plain events the engine reports; the CLI prints them, the window turns them into signals."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from dockyard.core.errors import Cancelled
from dockyard.core.model import Run, Stage


@dataclass(frozen=True)
class RunChanged:
    run: Run  # a snapshot; receivers may keep it


@dataclass(frozen=True)
class StageChanged:
    run_id: str
    stage: Stage


Event = RunChanged | StageChanged
EventSink = Callable[[Event], None]


def ignore_events(event: Event) -> None:
    """The sink for callers that only want the result."""


class CancelToken:
    """Set from any thread; the running stage stops its Docker work through callbacks."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            # best effort: the stage checks the flag too
            with contextlib.suppress(Exception):
                callback()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Register ``callback``; returns a function that unregisters it."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return lambda: self._remove(callback)
        callback()
        return lambda: None

    def _remove(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("The run was cancelled.")

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)


def wait_or_cancel(cancel: CancelToken, seconds: float) -> None:
    """Sleep, but wake up and raise Cancelled as soon as the user cancels."""
    woken = threading.Event()
    unregister = cancel.on_cancel(woken.set)
    try:
        woken.wait(seconds)
    finally:
        unregister()
    if cancel.cancelled:
        raise Cancelled("The deployment was cancelled.")
