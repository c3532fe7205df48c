"""Apps that exit after their health gate passed, committed to a repository of their own
and run through the CLI until Dockyard sees a restart loop: what the health-report tests
(the CLI's and the window's) share."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker

from dockyard.core.locations import normalise_location
from integration.deploy_images import forget
from testbed.cli import Cli, environment, outcomes
from testbed.gitrepos import make_app_repo

# Up for 10 s (past both health gates), then it exits 4; restarted in the same container
# (container mode) it finds its marker and exits at once, again and again. Swarm starts a
# fresh task each time, which runs 10 s again.
CRASH_LATER = """\
if [ -f /tmp/started ]; then echo "crashed again"; exit 4; fi
touch /tmp/started
echo "app starting"
sleep 10
echo "lost the database"
exit 4
"""


def committed_app(path: Path, pipeline: str, app: str) -> str:
    """A repository whose app.sh is ``app``; returns its location."""
    git_repo = make_app_repo(path, dockyard_yml=pipeline)
    git_repo.commit("the app under test", {"app.sh": app})
    return normalise_location(str(git_repo.path))


def until_restart_loops(
    cli: Cli, repo: str, names: tuple[str, ...] = ("staging", "production"), timeout: float = 120.0
) -> dict[str, Any]:
    """The status once each of ``names`` restarted twice at least."""
    deadline = time.monotonic() + timeout
    while True:
        status = cli.json("status", repo)
        running = [environment(status, name)["running"] for name in names]
        if all(live and live[0]["restarts"] >= 2 for live in running):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(1)


@contextlib.contextmanager
def restart_loop(
    cli: Cli,
    client: docker.DockerClient,
    path: Path,
    pipeline: str,
    app: str,
    expected: dict[str, str],
    names: tuple[str, ...] = ("staging", "production"),
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``app`` committed at ``path`` and run, its outcomes ``expected``: the repository and
    its status once each of ``names`` is in a restart loop. What its runs deployed and
    built is removed afterwards."""
    repo = committed_app(path, pipeline, app)
    try:
        run = cli.json("run", repo)
        assert outcomes(run) == expected
        yield repo, until_restart_loops(cli, repo, names)
    finally:
        forget(repo, client)
