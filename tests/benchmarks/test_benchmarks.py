"""Every benchmark runs in quick mode (small sizes) so none can rot unseen.

These tests assert that a benchmark completes and reports its rows, never its timings:
``make bench`` measures (full size, one table with targets), this only keeps it working.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.run import HERE, run_one
from testbed.dockerd import PrivateDaemon

# Benchmarks that need the test Docker daemon (they get the session's through the env).
NEEDS_DOCKER = {"bench_pipeline_overhead", "bench_ui_heartbeat"}
WITHOUT_DOCKER = sorted({p.stem for p in HERE.glob("bench_*.py")} - NEEDS_DOCKER)


def _runs_quick(name: str, env: dict[str, str] | None = None) -> None:
    rows, failure = run_one(HERE / f"{name}.py", quick=True, timeout=900, extra_env=env)
    assert not failure, failure
    assert rows and all(row.figure and row.measured for row in rows)


@pytest.mark.parametrize("name", WITHOUT_DOCKER)
def test_benchmark_runs_quick(name: str) -> None:
    _runs_quick(name)


@pytest.mark.docker
@pytest.mark.parametrize("name", sorted(NEEDS_DOCKER))
def test_docker_benchmark_runs_quick(name: str, docker_daemon: PrivateDaemon) -> None:
    _runs_quick(name, {"DOCKYARD_TEST_DOCKER_HOST": docker_daemon.url})


def test_every_benchmark_file_is_known() -> None:
    names = {p.stem for p in Path(HERE).glob("bench_*.py")}
    assert names >= NEEDS_DOCKER
