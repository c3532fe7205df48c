"""Deployments to one environment take turns across processes, and the ledger records a
success only when the daemon runs that very digest. Real daemon (Swarm), registry and
git; each command is its own `dockyard` process."""

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
from docker.models.services import Service

from dockyard.core.locations import normalise_location
from dockyard.engine.deploy import deployer_for, resource_name
from dockyard.store.database import open_database
from dockyard.store.ledger import SqliteReleaseLedger
from integration.test_releases import LEAD, Cli, environment
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker

ON_CALL = "oncall@example.test"
QUICK = "wget -q -O /dev/null http://127.0.0.1/"
# Healthy only after a few seconds: the approval's deployment sits in its health gate.
SLOW = "sleep 6; wget -q -O /dev/null http://127.0.0.1/"
PIPELINE = """\
image: {image}
environments:
  production:
    mode: service
    approval: {{required: 1}}
    healthcheck: {{test: "{check}", interval: 1s, timeout: 15s, retries: 3}}
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


def test_a_rollback_during_a_slow_approval_waits_and_the_ledger_equals_the_daemon(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    with slow_approval_deploying(
        tmp_path, dockyard_home, swarm_daemon, docker_client, registry
    ) as slow:
        cli, repo, ledger = slow.cli, slow.repo, slow.ledger
        time.sleep(2)
        refused = cli(
            "rollback", repo, "production", "--to", "v1.0.0", "--comment", "no", "--no-wait"
        )
        assert refused.returncode == 2, refused.stderr
        assert "production" in refused.stderr and "busy with the deployment of v2.0.0" in (
            refused.stderr
        )
        assert len(refused.stderr.strip().splitlines()) == 1
        rollback = cli.start(
            "rollback", repo, "production", "--to", "v1.0.0", "--comment", "v2 is slow",
            user=ON_CALL,
        )  # fmt: skip
        _, approved_err = slow.approve.communicate(timeout=300)
        _, rolled_err = rollback.communicate(timeout=300)
        assert slow.approve.returncode == 0, approved_err
        assert rollback.returncode == 0, rolled_err
        assert rolled_err.count("Waiting for the deployment of v2.0.0 to production") == 1
        assert f"/{LEAD}" in rolled_err

        # The rollback went last, after the approval had finished: both agree on v1.0.0.
        assert running_image(docker_client, repo).endswith("@" + slow.v1)
        production = environment(cli.json("status", repo), "production")
        assert production["release"]["digest"] == slow.v1 and production["release"]["rollback"]
        assert production["drift"] is None
        history = ledger.deployments(repo, "production")
        assert [d.digest for d in history[:2]] == [slow.v1, slow.v2]
        assert history[0].rolled_back_from == history[1].id  # read after the approval ended
        assert cli("audit", "verify").returncode == 0


def update_by_hand(service: Service, **changes: str) -> None:
    """``docker service update`` as a person would; Swarm bumps the service's version while
    its own rolling update moves on, so an update of a version just read may be refused as
    "out of sequence": read it again and retry, as the docker CLI user would."""
    for _ in range(20):
        service.reload()
        try:
            service.update(**changes)
            return
        except docker.errors.APIError as exc:
            if "out of sequence" not in str(exc):
                raise
        time.sleep(0.2)
    raise AssertionError("Swarm refused the update by hand 20 times: out of sequence")


def test_an_update_that_replaced_the_deployment_is_never_recorded_as_its_success(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    with slow_approval_deploying(
        tmp_path, dockyard_home, swarm_daemon, docker_client, registry
    ) as slow:
        cli, repo = slow.cli, slow.repo
        service = docker_client.services.get(resource_name(repo, "production"))
        slow.until_swarm_updates(docker_client)
        # By hand, behind Dockyard's back, while the approval waits for its update.
        v1_image = running_image(docker_client, repo).split("@")[0] + "@" + slow.v1
        update_by_hand(service, image=v1_image)
        _, approved_err = slow.approve.communicate(timeout=300)
        assert slow.approve.returncode == 1, approved_err
        assert "was changed by a change outside Dockyard" in approved_err
        production = environment(cli.json("status", repo), "production")
        assert production["latest"]["status"] == "failed"
        assert production["release"]["digest"] == slow.v1  # the ledger names what runs
