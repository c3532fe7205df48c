"""`kill -9` of `dockyard approve` while Swarm updates the service: recovery waits for the
update to settle and records what the daemon then runs; the run's deploy stage ends and
no drift remains. Real daemon (Swarm), registry and git; the CLI is SIGKILLed."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from dockyard.core.locations import normalise_location
from dockyard.engine.deploy import deployer_for, resource_name
from dockyard.engine.deploy.labels import DEPLOYMENT
from dockyard.store.database import open_database
from dockyard.store.ledger import SqliteReleaseLedger
from integration.test_deployment_lock import PIPELINE, QUICK, SLOW, start, wait_until_deploying
from integration.test_recovery import kill
from integration.test_releases import LEAD, Cli, environment
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
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
    image = f"{registry.host}/killed/web"
    git_repo = make_app_repo(
        tmp_path / "web", dockyard_yml=PIPELINE.format(image=image, check=QUICK)
    )
    git_repo.tag("v1.0.0")
    repo = normalise_location(str(git_repo.path))
    cli = Cli(dockyard_home, swarm_daemon)
    ledger = SqliteReleaseLedger(open_database(dockyard_home))
    try:
        cli.json("run", repo, "--ref", "v1.0.0")
        assert cli("approve", repo, "production", user=LEAD).returncode == 0
        git_repo.commit("slow start", {"dockyard.yml": PIPELINE.format(image=image, check=SLOW)})
        git_repo.tag("v2.0.0")
        second = cli.json("run", repo, "--ref", "v2.0.0")
        v2 = second["image"]["digest"]

        approve = start(cli, "approve", repo, "production", user=LEAD)
        wait_until_deploying(ledger, repo, v2)
        deployment = ledger.latest_deployment(repo, "production")
        assert deployment is not None
        deadline = time.monotonic() + 60  # kill once Swarm has the update in hand
        while service_of(docker_client, repo)["Spec"]["Labels"].get(DEPLOYMENT) != str(
            deployment.id
        ):
            assert time.monotonic() < deadline, "the update never reached Swarm"
            time.sleep(0.1)
        kill(approve)
        assert approve.stdout is not None
        approve.stdout.close()
        assert (service_of(docker_client, repo).get("UpdateStatus") or {}).get(
            "State"
        ) == "updating"

        status = cli.json("status", repo)
        production = environment(status, "production")
        assert production["latest"]["id"] == deployment.id
        assert production["latest"]["status"] == "deployed", production["latest"]
        assert production["release"]["digest"] == v2
        assert production["drift"] is None
        assert any("recorded as deployed" in line for line in status["recovery"])
        image_spec = service_of(docker_client, repo)["Spec"]["TaskTemplate"]["ContainerSpec"]
        assert image_spec["Image"].endswith("@" + v2)

        run = next(r for r in cli.json("runs", repo) if r["id"] == second["id"])
        stages = {s["name"]: s["status"] for s in run["stages"]}
        assert stages["deploy-production"] == "succeeded"
        assert run["status"] == "succeeded"
        again = cli.json("status", repo)
        assert again["recovery"] == [] and environment(again, "production")["drift"] is None
        assert cli("audit", "verify").returncode == 0
    finally:
        deployer_for("service", docker_client).remove(repo, "production")
        for leftover in docker_client.images.list(name=image):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                docker_client.images.remove(leftover.id, force=True)
