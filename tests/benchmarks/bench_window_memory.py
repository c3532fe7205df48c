"""The window's memory and start with a repository of 1,000 runs, against an empty
PySide6 window measured the same way in the same run (each in a process of its own,
with its modules' bytecode, as an installed Dockyard starts).

    PYTHONPATH=desktop:tests python tests/benchmarks/bench_window_memory.py [--quick]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.ledger import repo_with_runs
from benchmarks.rows import Row, as_installed, report, sized

RUNS = sized(1000, 50)
ROUNDS = sized(3, 1)
SETTLE_S = sized(3, 0.5)  # the window after a few seconds of being open, not at its first paint

_CHILD = """
import json, os, sys, time
from PySide6.QtWidgets import QApplication, QMainWindow
sys.path[:0] = ["tests"]
from benchmarks.logtools import pump, rss_mb
app = QApplication([])
if sys.argv[1] == "empty":
    window = QMainWindow()
    window.resize(1200, 800)
    window.show()
    pump(lambda: window.isVisible())
    ready = lambda: True
else:
    from dockyard.ui.mainwindow import MainWindow
    window = MainWindow()
    window.resize(1200, 800)
    window.show()
    model = window.runs_view.model
    ready = lambda: window.repositories.loaded and model.rowCount() > 0
pump(ready, timeout=60)
first = time.perf_counter()
pump(lambda: False, timeout=float(sys.argv[2]))
print(json.dumps({"ready": first, "rss": rss_mb()}))
"""


def measure(kind: str, env: dict[str, str]) -> tuple[float, float]:
    """(seconds from start until ready, RSS in MB after settling) of one child process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, kind, str(SETTLE_S)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {kind} window failed: {done.stderr.strip()}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # The child's clock starts with it: its "ready" moment is measured from our start.
    return result["ready"] - started, result["rss"]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        home, _repo, _key = repo_with_runs(Path(folder), RUNS)
        env = {**os.environ, "DOCKYARD_HOME": str(home), "DOCKYARD_USER": "b@example.test"}
        env["DOCKER_HOST"] = f"unix://{folder}/no-daemon.sock"  # no daemon: nothing to wait on
        env = as_installed(env, Path(folder) / "bytecode")
        for kind in ("empty", "dockyard"):
            measure(kind, env)  # writes the bytecode: not measured
        empty = [measure("empty", env) for _ in range(ROUNDS)]
        dockyard = [measure("dockyard", env) for _ in range(ROUNDS)]
    empty_rss = statistics.median(rss for _t, rss in empty)
    window_rss = statistics.median(rss for _t, rss in dockyard)
    empty_start = statistics.median(t for t, _rss in empty)
    window_start = statistics.median(t for t, _rss in dockyard)
    start_target = 1.5 * empty_start + 0.3
    report(
        [
            Row("window: empty PySide6 window, RSS", f"{empty_rss:.0f} MB"),
            Row(
                f"window: Dockyard with a repository of {RUNS:,} runs, RSS",
                f"{window_rss:.0f} MB (+{window_rss - empty_rss:.0f} MB)",
                "≤ empty + 80 MB",
                window_rss <= empty_rss + 80,
            ),
            Row("window: empty PySide6 window, start to shown", f"{empty_start:.2f} s"),
            Row(
                f"window: Dockyard start to its {RUNS:,}-run table shown",
                f"{window_start:.2f} s",
                f"≤ 1.5× empty + 0.3 s ({start_target:.2f} s)",
                window_start <= start_target,
                f"1 repository of {RUNS:,} runs, not yet issue 13's full scale (100 repositories, "
                "10,000 runs, 2,000 deployments, 50,000 audit entries)",
            ),
        ]
    )


if __name__ == "__main__":
    main()
