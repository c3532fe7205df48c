"""`kill -9` of `dockyard approve` while Swarm updates the service: recovery waits for the
update to settle and records what the daemon then runs; the run's deploy stage ends and
no drift remains. Real daemon (Swarm), registry and git; the CLI is SIGKILLed."""

from __future__ import annotations

from typing import Any

import docker
import pytest

from dockyard.engine.deploy import resource_name
from integration.killed_runs import kill
from integration.slow_approval import SlowApproval
from testbed.cli import environment

pytestmark = pytest.mark.docker


def service_of(client: docker.DockerClient, repo: str) -> Any:
    return client.services.get(resource_name(repo, "production")).attrs


def test_approve_killed_during_a_swarm_update_is_recorded_as_what_the_daemon_then_runs(
    slow_approval: SlowApproval, docker_client: docker.DockerClient
) -> None:
    cli, repo = slow_approval.cli, slow_approval.repo
    deployment = slow_approval.ledger.latest_deployment(repo, "production")
    assert deployment is not None
    slow_approval.until_swarm_updates(docker_client)  # then kill: Swarm carries on alone
    kill(slow_approval.approve)
    assert slow_approval.approve.stdout is not None
    slow_approval.approve.stdout.close()
    assert (service_of(docker_client, repo).get("UpdateStatus") or {}).get("State") == "updating"

    status = cli.json("status", repo)
    production = environment(status, "production")
    assert production["latest"]["id"] == deployment.id
    assert production["latest"]["status"] == "deployed", production["latest"]
    assert production["release"]["digest"] == slow_approval.v2
    assert production["drift"] is None
    assert any("recorded as deployed" in line for line in status["recovery"])
    image = service_of(docker_client, repo)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    assert image.endswith("@" + slow_approval.v2)

    run = next(r for r in cli.json("runs", repo) if r["id"] == slow_approval.run_id)
    stages = {s["name"]: s["status"] for s in run["stages"]}
    assert stages["deploy-production"] == "succeeded"
    assert run["status"] == "succeeded"
    again = cli.json("status", repo)
    assert again["recovery"] == [] and environment(again, "production")["drift"] is None
    assert cli("audit", "verify").returncode == 0
