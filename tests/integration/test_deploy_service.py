"""Service mode on the real Swarm: digests, versioned secrets/configs, Swarm's rollback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
import pytest

from dockyard.core.errors import PipelineFailed, UserInputError
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.engine.deploy import resource_name
from dockyard.engine.deploy.deployers import SwarmServiceDeployer
from dockyard.engine.events import CancelToken
from integration.deploy_images import (
    HTTP_CHECK,
    SERVE_WWW,
    LogLines,
    PushedImage,
    TestImages,
    read_as_status_does,
    request_for,
    snapshot_of,
    task_file,
)
from testbed.dockerd import PrivateDaemon
from testbed.ports import free_port

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("swarm_gateway_bridge")]

REPO = "shop/web-service"
NEVER_PULLED = PushedImage("registry.invalid/app@sha256:" + "0" * 64, "sha256:" + "0" * 64)


@pytest.fixture
def deployer(
    swarm_daemon: PrivateDaemon, docker_client: docker.DockerClient
) -> Iterator[SwarmServiceDeployer]:
    deployer = SwarmServiceDeployer(docker_client, timeout=90, poll=0.3)
    yield deployer
    for environment in ("staging", "production"):
        deployer.remove(REPO, environment)


def container_spec(client: docker.DockerClient, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = client.services.get(name).attrs["Spec"]["TaskTemplate"]["ContainerSpec"]
    return spec


def our_objects(client: docker.DockerClient, environment: str) -> dict[str, set[str]]:
    selector = {"label": [f"dockyard.repo={REPO}", f"dockyard.environment={environment}"]}
    return {
        "secrets": {s.name for s in client.secrets.list(filters=selector)},
        "configs": {c.name for c in client.configs.list(filters=selector)},
    }


def test_create_then_update_by_digest_with_versioned_secrets_and_configs(
    deployer: SwarmServiceDeployer, docker_client: docker.DockerClient, images: TestImages
) -> None:
    env = EnvironmentConfig(
        name="staging",
        mode="service",
        environment={"LOG_LEVEL": "info"},
        configs={"/etc/app/app.cfg": "app.cfg"},
        secrets=("db_password",),
        ports=(f"{free_port()}:80",),
        healthcheck=HTTP_CHECK,
        grace=1,
    )
    name = resource_name(REPO, "staging")
    first = snapshot_of(env, {"app.cfg": "colour = blue\n"}, {"db_password": "old-pass"})
    lines = LogLines()
    release = deployer.deploy(
        request_for(images.v1, first, repo=REPO, environment="staging", deployment_id=1,
                    secrets={"db_password": "old-pass"}),
        lines.log,
        CancelToken(),
    )  # fmt: skip
    assert (release.name, release.digest, release.state) == (name, images.v1.digest, "running")
    spec = container_spec(docker_client, name)
    assert images.v1.digest in spec["Image"]
    assert "LOG_LEVEL=info" in spec["Env"]
    assert task_file(docker_client, name, "/run/secrets/db_password") == "old-pass"
    assert task_file(docker_client, name, "/etc/app/app.cfg") == "colour = blue\n"
    versions_before = our_objects(docker_client, "staging")
    assert len(versions_before["secrets"]) == len(versions_before["configs"]) == 1
    assert "old-pass" not in lines.text()

    second = snapshot_of(env, {"app.cfg": "colour = green\n"}, {"db_password": "new-pass"})
    release = deployer.deploy(
        request_for(images.v2, second, repo=REPO, environment="staging", deployment_id=2,
                    secrets={"db_password": "new-pass"}),
        LogLines().log,
        CancelToken(),
    )  # fmt: skip

    spec = container_spec(docker_client, name)
    assert images.v2.digest in spec["Image"]
    assert (release.digest, release.deployment_id) == (images.v2.digest, 2)
    assert docker_client.services.get(name).attrs["Spec"]["Labels"]["dockyard.deployment"] == "2"
    assert task_file(docker_client, name, "/run/secrets/db_password") == "new-pass"
    versions_after = our_objects(docker_client, "staging")
    # New versions replaced the old ones, which no service uses any more.
    assert len(versions_after["secrets"]) == len(versions_after["configs"]) == 1
    assert versions_after["secrets"].isdisjoint(versions_before["secrets"])
    assert versions_after["configs"].isdisjoint(versions_before["configs"])
    assert {s["SecretName"] for s in spec["Secrets"]} == versions_after["secrets"]

    deployer.remove(REPO, "staging")
    assert deployer.inspect(REPO, "staging") == []
    assert our_objects(docker_client, "staging") == {"secrets": set(), "configs": set()}


def test_an_environment_command_runs_in_the_service_and_counts_as_its_configuration(
    deployer: SwarmServiceDeployer,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    images: TestImages,
) -> None:
    serve = f"echo commanded > /www/index.html && {SERVE_WWW}"
    env = EnvironmentConfig(
        name="staging", mode="service", command=("sh", "-c", serve), healthcheck=HTTP_CHECK
    )
    name = resource_name(REPO, "staging")
    release = deployer.deploy(
        request_for(images.v1, snapshot_of(env), repo=REPO, environment="staging",
                    deployment_id=1),
        LogLines().log,
        CancelToken(),
    )  # fmt: skip
    assert task_file(docker_client, name, "/www/index.html") == "commanded\n"
    assert release.config_fingerprint == snapshot_of(env).fingerprint()

    # A hand edit of the command shows as drift: the live spec no longer matches.
    service = docker_client.services.get(name)
    service.update(args=["sh", "-c", SERVE_WWW])
    assert deployer.inspect(REPO, "staging")[0].config_fingerprint == ""
    # `dockyard status` reads the same from the socket, without Docker's SDK.
    running = read_as_status_does(swarm_daemon, "service", REPO, "staging")
    assert running == deployer.inspect(REPO, "staging")


def test_failing_health_check_makes_swarm_roll_back_and_the_deployment_fail(
    deployer: SwarmServiceDeployer, docker_client: docker.DockerClient, images: TestImages
) -> None:
    env = EnvironmentConfig(name="production", mode="service", healthcheck=HTTP_CHECK, grace=1)
    snapshot = snapshot_of(env)
    name = resource_name(REPO, "production")
    deployer.deploy(
        request_for(images.v1, snapshot, repo=REPO, environment="production", deployment_id=1),
        LogLines().log,
        CancelToken(),
    )
    lines = LogLines()
    with pytest.raises(PipelineFailed) as failure:
        deployer.deploy(
            request_for(images.broken, snapshot, repo=REPO, environment="production",
                        deployment_id=2),
            lines.log,
            CancelToken(),
        )  # fmt: skip

    message = str(failure.value)
    assert "did not become healthy" in message
    assert "Swarm rolled back to the previous release" in message
    assert "unhealthy" in message  # the task's own error
    assert images.v1.digest in container_spec(docker_client, name)["Image"]
    (release,) = deployer.inspect(REPO, "production")
    assert (release.digest, release.deployment_id) == (images.v1.digest, 1)


class _WorkerDaemon:
    """Only ``info()``: what a Swarm worker (or a host outside any swarm) reports."""

    def __init__(self, state: str) -> None:
        self.state = state

    def info(self) -> dict[str, Any]:
        return {"Swarm": {"LocalNodeState": self.state, "ControlAvailable": False}}


@pytest.mark.parametrize("state", ["inactive", "active"])
def test_a_host_that_is_not_a_swarm_manager_gets_a_clear_error(state: str) -> None:
    deployer = SwarmServiceDeployer(_WorkerDaemon(state))
    env = EnvironmentConfig(name="production", mode="service")
    request = request_for(
        NEVER_PULLED, snapshot_of(env), repo=REPO, environment="production",
        deployment_id=1,
    )  # fmt: skip
    with pytest.raises(UserInputError) as failure:
        deployer.deploy(request, LogLines().log, CancelToken())
    message = str(failure.value)
    assert "not a Swarm manager" in message
    assert "docker swarm init" in message and "mode: container" in message
    assert failure.value.exit_code == 2
    assert deployer.inspect(REPO, "production") == []
