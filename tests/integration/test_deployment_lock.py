"""Deployments to one environment take turns across processes, and the ledger records a
success only when the daemon runs that very digest. Real daemon (Swarm), registry and
git; each command is its own `dockyard` process."""

from __future__ import annotations

import time

import docker
import docker.errors
import pytest
from docker.models.services import Service

from dockyard.engine.deploy import resource_name
from integration.slow_approval import SlowApproval, running_image
from testbed.cli import LEAD, environment

pytestmark = pytest.mark.docker

ON_CALL = "oncall@example.test"


def test_a_rollback_during_a_slow_approval_waits_and_the_ledger_equals_the_daemon(
    slow_approval: SlowApproval, docker_client: docker.DockerClient
) -> None:
    cli, repo, ledger = slow_approval.cli, slow_approval.repo, slow_approval.ledger
    refused = cli("rollback", repo, "production", "--to", "v1.0.0", "--comment", "no", "--no-wait")
    assert refused.returncode == 2, refused.stderr
    assert "production" in refused.stderr and "busy with the deployment of v2.0.0" in (
        refused.stderr
    )
    assert len(refused.stderr.strip().splitlines()) == 1
    rollback = cli.start(
        "rollback", repo, "production", "--to", "v1.0.0", "--comment", "v2 is slow",
        user=ON_CALL,
    )  # fmt: skip
    _, approved_err = slow_approval.approve.communicate(timeout=300)
    _, rolled_err = rollback.communicate(timeout=300)
    assert slow_approval.approve.returncode == 0, approved_err
    assert rollback.returncode == 0, rolled_err
    assert rolled_err.count("Waiting for the deployment of v2.0.0 to production") == 1
    assert f"/{LEAD}" in rolled_err

    # The rollback went last, after the approval had finished: both agree on v1.0.0.
    assert running_image(docker_client, repo).endswith("@" + slow_approval.v1)
    production = environment(cli.json("status", repo), "production")
    assert production["release"]["digest"] == slow_approval.v1 and production["release"]["rollback"]
    assert production["drift"] is None
    history = ledger.deployments(repo, "production")
    assert [d.digest for d in history[:2]] == [slow_approval.v1, slow_approval.v2]
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
    slow_approval: SlowApproval, docker_client: docker.DockerClient
) -> None:
    cli, repo = slow_approval.cli, slow_approval.repo
    service = docker_client.services.get(resource_name(repo, "production"))
    slow_approval.until_swarm_updates(docker_client)
    # By hand, behind Dockyard's back, while the approval waits for its update.
    v1_image = running_image(docker_client, repo).split("@")[0] + "@" + slow_approval.v1
    update_by_hand(service, image=v1_image)
    _, approved_err = slow_approval.approve.communicate(timeout=300)
    assert slow_approval.approve.returncode == 1, approved_err
    assert "was changed by a change outside Dockyard" in approved_err
    production = environment(cli.json("status", repo), "production")
    assert production["latest"]["status"] == "failed"
    assert production["release"]["digest"] == slow_approval.v1  # the ledger names what runs
