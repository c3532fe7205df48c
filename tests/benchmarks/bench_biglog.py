"""A 10,000,000-line coloured log in the log view: rows shown, index size, search, memory.

The log is written by a child process, so this process's memory is the window's alone.
PYTHONPATH=desktop:tests python tests/benchmarks/bench_biglog.py [--quick]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from benchmarks.logtools import (
    PATTERN,
    all_rows_shown,
    expected_matches,
    grep_seconds,
    peak_rss_mb,
    pump,
    rss_mb,
    search_as_typed,
)
from benchmarks.rows import Row, ms, report, sized
from dockyard.ui.logview import LogView

LINES = sized(10_000_000, 50_000)


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    label = f"{LINES:,}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "huge.log"
        code = f"from benchmarks.logtools import make_log; make_log({str(path)!r}, {LINES})"
        code = code.replace(f"{str(path)!r}", f"__import__('pathlib').Path({str(path)!r})")
        subprocess.run([sys.executable, "-c", code], check=True)
        size_mb = path.stat().st_size / 1e6

        view = LogView()
        view.resize(1000, 600)
        view.show()
        pump(lambda: True)
        before = rss_mb()
        started = time.perf_counter()
        view.set_log(path, live=False)
        pump(lambda: all_rows_shown(view, LINES), timeout=600)
        shown = time.perf_counter() - started
        reader = view.model.reader
        assert reader is not None
        pump(lambda: not reader.pending_bytes(), timeout=600)  # line lengths measured too
        measured = time.perf_counter() - started
        per_line = reader.index_bytes() / LINES

        grep = grep_seconds(path)
        _first, searched = search_as_typed(view, PATTERN)
        if view.search.count() != expected_matches(LINES):
            raise SystemExit(f"the search counted {view.search.count()} lines")
        open_rss, peak = rss_mb(), peak_rss_mb()
        view.set_log(None, live=False)
        view._runner.wait()
        view.close()
    report(
        [
            Row(f"big log: {label} lines, file size", f"{size_mb:,.0f} MB"),
            Row(f"big log: all {label} rows shown", f"{shown:.2f} s", "≤ 1.5 s", shown <= 1.5),
            Row("big log: every line's length measured (widest line)", f"{measured:.2f} s"),
            Row(
                "big log: line index memory",
                f"{per_line:.3f} bytes a line",
                "≤ 4 bytes a line",
                per_line <= 4,
            ),
            Row(f"big log: grep -cP over {label} lines", ms(grep)),
            Row(
                f"big log: search count over {label} lines",
                f"{searched:.2f} s ({searched / grep:.1f}× grep)",
                "≤ 3× grep",
                searched <= 3 * grep,
            ),
            Row(
                "big log: window RSS with it open (peak)",
                f"{open_rss:.0f} MB ({peak:.0f} MB)",
                "≤ 250 MB",
                peak <= 250,
                f"{before:.0f} MB before the log was opened",
            ),
        ]
    )


if __name__ == "__main__":
    main()
