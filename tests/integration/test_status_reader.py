"""``dockyard status`` reads a local daemon through its socket, without Docker's SDK: the
answers a user reads are those of the deployers' SDK reads, and a daemon that refuses is
worded the same. Real daemon, Swarm, registry, git; what the deployers read through the
SDK is compared in the deployer tests (``read_as_status_does``)."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from dockyard.core.errors import InfrastructureError
from dockyard.core.locations import normalise_location
from dockyard.engine.deploy import resource_name
from dockyard.engine.deploy.dockerops import docker_errors
from dockyard.engine.endpoints.daemon_reader import daemon_errors
from dockyard.engine.endpoints.reading import reading
from dockyard.engine.endpoints.record import Endpoint
from dockyard.engine.endpoints.sdk_reader import SdkReader
from integration.deploy_images import forget
from testbed.cli import DEV, Cli, environment, modules_imported_by, outcomes
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo

pytestmark = [pytest.mark.docker]

PIPELINE = """\
environments:
  staging:
    mode: container
    auto: true
    grace: 1s
  production:
    mode: service
    auto: true
    after: staging
    grace: 1s
"""
SDK = {"docker", "requests", "urllib3"}


def test_status_reads_container_and_service_mode_without_docker_sdk(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:
    repo = normalise_location(str(make_app_repo(tmp_path / "app", dockyard_yml=PIPELINE).path))
    cli = Cli(dockyard_home, swarm_daemon)
    try:
        assert outcomes(cli.json("run", repo)) == {"staging": "deployed", "production": "deployed"}
        docker_client.containers.get(resource_name(repo, "staging")).stop(timeout=1)

        code, printed, modules = modules_imported_by(cli.environ(DEV), "status", repo, "--json")
        assert code == 0
        assert {name.split(".")[0] for name in modules}.isdisjoint(SDK)
        status = json.loads(printed)
        staging, production = environment(status, "staging"), environment(status, "production")
        assert staging["drift"].startswith("is exited; Dockyard deployed ")
        assert [r["state"] for r in staging["running"]] == ["exited"]
        assert (production["drift"], production["host_error"]) == (None, None)
        (service,) = production["running"]
        assert (service["state"], service["healthy"], service["deployment"]) == (
            "running", True, production["release"]["id"],
        )  # fmt: skip
        assert service["digest"] == production["release"]["digest"]
        text = cli("status", repo).stdout
        assert "DRIFT: is exited; Dockyard deployed " in text
        assert "production: " in text and text.count("DRIFT") == 1
    finally:
        forget(repo, docker_client)


def test_a_daemon_that_refuses_is_worded_as_through_the_sdk(
    docker_daemon: PrivateDaemon, docker_client: docker.DockerClient
) -> None:
    bogus = {"bogus": "x"}  # the daemon refuses a filter it does not know
    with pytest.raises(InfrastructureError) as through_the_sdk, docker_errors("list containers"):
        docker_client.containers.list(all=True, filters=bogus)
    endpoint = Endpoint(name="test", url=docker_daemon.url)
    with (
        pytest.raises(InfrastructureError) as from_the_socket,
        reading(endpoint, timeout=30) as reader,
        daemon_errors("list containers"),
    ):
        reader.containers(bogus)
    with pytest.raises(InfrastructureError) as sdk_reader, daemon_errors("list containers"):
        SdkReader(docker_client).containers(bogus)
    message = through_the_sdk.value.message
    assert message.startswith("Docker refused to list containers: ")
    assert "bogus" in message and message.endswith("; check the host and try again.")
    assert from_the_socket.value.message == message == sdk_reader.value.message
