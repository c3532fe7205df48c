"""v1.0.0 runs in production (Swarm service mode) and ``dockyard approve`` of a v2.0.0 whose
health check passes only after a few seconds is deploying it: the state in which tests
interrupt, race or change a deployment under way. ``slow_approval`` in
``integration/conftest.py`` gives it to a test."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest

from dockyard.core.locations import normalise_location
from dockyard.engine.deploy import resource_name
from dockyard.engine.deploy.deployers import deployer_for
from dockyard.store.database import open_database
from dockyard.store.ledger import SqliteReleaseLedger
from testbed.cli import LEAD, Cli
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
from testbed.registry import LocalRegistry

QUICK = "wget -q -O /dev/null http://127.0.0.1/"
# Healthy only after 12 s: the approval's deployment sits in its health gate while a test
# (two or three CLI commands, slow on a loaded machine) races or interrupts it.
SLOW = "sleep 12; wget -q -O /dev/null http://127.0.0.1/"
PIPELINE = """\
image: {image}
environments:
  production:
    mode: service
    approval: {{required: 1}}
    healthcheck: {{test: "{check}", interval: 1s, timeout: 30s, retries: 3}}
"""


@dataclass
class SlowApproval:
    """v1.0.0 runs in production; ``approve`` of the slow v2.0.0 is deploying it."""

    cli: Cli
    repo: str
    v1: str
    v2: str
    run_id: str  # the run of v2.0.0
    ledger: SqliteReleaseLedger
    approve: subprocess.Popen[str]

    def until_swarm_updates(self, client: docker.DockerClient) -> None:
        """Until the service's spec is the approval's (Swarm has the update in hand)."""
        deadline = time.monotonic() + 60
        while not running_image(client, self.repo).endswith("@" + self.v2):
            assert time.monotonic() < deadline, "the update never reached Swarm"
            time.sleep(0.1)


@contextlib.contextmanager
def slow_approval_deploying(
    tmp_path: Path,
    home: Path,
    daemon: PrivateDaemon,
    client: docker.DockerClient,
    registry: LocalRegistry,
) -> Iterator[SlowApproval]:
    image = f"{registry.host}/{''.join(filter(str.isalnum, tmp_path.name.lower()))}/web"
    git_repo = make_app_repo(
        tmp_path / "web", dockyard_yml=PIPELINE.format(image=image, check=QUICK)
    )
    git_repo.tag("v1.0.0")
    repo = normalise_location(str(git_repo.path))
    cli = Cli(home, daemon)
    ledger = SqliteReleaseLedger(open_database(home))
    try:
        v1 = cli.json("run", repo, "--ref", "v1.0.0")["image"]["digest"]
        assert cli("approve", repo, "production", user=LEAD).returncode == 0
        git_repo.commit("slow start", {"dockyard.yml": PIPELINE.format(image=image, check=SLOW)})
        git_repo.tag("v2.0.0")
        second = cli.json("run", repo, "--ref", "v2.0.0")
        v2 = second["image"]["digest"]
        approve = cli.start("approve", repo, "production", user=LEAD)
        _wait_until_deploying(ledger, repo, v2)
        yield SlowApproval(cli, repo, v1, v2, second["id"], ledger, approve)
    finally:
        git_repo.repo.close()
        deployer_for("service", client).remove(repo, "production")
        for leftover in client.images.list(name=image):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                client.images.remove(leftover.id, force=True)


def _wait_until_deploying(ledger: SqliteReleaseLedger, repo: str, digest: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        latest = ledger.latest_deployment(repo, "production")
        if latest is not None and latest.digest == digest and latest.status == "deploying":
            return
        time.sleep(0.2)
    pytest.fail("the approval never started deploying")


def running_image(client: docker.DockerClient, repo: str) -> str:
    spec = client.services.get(resource_name(repo, "production")).attrs["Spec"]
    return str(spec["TaskTemplate"]["ContainerSpec"]["Image"])
