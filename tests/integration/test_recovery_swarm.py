"""`kill -9` of `dockyard approve` while Swarm updates the service: recovery waits for the
update to settle and records what the daemon then runs; the run's deploy stage ends and
no drift remains. Real daemon (Swarm), registry and git; the CLI is SIGKILLed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker
import pytest

from dockyard.engine.deploy import resource_name
from integration.test_deployment_lock import slow_approval_deploying
from integration.test_recovery import kill
from integration.test_releases import environment
from testbed.dockerd import PrivateDaemon
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker


def service_of(client: docker.DockerClient, repo: str) -> Any:
    return client.services.get(resource_name(repo, "production")).attrs


def test_approve_killed_during_a_swarm_update_is_recorded_as_what_the_daemon_then_runs(
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
        deployment = slow.ledger.latest_deployment(repo, "production")
        assert deployment is not None
        slow.until_swarm_updates(docker_client)  # then kill: Swarm carries on alone
        kill(slow.approve)
        assert slow.approve.stdout is not None
        slow.approve.stdout.close()
        assert (service_of(docker_client, repo).get("UpdateStatus") or {}).get(
            "State"
        ) == "updating"

        status = cli.json("status", repo)
        production = environment(status, "production")
        assert production["latest"]["id"] == deployment.id
        assert production["latest"]["status"] == "deployed", production["latest"]
        assert production["release"]["digest"] == slow.v2
        assert production["drift"] is None
        assert any("recorded as deployed" in line for line in status["recovery"])
        image = service_of(docker_client, repo)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
        assert image.endswith("@" + slow.v2)

        run = next(r for r in cli.json("runs", repo) if r["id"] == slow.run_id)
        stages = {s["name"]: s["status"] for s in run["stages"]}
        assert stages["deploy-production"] == "succeeded"
        assert run["status"] == "succeeded"
        again = cli.json("status", repo)
        assert again["recovery"] == [] and environment(again, "production")["drift"] is None
        assert cli("audit", "verify").returncode == 0
