"""A container-mode deployment that finds another deployment's temporary container on
the host (a Dockyard with another ledger, mid-deploy) says so in one sentence instead of
Docker's raw `Conflict… -next already in use`, and leaves the other one alone."""

from __future__ import annotations

import docker
import pytest

from dockyard.core.errors import PipelineFailed
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.engine.deploy import resource_name
from dockyard.engine.deploy.deployers import ContainerDeployer
from dockyard.engine.deploy.live import TEMPORARY_SUFFIX
from dockyard.engine.events import CancelToken
from integration.deploy_images import (
    HTTP_CHECK,
    LogLines,
    build_test_images,
    request_for,
    snapshot_of,
)
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker

REPO = "shop/web-clash"


def test_a_deployment_in_progress_elsewhere_on_the_host_is_named_not_a_docker_conflict(
    docker_client: docker.DockerClient, registry: LocalRegistry
) -> None:
    images = build_test_images(docker_client, registry.host)
    name = resource_name(REPO, "staging")
    other = docker_client.containers.create(
        images.v1.reference, name=name + TEMPORARY_SUFFIX, labels={"owner": "another desk"}
    )
    try:
        env = EnvironmentConfig(name="staging", healthcheck=HTTP_CHECK, grace=1)
        request = request_for(
            images.v2, snapshot_of(env), repo=REPO, environment="staging", deployment_id=9
        )
        with pytest.raises(PipelineFailed) as failed:
            ContainerDeployer(docker_client).deploy(request, LogLines().log, CancelToken())
        message = failed.value.message
        assert "Another deployment to staging is in progress on this Docker host" in message
        assert "Conflict" not in message and "\n" not in message
        other.reload()  # still there, untouched
    finally:
        other.remove(force=True)
        ContainerDeployer(docker_client).remove(REPO, "staging")
