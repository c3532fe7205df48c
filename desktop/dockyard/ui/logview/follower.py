"""Follows the log files of every open log view from one worker task per tick.

The UI thread never reads a log file to follow it: a worker indexes what the engine
appended (``StageLogReader.refresh``) and the UI thread only inserts the new rows. All
views are refreshed by the same task, so they take their new rows (and repaint) in one
pass of the event loop instead of one wake-up per view.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QTimer

from dockyard.store.logs import StageLogReader
from dockyard.ui import messages
from dockyard.ui.logview.model import LogModel
from dockyard.ui.worker import TaskRunner

LIVE_POLL_MS = 33  # ~30 Hz: smooth enough to look live, cheap enough to be invisible
# Bytes indexed per view and tick while catching up: a huge file opens in slices (~20 ms
# of a worker each), and the rows appear while the rest is indexed; line lengths are
# measured after that, 1/MEASURE_COST as many bytes a tick.
TICK_BYTES = 64 * 1024 * 1024


def _refresh(readers: list[StageLogReader]) -> list[tuple[int, bool]]:
    """In a worker: each reader's line count, and whether it has more to index."""
    results = []
    for reader in readers:
        count = reader.refresh(TICK_BYTES)
        results.append((count, reader.pending_bytes() > 0))
    return results


class LogFollower(QObject):
    """The models being followed: live logs, and logs still being indexed."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = TaskRunner(on_error=messages.error, parent=self)
        self._live: set[LogModel] = set()
        self._catching_up: set[LogModel] = set()
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._tick)

    @classmethod
    def shared(cls) -> LogFollower:
        """The application's follower (one per QApplication)."""
        app = QCoreApplication.instance()
        follower = app.findChild(LogFollower, "dockyard-log-follower") if app else None
        if follower is None:
            follower = cls(app)
            follower.setObjectName("dockyard-log-follower")
        return follower

    def follow(self, model: LogModel, live: bool) -> None:
        """Index model's file now, and keep following it while live."""
        (self._live.add if live else self._live.discard)(model)
        self._catching_up.add(model)
        self._schedule(0)

    def forget(self, model: LogModel) -> None:
        self._live.discard(model)
        self._catching_up.discard(model)

    def _schedule(self, delay_ms: int) -> None:
        if self._busy:
            return  # _applied schedules the next tick
        if not self._timer.isActive() or delay_ms < self._timer.remainingTime():
            self._timer.start(delay_ms)

    def _tick(self) -> None:
        for model in [m for m in self._live | self._catching_up if not shiboken6.isValid(m)]:
            self.forget(model)  # its view was closed
        followed = [(m, m.reader) for m in self._live | self._catching_up if m.reader]
        if not followed:
            return
        self._busy = True
        self._runner.submit(
            _refresh,
            [reader for _model, reader in followed],
            on_result=lambda results: self._applied(followed, results),
            on_error=lambda message, details: self._failed(followed, message, details),
        )

    def _applied(
        self, followed: list[tuple[LogModel, StageLogReader]], results: list[tuple[int, bool]]
    ) -> None:
        for (model, reader), (count, more) in zip(followed, results, strict=True):
            if not shiboken6.isValid(model) or model.reader is not reader:
                continue  # closed, or showing another log by now
            model.show_lines(count)
            if not more:
                self._catching_up.discard(model)
        self._next()

    def _failed(
        self, followed: list[tuple[LogModel, StageLogReader]], message: str, details: str
    ) -> None:
        for model, _reader in followed:  # one message, not one per tick
            self.forget(model)
        messages.error(message, details)
        self._next()

    def _next(self) -> None:
        self._busy = False
        if self._catching_up:
            self._schedule(0)
        elif self._live:
            self._schedule(LIVE_POLL_MS)
