"""How much time Dockyard adds to a run, against the same steps typed as docker commands.

Starts its own dockerd and registry (tests/testbed), makes a small repository, then
alternates: (a) `docker build` + compose test + `docker push` by hand, (b) the command
`dockyard run REPO`, a process of its own as a user starts it (with its modules' bytecode
compiled, as an installed Dockyard has it), (c) the same run through the engine in this
process (what the command adds on top is Python's start and the imports). Reports the
median of each; target (issue 13): the command is no slower than the commands typed by
hand. Run with `make bench`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "desktop"), str(ROOT / "tests")]

from benchmarks.rows import Row, report, sized  # noqa: E402
from dockyard.engine.pipeline.compose import compose_command  # noqa: E402
from dockyard.engine.pipeline.start import start_pipeline  # noqa: E402
from dockyard.store.database import open_database  # noqa: E402
from testbed.baseimage import ensure_busybox  # noqa: E402
from testbed.dockerd import start_daemon  # noqa: E402
from testbed.gitrepos import make_app_repo  # noqa: E402
from testbed.registry import start_registry  # noqa: E402

ROUNDS = sized(5, 1)


def by_hand(repo: Path, image: str, round_: int, env: dict[str, str]) -> float:
    tag = f"{image}:manual{round_}"
    started = time.perf_counter()
    subprocess.run(
        ["docker", "build", "-q", "-t", tag, str(repo)], check=True, env=env, capture_output=True
    )
    compose = [*compose_command(), "-p", f"bench{round_}", "-f", str(repo / "compose.test.yml")]
    test_env = {**env, "DOCKYARD_IMAGE": tag}
    subprocess.run(
        [*compose, "up", "--abort-on-container-exit", "--exit-code-from", "sut"],
        check=True,
        env=test_env,
        capture_output=True,
    )
    subprocess.run([*compose, "down", "-v"], check=True, env=test_env, capture_output=True)
    subprocess.run(["docker", "push", tag], check=True, env=env, capture_output=True)
    return time.perf_counter() - started


def with_dockyard(repo: Path, home: Path) -> float:
    started = time.perf_counter()
    outcome = start_pipeline(
        home=home, db=open_database(home), location=str(repo), ref=None, started_by="bench"
    )
    elapsed = time.perf_counter() - started
    if outcome.run.status != "succeeded":
        raise SystemExit(f"the run failed: {outcome.run.error}")
    return elapsed


def with_command(repo: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "dockyard", "run", str(repo)], env=env, capture_output=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"dockyard run failed: {done.stderr.decode(errors='replace')}")
    return elapsed


def command_environment(env: dict[str, str], home: Path, bytecode: Path) -> dict[str, str]:
    command = {**env, "DOCKYARD_HOME": str(home), "DOCKYARD_USER": "bench@example.test"}
    command["PYTHONPATH"] = os.pathsep.join([str(ROOT / "desktop"), env.get("PYTHONPATH", "")])
    # An installed Dockyard has its bytecode; the test runner's environment forbids writing it.
    command.pop("PYTHONDONTWRITEBYTECODE", None)
    command["PYTHONPYCACHEPREFIX"] = str(bytecode)
    return command


def main() -> None:
    daemon = start_daemon()
    registry = start_registry()
    os.environ["DOCKER_HOST"] = daemon.url
    env = {**os.environ}
    try:
        client = daemon.client()
        ensure_busybox(client)
        client.close()
        with tempfile.TemporaryDirectory() as folder:
            image = f"{registry.host}/bench/web"
            repo = make_app_repo(Path(folder) / "web", dockyard_yml=f"image: {image}\n")
            home = Path(folder) / "home"
            os.environ["DOCKYARD_HOME"] = str(home)  # the engine's caches too (tools.json)
            command_env = command_environment(env, home, Path(folder) / "bytecode")
            manual, command, engine = [], [], []
            by_hand(repo.path, image, 0, env)  # warm the build cache for all three
            with_command(repo.path, command_env)  # and compile the bytecode
            with_dockyard(repo.path, home)
            for round_ in range(1, ROUNDS + 1):
                manual.append(by_hand(repo.path, image, round_, env))
                command.append(with_command(repo.path, command_env))
                engine.append(with_dockyard(repo.path, home))
            m, c, e = map(statistics.median, (manual, command, engine))
            report(
                [
                    Row(
                        f"run: by hand (build + compose test + push), median of {ROUNDS}",
                        f"{m:.2f} s",
                    ),
                    Row(
                        f"run: dockyard run REPO (same steps, recorded), median of {ROUNDS}",
                        f"{c:.2f} s ({c / m:.2f}× by hand)",
                        "≤ 1.0× by hand",
                        c <= m,
                    ),
                    Row(
                        f"run: the same run in-process (no Python start), median of {ROUNDS}",
                        f"{e:.2f} s ({e / m:.2f}× by hand)",
                    ),
                ]
            )
    finally:
        registry.stop()
        daemon.stop()


if __name__ == "__main__":
    main()
