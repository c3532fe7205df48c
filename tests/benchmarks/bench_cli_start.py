"""How fast the command line starts: ``--version``, ``runs`` and ``status`` of a
repository with 1,000 recorded runs, each the median of several starts.

``status`` reads dockyard.yml through git and asks the environment's daemon for drift;
when no daemon can be started here, its host is unreachable (refused at once) and the
row says so. Each command starts with its modules' bytecode, as an installed one does.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.ledger import repo_with_runs
from benchmarks.rows import Row, as_installed, report, sized
from testbed.dockerd import NoDaemon, start_daemon

RUNS = sized(1000, 50)
ROUNDS = sized(7, 1)
# The installed command, as a user types it (python -m dockyard where it is not installed).
_SCRIPT = Path(sys.executable).with_name("dockyard")
DOCKYARD = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "dockyard"]


def median_seconds(command: list[str], env: dict[str, str]) -> float:
    times = []
    subprocess.run(command, env=env, capture_output=True)  # writes the bytecode: not measured
    for _ in range(ROUNDS):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return statistics.median(times)


def main() -> None:
    try:
        daemon = start_daemon(swarm=False)
    except NoDaemon:
        daemon = None
    try:
        with tempfile.TemporaryDirectory() as folder:
            home, repo, _key = repo_with_runs(Path(folder), RUNS)
            env = {**os.environ, "DOCKYARD_HOME": str(home), "DOCKYARD_USER": "b@example.test"}
            env = as_installed(env, Path(folder) / "bytecode")
            env["DOCKER_HOST"] = daemon.url if daemon else f"unix://{folder}/no-daemon.sock"
            version = median_seconds([*DOCKYARD, "--version"], env)
            runs = median_seconds([*DOCKYARD, "runs", str(repo.path)], env)
            status = median_seconds([*DOCKYARD, "status", str(repo.path)], env)
            python = median_seconds([sys.executable, "-c", "pass"], env)
            rows = [
                Row("CLI: python -c pass (the floor)", f"{python * 1000:.0f} ms"),
                Row(
                    "CLI: dockyard --version",
                    f"{version * 1000:.0f} ms",
                    "≤ 100 ms",
                    version <= 0.1,
                ),
                Row(
                    f"CLI: dockyard runs REPO ({RUNS:,} runs)",
                    f"{runs * 1000:.0f} ms",
                    "≤ 250 ms",
                    runs <= 0.25,
                ),
                Row(
                    f"CLI: dockyard status REPO ({RUNS:,} runs, 1 environment)",
                    f"{status * 1000:.0f} ms",
                    "≤ 250 ms",
                    status <= 0.25,
                    "" if daemon else "no daemon here: the environment's host was unreachable",
                ),
            ]
            if daemon and shutil.which("docker"):
                ps = median_seconds(["docker", "ps"], env)
                rows.append(Row("CLI: docker ps (for comparison)", f"{ps * 1000:.0f} ms"))
            report(rows)
    finally:
        if daemon is not None:
            daemon.stop()


if __name__ == "__main__":
    main()
