"""What the log benchmarks share: a coloured log, a heartbeat, an event pump, grep."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from dockyard.store.logs import StageLogWriter

COLOURS = ("\x1b[32m", "\x1b[33m", "\x1b[1;31m", "\x1b[36m", "\x1b[38;5;208m")
# What the search benchmarks look for: 1 line in 977 matches.
PATTERN = r"target_42\b"


def make_log(path: Path, lines: int) -> None:
    """A build log as coloured as they come: two escape codes on every line."""
    batch = 50_000
    with StageLogWriter(path) as writer:
        for start in range(0, lines, batch):
            writer.append(
                [
                    f"{COLOURS[n % 5]}{n:08d}\x1b[0m #12 [build 3/7] RUN make target_{n % 977}"
                    for n in range(start, min(lines, start + batch))
                ]
            )


def expected_matches(lines: int) -> int:
    return sum(1 for n in range(lines) if n % 977 == 42)


def grep_seconds(path: Path, pattern: str = PATTERN, rounds: int = 3) -> float:
    """Median time of ``grep -cP`` over the file (the yardstick of the search rows)."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run(["grep", "-cP", pattern, str(path)], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class Heartbeat:
    """Records the longest gap between 5 ms ticks: how long the window was frozen."""

    def __init__(self) -> None:
        self.worst = 0
        self._clock = QElapsedTimer()
        self._timer = QTimer()
        self._timer.setInterval(5)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        self.worst = max(self.worst, self._clock.restart())

    def start(self) -> None:
        self.worst = 0
        self._clock.start()
        self._timer.start()

    def stop(self) -> int:
        self._timer.stop()
        return self.worst


def all_rows_shown(view: Any, lines: int) -> bool:
    """The log's lines are all rows of the view, and its scroll bar reaches the last one."""
    rows = view.model.rowCount()
    return rows == lines and view.table.verticalScrollBar().maximum() >= rows - 100


def pump(until: Callable[[], object], timeout: float = 120.0) -> bool:
    """Runs the event loop until ``until()`` is true; False on timeout."""
    app = QApplication.instance()
    assert app is not None
    deadline = time.perf_counter() + timeout
    while not until():
        if time.perf_counter() > deadline:
            return False
        app.processEvents()
        time.sleep(0.001)  # lets worker threads take the GIL
    return True


def search_as_typed(view: Any, pattern: str, timeout_ms: int = 600_000) -> tuple[float, float]:
    """Types pattern and presses Enter, then lets the event loop run as the window's does
    (no polling, which would take the GIL from the search 1,000 times a second).
    Returns (seconds until the first match was shown, seconds until the count was final).
    """
    search = view.search
    loop = QEventLoop()
    moments: dict[str, float] = {}

    def changed() -> None:
        if search.count() and "first" not in moments:
            moments["first"] = time.perf_counter() - started
        if search.active and not search.running:
            moments["done"] = time.perf_counter() - started
            loop.quit()

    search.changed.connect(changed)
    QTimer.singleShot(timeout_ms, loop.quit)
    started = time.perf_counter()
    view.search_edit.setText(pattern)
    view.next_match()  # Enter: searches now instead of after the typing pause
    if "done" not in moments:
        loop.exec()
    search.changed.disconnect(changed)
    done = moments.get("done", float("inf"))
    return moments.get("first", done), done


def rss_mb() -> float:
    """Resident memory of this process now, in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
