"""`dockyard metrics --json` on a history made through the real pipeline: runs, approvals,
a rollback and a failed health gate, on a real daemon, registry and git."""

from __future__ import annotations

import contextlib
import sqlite3
import statistics
from datetime import datetime
from pathlib import Path

import docker
import pytest

from dockyard.core.locations import normalise_location
from dockyard.engine.deploy.deployers import deployer_for
from testbed.cli import LEAD, Cli, outcomes
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker

GOOD_CHECK = "wget -q -O /dev/null http://127.0.0.1/"
BAD_CHECK = "test -f /no-such-file"
PIPELINE = """\
image: {image}
environments:
  staging:
    mode: container
    auto: true
  production:
    mode: container
    after: staging
    approval: {{required: 1}}
    healthcheck: {{test: "{check}", interval: 500ms, timeout: 2s, retries: 2}}
"""

KEYS = {
    "deployment_frequency_per_week", "lead_time_seconds", "change_failure_rate",
    "time_to_restore_seconds", "approval_wait_seconds", "deployments", "period",
}  # fmt: skip


def approval_waits(home: Path) -> list[float]:
    """Straight from the database: what the approvals of production waited."""
    with contextlib.closing(sqlite3.connect(home / "dockyard.db")) as db:
        rows = db.execute(
            "SELECT created, resolved FROM approval_requests"
            " WHERE environment = 'production' AND status = 'approved'"
        ).fetchall()
    return [
        (datetime.fromisoformat(resolved) - datetime.fromisoformat(created)).total_seconds()
        for created, resolved in rows
    ]


def test_metrics_of_a_real_history(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    image = f"{registry.host}/metrics/web"
    git_repo = make_app_repo(
        tmp_path / "web", dockyard_yml=PIPELINE.format(image=image, check=GOOD_CHECK)
    )
    git_repo.tag("v1.0.0")
    repo = normalise_location(str(git_repo.path))
    cli = Cli(dockyard_home, docker_daemon)
    try:
        nothing = cli("metrics", repo)
        assert nothing.returncode == 2 and "Nothing is recorded" in nothing.stderr
        assert outcomes(cli.json("run", repo, "--ref", "v1.0.0"))["production"] == (
            "awaiting_approval"
        )
        empty = cli.json("metrics", repo, "--env", "production")
        assert cli("approve", repo, "production", user=LEAD).returncode == 0
        git_repo.commit("feature: search", {"search.txt": "1"})
        git_repo.commit("feature: filters", {"filters.txt": "1"})
        git_repo.tag("v1.1.0")
        cli.json("run", repo, "--ref", "v1.1.0")
        assert cli("approve", repo, "production", user=LEAD).returncode == 0
        rolled = cli("rollback", repo, "production", "--comment", "search is slow")
        assert rolled.returncode == 0, rolled.stderr
        assert cli("unpin", repo, "production").returncode == 0
        git_repo.commit(
            "production health check that fails",
            {"dockyard.yml": PIPELINE.format(image=image, check=BAD_CHECK)},
        )
        git_repo.tag("v1.2.0")
        cli.json("run", repo, "--ref", "v1.2.0")
        failed = cli("approve", repo, "production", user=LEAD)
        assert failed.returncode == 1, failed.stderr

        production = cli.json("metrics", repo, "--days", "7")
        staging = cli.json("metrics", repo, "--env", "staging", "--days", "7")
        table = cli("metrics", repo)
    finally:
        deployer_for("container", docker_client).remove(repo, "staging")
        deployer_for("container", docker_client).remove(repo, "production")
        for leftover in docker_client.images.list(name=image):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                docker_client.images.remove(leftover.id, force=True)

    assert set(production) >= KEYS and production["environment"] == "production"
    assert empty["deployments"] == 0 and empty["change_failure_rate"] is None
    assert production["period"]["days"] == 7
    assert production["deployments"] == 2  # v1.0.0 and v1.1.0; the rollback apart
    assert production["rollbacks"] == 1 and production["failed_deployments"] == 1
    assert production["deployment_frequency_per_week"] == pytest.approx(2.0)
    # v1.1.0 was rolled back, v1.2.0 failed its health gate, v1.0.0 was fine.
    assert production["change_failure_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert production["change_failures"] == 2
    # v1.0.0 brought the history before; v1.1.0 brought its two commits; v1.2.0 failed.
    assert production["based_on"]["lead_time"] == 2
    assert production["lead_time_seconds"]["median"] is not None
    # One restored incident (the rollback); v1.2.0's is still open: not enough data.
    assert production["based_on"]["time_to_restore"] == 1
    assert production["time_to_restore_seconds"] == {"median": None}
    waits = approval_waits(dockyard_home)
    assert production["based_on"]["approval_wait"] == len(waits) == 3
    assert production["approval_wait_seconds"]["median"] == pytest.approx(
        statistics.median(waits), abs=1e-3
    )
    assert staging["deployments"] == 3 and staging["change_failure_rate"] == 0
    assert table.returncode == 0, table.stderr
    assert "Change failure rate" in table.stdout and "67%" in table.stdout
    assert "not enough data" in table.stdout
