"""Regex search over the whole log, counted in a worker so the window never scans.

The count is true: every indexed line is searched, and lines the writer appends later
are searched incrementally as they arrive. A newer pattern cancels the older search.
Matches are shown as they are found, a few MB of log at a time (the first within
milliseconds), while the worker goes on.
"""

from __future__ import annotations

import re
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from dockyard.store.logs import StageLogReader
from dockyard.ui.worker import TaskRunner


def find_matches(
    progress: Callable[[array[int]], None],
    reader: StageLogReader,
    pattern: re.Pattern[str],
    start: int,
    stop: int,
    cancelled: threading.Event,
) -> bool:
    """Reports the matching lines of [start, stop) step by step; False if cancelled."""
    for found, _searched_to in reader.search_steps(pattern, start, stop):
        if cancelled.is_set():
            return False
        if found:
            progress(array("q", found))
    return True


class LogSearch(QObject):
    """Holds the pattern and the matching rows; runs searches on the task runner."""

    changed = Signal()  # count, state or message changed

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._reader: StageLogReader | None = None
        self._pattern: re.Pattern[str] | None = None
        self._matches: array[int] = array("q")
        self._searched_to = 0  # lines [0, _searched_to) are counted in _matches
        self._cancel = threading.Event()
        self._running = False
        self.error = ""  # a message for the user, e.g. an invalid pattern

    @property
    def running(self) -> bool:
        return self._running

    @property
    def active(self) -> bool:
        return self._pattern is not None

    def count(self) -> int:
        return len(self._matches)

    def set_reader(self, reader: StageLogReader | None) -> None:
        self._reader = reader
        self._restart()

    def set_pattern(self, text: str) -> None:
        """Compiles text; an invalid pattern becomes a message, never an exception."""
        self.error = ""
        self._pattern = None
        if text:
            try:
                self._pattern = re.compile(text)
            except re.error as exc:
                self.error = f"Invalid pattern: {exc}"
        self._restart()

    def lines_added(self, total: int) -> None:
        """Searches lines the writer appended since the last search (if none is running)."""
        if self._pattern is not None and not self._running and total > self._searched_to:
            self._start(self._searched_to, total)

    def next_after(self, row: int) -> int | None:
        """The first matching row after row, wrapping around to the first."""
        if not self._matches:
            return None
        position = bisect_right(self._matches, row)
        return self._matches[position % len(self._matches)]

    def previous_before(self, row: int) -> int | None:
        """The last matching row before row, wrapping around to the last."""
        if not self._matches:
            return None
        position = bisect_left(self._matches, row) - 1
        return self._matches[position % len(self._matches)]

    def ordinal(self, row: int) -> int | None:
        """1-based position of row among the matches (for "3 of 12")."""
        position = bisect_left(self._matches, row)
        if position < len(self._matches) and self._matches[position] == row:
            return position + 1
        return None

    def _restart(self) -> None:
        self._cancel.set()
        self._cancel = threading.Event()
        self._matches = array("q")
        self._searched_to = 0
        self._running = False
        if self._pattern is not None and self._reader is not None:
            self._start(0, self._reader.line_count())
        self.changed.emit()

    def _start(self, start: int, stop: int) -> None:
        assert self._reader is not None and self._pattern is not None
        cancel = self._cancel
        self._running = True

        def found(lines: array[int]) -> None:
            if cancel is self._cancel:  # else a newer search replaced this one
                self._matches.extend(lines)
                self.changed.emit()

        def done(finished: bool) -> None:
            if cancel is not self._cancel or not finished:
                return  # a newer search replaced this one
            self._searched_to = stop
            self._running = False
            self.changed.emit()
            if self._reader is not None:
                self.lines_added(self._reader.line_count())

        def failed(message: str, details: str) -> None:
            if cancel is self._cancel:
                self._running = False
                self.error = message
                self.changed.emit()

        self._runner.submit_reporting(
            find_matches,
            self._reader,
            self._pattern,
            start,
            stop,
            cancel,
            on_progress=found,
            on_result=done,
            on_error=failed,
        )
        self.changed.emit()
