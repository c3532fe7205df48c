"""The stage log view at a million lines: open, scroll, search, follow a fast writer.

Search is measured against ``grep -cP`` on the same file in the same run.
PYTHONPATH=desktop:tests python tests/benchmarks/bench_logview.py [--quick]
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

from PySide6.QtWidgets import QApplication

from benchmarks.logtools import (
    PATTERN,
    Heartbeat,
    all_rows_shown,
    expected_matches,
    grep_seconds,
    make_log,
    pump,
    search_as_typed,
)
from benchmarks.rows import Row, ms, report, sized
from dockyard.store.logs import StageLogReader, StageLogWriter
from dockyard.ui.logview import LogView

LINES = sized(1_000_000, 20_000)
GAP_MS = 50


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    rows: list[Row] = []
    label = f"{LINES:,}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "build.log"
        started = time.perf_counter()
        make_log(path, LINES)
        written = time.perf_counter() - started
        rows.append(Row(f"log: write {label} coloured lines", f"{written:.2f} s"))

        reader = StageLogReader(path)
        started = time.perf_counter()
        reader.refresh()
        rows.append(Row(f"log: index {label} lines", ms(time.perf_counter() - started)))

        view = LogView()
        view.resize(1000, 600)
        view.show()
        beat = Heartbeat()
        beat.start()
        started = time.perf_counter()
        view.set_log(path, live=False)
        pump(lambda: all_rows_shown(view, LINES))
        rows.append(Row(f"log: all {label} rows shown", ms(time.perf_counter() - started)))
        worst = beat.stop()
        rows.append(
            Row("log: worst UI gap while opening", f"{worst} ms", f"< {GAP_MS} ms", worst < GAP_MS)
        )

        bar = view.table.verticalScrollBar()
        positions = random.Random(1).sample(range(bar.maximum()), 100)
        started = time.perf_counter()
        for value in positions:
            bar.setValue(value)
            view.table.viewport().grab()
        per_jump = (time.perf_counter() - started) / len(positions)
        rows.append(Row("log: scroll to a random place and paint", ms(per_jump)))

        # Line lengths are measured behind the index for about a second more; the search
        # is timed after that, as when a user has looked at the log before searching.
        reader = view.model.reader
        assert reader is not None
        pump(lambda: not reader.pending_bytes())
        rows += search_rows(view, path)
        rows += follow_rows(view, Path(folder) / "live.log")
        view.set_log(None, live=False)
        view._runner.wait()
        view.close()
    report(rows)


def search_rows(view: LogView, path: Path) -> list[Row]:
    """Typing a pattern and pressing Enter, as a user does; grep on the same file beside."""
    grep = grep_seconds(path)
    search = view.search
    first, elapsed = search_as_typed(view, PATTERN)
    count = search.count()
    view.search_edit.clear()
    view.next_match()
    # Again with a heartbeat on the UI thread: its ticks take the GIL from the search
    # every 5 ms, so the count above is timed without it.
    beat = Heartbeat()
    beat.start()
    search_as_typed(view, PATTERN)
    worst = beat.stop()
    if count != expected_matches(LINES):
        raise SystemExit(f"the search counted {count} lines, not {expected_matches(LINES)}")
    ratio = elapsed / grep
    view.search_edit.clear()
    view.next_match()
    return [
        Row(f"log search: grep -cP over {LINES:,} lines", ms(grep)),
        Row(
            f"log search: count over {LINES:,} lines",
            f"{ms(elapsed)} ({ratio:.1f}× grep)",
            "≤ 3× grep",
            ratio <= 3,
        ),
        Row("log search: first match shown", ms(first), "≤ 100 ms", first <= 0.1),
        Row(
            "log search: worst UI gap while searching",
            f"{worst} ms",
            f"< {GAP_MS} ms",
            worst < GAP_MS,
        ),
    ]


def follow_rows(view: LogView, live: Path) -> list[Row]:
    """A writer appending 50,000 lines a second (20 ms batches of 1,000) for 4 s."""
    writer = StageLogWriter(live)
    stop = threading.Event()

    def produce() -> None:
        n = 0
        while not stop.is_set():
            writer.append([f"\x1b[32mlive\x1b[0m line {n + k}" for k in range(1000)])
            n += 1000
            time.sleep(0.02)

    view.set_log(live, live=True)
    beat = Heartbeat()
    beat.start()
    thread = threading.Thread(target=produce)
    thread.start()
    pump(lambda: False, timeout=sized(4, 1))
    stop.set()
    thread.join()
    writer.close()
    worst = beat.stop()
    reader = view.model.reader
    assert reader is not None
    pump(lambda: not reader.pending_bytes() and view.model.rowCount() == reader.line_count(), 10)
    bar = view.table.verticalScrollBar()
    at_end = bar.value() == bar.maximum()
    return [
        Row(
            "log: worst UI gap, writer at 50k lines/s",
            f"{worst} ms",
            f"< {GAP_MS} ms",
            worst < GAP_MS,
        ),
        Row(
            "log: follows the writer to its last line",
            f"{view.model.rowCount():,} lines",
            "all, scrolled to the end",
            at_end and view.model.rowCount() == reader.line_count(),
        ),
    ]


if __name__ == "__main__":
    main()
