"""Is ``dockyard status`` on a team ledger within 1.5× of the local ledger on the same data?

One history (tests/testbed/history.py: releases to staging and production with approvals,
failures and rollbacks, about 2,000 deployments) plus runs up to 10,000, written to a
local SQLite ledger and copied row for row into a team ledger on a real PostgreSQL server
of its own (Debian's package, started here). Measured: the ``dockyard status REPO --json``
command as a user runs it (interpreter start, the login, every query: through the light
client, store/pg_wire.py, not psycopg), the median of several runs against each ledger,
taking turns, each started with its modules' bytecode as an installed Dockyard is and the
team's password in the keyring as ``dockyard team connect`` keeps it; the status read
alone, in-process; and opening the window until the repository's runs show (median of
5, taking turns; in this process, which imported psycopg for the setup: that import is
not in the window's figure). Run by ``make bench``.

PYTHONPATH=desktop:tests python tests/benchmarks/bench_team_status.py
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.rows import Row, as_installed, report, sized
from benchmarks.scale import commit_pipeline
from dockyard.core.model import utcnow

TARGET_RATIO = 1.5
RUNS = 10_000


def main() -> int:
    import psycopg

    from dockyard.store import team
    from dockyard.store.database import open_database
    from dockyard.store.repositories import RepositoryStore
    from testbed.history import TABLES, add_runs, copy_to_team, make_history_repo, record_history
    from testbed.postgres import start_postgres

    releases_wanted, runs_wanted, repeats = sized(1000, 20), sized(RUNS, 200), sized(7, 2)
    work = Path(tempfile.mkdtemp(prefix="dy-bench-team-"))
    repo_path = work / "repo"
    releases = make_history_repo(repo_path, utcnow(), releases_wanted, 90)
    head = commit_pipeline(repo_path)
    # Team mode knows a clone by its origin: the repository is its own origin here.
    subprocess.run(["git", "-C", str(repo_path), "remote", "add", "origin", str(repo_path)])
    repo = str(repo_path)

    local_home = work / "local"
    db = open_database(local_home)
    RepositoryStore(db).add(repo)
    deployments = record_history(db, repo, releases)
    add_runs(db, repo, runs_wanted, head)
    counts = {t: db.connect().execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}

    server = start_postgres()
    try:
        name = "bench_team"
        with psycopg.connect(server.dsn(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        with psycopg.connect(server.dsn(dbname=name), autocommit=True) as owner:
            team.init_schema(owner)
            copy_to_team(db, owner)
        db.close()
        team_home = work / "team"
        env = as_installed({**os.environ, "DOCKER_HOST": "unix:///nonexistent"}, work / "bytecode")
        # As a member connects: the password goes to the keyring, read at every command.
        _connect(team_home, server.url(database=name), server.password, env)
        local, shared = _command_seconds((local_home, team_home), repo, env, repeats)
        os.environ.update(env)
        reads = {h.name: _status_seconds(h, repo, repeats) for h in (local_home, team_home)}
        windows = _windows_seconds((local_home, team_home), repo, sized(5, 1))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    ratio = shared / local
    report(
        [
            Row(
                "team status: ledger size",
                f"{counts['runs']} runs, {deployments} deployments",
            ),
            Row("team status: dockyard status, local ledger", f"{local * 1000:.0f} ms"),
            Row("team status: dockyard status, team ledger", f"{shared * 1000:.0f} ms"),
            Row("team status: status read in-process, local", f"{reads['local'] * 1000:.0f} ms"),
            Row("team status: status read in-process, team", f"{reads['team'] * 1000:.0f} ms"),
            Row(
                "team window: open until the runs show, local", f"{windows['local'] * 1000:.0f} ms"
            ),
            Row("team window: open until the runs show, team", f"{windows['team'] * 1000:.0f} ms"),
            Row(
                "team window: team ÷ local",
                f"{windows['team'] / windows['local']:.2f}×",
                f"≤ {TARGET_RATIO}×",
                windows["team"] / windows["local"] <= TARGET_RATIO,
            ),
            Row(
                "team status: team ÷ local (the command)",
                f"{ratio:.2f}×",
                f"≤ {TARGET_RATIO}×",
                ratio <= TARGET_RATIO,
            ),
        ]
    )
    return 0


def _status_seconds(home: Path, repo: str, repeats: int) -> float:
    """The median time of the status read alone (the ledger open as the command opens it:
    in team mode through the light client, store/pg_wire.py)."""
    from dockyard.engine.ledger_source import open_ledger
    from dockyard.engine.release.service import ReleaseService

    db = open_ledger(home, light_reads=True)
    service = ReleaseService(home=home, db=db, identity="bench")
    times = []
    for _ in range(repeats + 1):
        began = time.perf_counter()
        service.status(repo)
        times.append(time.perf_counter() - began)
    db.close()
    return statistics.median(times[1:])


def _windows_seconds(homes: tuple[Path, ...], repo: str, repeats: int) -> dict[str, float]:
    """The median time of each home's window until the runs show, the homes taking turns,
    after a first window (which pays for fonts and styles)."""
    _window_seconds(homes[0], repo)
    times: dict[str, list[float]] = {home.name: [] for home in homes}
    for _ in range(repeats):
        for home in homes:
            times[home.name].append(_window_seconds(home, repo))
    return {name: statistics.median(kept) for name, kept in times.items()}


def _window_seconds(home: Path, repo: str) -> float:
    """From ``MainWindow()`` until the repository's runs show in its Runs table (the team
    ledger is connected in a worker meanwhile)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from dockyard.ui.mainwindow import MainWindow

    app = QApplication.instance() or QApplication([])
    os.environ["DOCKYARD_HOME"] = str(home)
    began = time.perf_counter()
    window = MainWindow(home=home)
    window.show()
    selected = False
    deadline = began + 120
    while time.perf_counter() < deadline:
        app.processEvents()
        if not selected and window.repositories.loaded:
            window.repositories.refresh(select=repo)
            selected = True
        if selected and window.runs_view.model.rowCount() > 0:
            break
        time.sleep(0.001)
    else:
        raise SystemExit(f"the window of {home} did not show the runs of {repo}")
    took = time.perf_counter() - began
    window.tasks.wait(30_000)
    window.close()
    window.db.close()
    app.processEvents()
    return took


def _connect(home: Path, url: str, password: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dockyard", "team", "connect", url],
        env={**env, "DOCKYARD_HOME": str(home)}, input=password, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"dockyard team connect failed ({done.returncode}): {done.stderr}")


def _command_seconds(
    homes: tuple[Path, ...], repo: str, env: dict[str, str], repeats: int
) -> list[float]:
    """The median wall time of ``dockyard status REPO --json`` from each home, the homes
    taking turns: a change of the machine's load meanwhile weighs on each alike."""
    times: list[list[float]] = [[] for _ in homes]
    for _ in range(repeats + 1):  # the first warms the disk cache, the server, the bytecode
        for home, kept in zip(homes, times, strict=True):
            command_env = {**env, "DOCKYARD_HOME": str(home)}
            command_env.pop("DOCKYARD_USER", None)
            began = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "dockyard", "status", repo, "--json"],
                env=command_env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            kept.append(time.perf_counter() - began)
            if done.returncode not in (0, 3):
                raise SystemExit(f"dockyard status failed ({done.returncode}): {done.stderr}")
    return [statistics.median(kept[1:]) for kept in times]


if __name__ == "__main__":
    sys.exit(main())
