"""Benchmark of the stage log view at a million lines; run by `make bench`, prints a table.

PYTHONPATH=desktop python tests/benchmarks/bench_logview.py
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication

from dockyard.store.logs import StageLogReader, StageLogWriter
from dockyard.ui.logview import LogView

LINES = 1_000_000
COLOURS = ("\x1b[32m", "\x1b[33m", "\x1b[1;31m", "\x1b[36m", "\x1b[38;5;208m")


def make_log(path: Path) -> None:
    with StageLogWriter(path) as writer:
        for start in range(0, LINES, 50_000):
            writer.append(
                [
                    f"{COLOURS[n % 5]}{n:07d}\x1b[0m #12 [build 3/7] RUN make target_{n % 977}"
                    for n in range(start, start + 50_000)
                ]
            )


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


def pump(app: QApplication, until: object, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not until() and time.perf_counter() < deadline:  # type: ignore[operator]
        app.processEvents()
        time.sleep(0.001)  # lets worker threads take the GIL


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "build.log"
        started = time.perf_counter()
        make_log(path)
        rows.append(("write 1M lines", f"{time.perf_counter() - started:.2f} s"))
        rows.append(("file size", f"{path.stat().st_size / 1e6:.0f} MB"))

        with StageLogReader(path) as reader:
            started = time.perf_counter()
            reader.refresh()
            rows.append(("index 1M lines", f"{(time.perf_counter() - started) * 1000:.0f} ms"))

        view = LogView()
        view.resize(1000, 600)
        view.show()
        beat = Heartbeat()
        beat.start()
        started = time.perf_counter()
        view.set_log(path, live=False)
        rows.append(("set_log returns", f"{(time.perf_counter() - started) * 1000:.1f} ms"))
        pump(app, lambda: view.model.rowCount() == LINES)
        rows.append(("all 1M rows shown", f"{(time.perf_counter() - started) * 1000:.0f} ms"))
        rows.append(("worst UI gap while opening", f"{beat.stop()} ms"))

        bar = view.table.verticalScrollBar()
        positions = random.Random(1).sample(range(bar.maximum()), 100)
        started = time.perf_counter()
        for value in positions:
            bar.setValue(value)
            view.table.viewport().grab()
        per_jump = (time.perf_counter() - started) * 10
        rows.append(("scroll + paint, 100 random jumps", f"{per_jump:.1f} ms each"))

        view.search_edit.setText("target_42\\b")
        started = time.perf_counter()
        pump(app, lambda: view.search.active and not view.search.running and view.search.count())
        rows.append(
            (
                "search count over 1M (worker)",
                f"{(time.perf_counter() - started) * 1000 - 200:.0f} ms, {view.search.count()}",
            )
        )
        view.search_edit.clear()

        live = Path(folder) / "live.log"
        writer = StageLogWriter(live)
        stop = threading.Event()

        def produce() -> None:  # 50,000 lines a second, in 20 ms batches of 1,000
            n = 0
            while not stop.is_set():
                writer.append([f"\x1b[32mlive\x1b[0m line {n + k}" for k in range(1000)])
                n += 1000
                time.sleep(0.02)

        view.set_log(live, live=True)
        beat.start()
        thread = threading.Thread(target=produce)
        thread.start()
        pump(app, lambda: False, timeout=4.0)
        stop.set()
        thread.join()
        writer.close()
        worst = beat.stop()
        live_reader = view.model.reader
        assert live_reader is not None
        pump(app, lambda: not live_reader.pending_bytes(), 5)
        followed = bar.value() == bar.maximum()
        rows.append(("worst UI gap, writer at ~50k lines/s", f"{worst} ms"))
        rows.append(("lines followed in 4 s", f"{view.model.rowCount():,} (at end: {followed})"))
        view.set_log(None, live=False)
        view._runner.wait()
        view.close()

    width = max(len(name) for name, _ in rows)
    for name, text in rows:
        print(f"{name:<{width}}  {text}")


if __name__ == "__main__":
    main()
