"""Stack mode on the real Swarm: a compose file, the app pinned by digest, dependents as written."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import docker
import pytest

from dockyard.core.errors import PipelineFailed
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.engine.deploy import StackDeployer, resource_name
from dockyard.engine.events import CancelToken
from integration.deploy_images import (
    HTTP_CHECK,
    LogLines,
    PushedImage,
    TestImages,
    build_test_images,
    push_image,
    request_for,
    snapshot_of,
)
from integration.test_deploy_service import swarm_gateway_bridge, task_file
from testbed.dockerd import PrivateDaemon
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker

__all__ = ["swarm_gateway_bridge"]  # the module fixture, used here too

REPO = "shop/web-stack"
# A stand-in for redis: answers PONG on 6379.
CACHE = """\
FROM busybox:stable
RUN mkdir -p /data && echo PONG > /data/index.html
CMD ["httpd", "-f", "-p", "6379", "-h", "/data"]
"""
STACK = """\
services:
  web:
    image: ${{DOCKYARD_IMAGE}}
    environment: [FROM_FILE=yes]
  cache:
    image: {cache}
"""
WORKER = """\
  worker:
    image: {cache}
    command: ["sleep", "3600"]
"""


@pytest.fixture(scope="module")
def images(swarm_daemon: PrivateDaemon, registry: LocalRegistry) -> TestImages:
    client = swarm_daemon.client()
    try:
        return build_test_images(client, registry.host)
    finally:
        client.close()


@pytest.fixture(scope="module")
def cache(swarm_daemon: PrivateDaemon, registry: LocalRegistry) -> PushedImage:
    client = swarm_daemon.client()
    try:
        return push_image(client, registry.host, "cache", CACHE)
    finally:
        client.close()


@pytest.fixture
def deployer(
    swarm_daemon: PrivateDaemon, docker_client: docker.DockerClient
) -> Iterator[StackDeployer]:
    deployer = StackDeployer(docker_client, {"DOCKER_HOST": swarm_daemon.url}, timeout=90, poll=0.3)
    yield deployer
    deployer.remove(REPO, "staging")


def stack_services(client: docker.DockerClient) -> dict[str, str]:
    """Service (without the stack's prefix) -> its image, for this environment's stack."""
    stack = resource_name(REPO, "staging")
    found = client.services.list(filters={"label": f"com.docker.stack.namespace={stack}"})
    return {
        s.name.removeprefix(stack + "_"): s.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
        for s in found
    }


def cache_address(client: docker.DockerClient) -> str:
    """The running cache task's address on the stack's own network."""
    stack = resource_name(REPO, "staging")
    service = client.services.get(f"{stack}_cache")
    task = next(t for t in service.tasks() if t["Status"]["State"] == "running")
    attached = next(
        n for n in task["NetworksAttachments"] if n["Network"]["Spec"]["Name"] == f"{stack}_default"
    )
    return str(attached["Addresses"][0].split("/")[0])


def test_stack_runs_app_by_digest_beside_its_dependents_and_rolls_back_as_a_whole(
    deployer: StackDeployer,
    docker_client: docker.DockerClient,
    images: TestImages,
    cache: PushedImage,
) -> None:
    env = EnvironmentConfig(
        name="staging",
        mode="stack",
        compose="compose.deploy.yml",
        environment={"GREETING": "hello"},
        configs={"/etc/app/app.cfg": "app.cfg"},
        secrets=("db_password",),
        healthcheck=HTTP_CHECK,
        grace=1,
    )
    cache_ref = cache.reference.replace("@" + cache.digest, ":cache")
    files = {"compose.deploy.yml": STACK.format(cache=cache_ref), "app.cfg": "colour = blue\n"}
    secrets = {"db_password": "stack-pass"}
    first = snapshot_of(env, files, secrets)
    assert first.stack is not None and first.stack.service == "web"
    web = resource_name(REPO, "staging") + "_web"

    release = deployer.deploy(
        request_for(images.v1, first, repo=REPO, environment="staging", deployment_id=1,
                    secrets=secrets),
        LogLines().log,
        CancelToken(),
    )  # fmt: skip
    assert (release.name, release.digest, release.state) == (web, images.v1.digest, "running")
    assert stack_services(docker_client) == {"web": images.v1.reference, "cache": cache_ref}
    # The app has its configuration, and reaches its dependent on the stack's network (by
    # address: the test daemon runs without iptables, so without Docker's embedded DNS).
    assert task_file(docker_client, web, "/etc/app/app.cfg") == "colour = blue\n"
    assert task_file(docker_client, web, "/run/secrets/db_password") == "stack-pass"
    service_id = docker_client.services.get(web).id
    task = docker_client.containers.list(
        filters={"label": f"com.docker.swarm.service.id={service_id}"}
    )[0]
    address = cache_address(docker_client)
    answer = task.exec_run(["sh", "-c", f"wget -q -O- http://{address}:6379/; env"]).output
    text = answer.decode()
    assert "PONG" in text and "GREETING=hello" in text and "FROM_FILE=yes" in text
    assert deployer.inspect(REPO, "staging") == [release]

    # The next release brings a worker service; the app moves to v2.
    files_v2 = {**files, "compose.deploy.yml": files["compose.deploy.yml"] + WORKER.format(
        cache=cache_ref)}  # fmt: skip
    second = snapshot_of(env, files_v2, secrets)
    release = deployer.deploy(
        request_for(images.v2, second, repo=REPO, environment="staging", deployment_id=2,
                    secrets=secrets),
        LogLines().log,
        CancelToken(),
    )  # fmt: skip
    assert release.digest == images.v2.digest
    assert set(stack_services(docker_client)) == {"web", "cache", "worker"}

    # Rolling back redeploys the first release as a whole: its digest and its file.
    back = replace(
        request_for(images.v1, first, repo=REPO, environment="staging", deployment_id=3,
                    secrets=secrets),
        rollback=True,
    )  # fmt: skip
    release = deployer.deploy(back, LogLines().log, CancelToken())
    assert (release.digest, release.deployment_id) == (images.v1.digest, 3)
    assert stack_services(docker_client) == {"web": images.v1.reference, "cache": cache_ref}


def test_a_dependent_that_does_not_start_fails_the_deployment_by_name(
    deployer: StackDeployer,
    docker_client: docker.DockerClient,
    images: TestImages,
    cache: PushedImage,
) -> None:
    env = EnvironmentConfig(
        name="staging", mode="stack", compose="compose.deploy.yml", healthcheck=HTTP_CHECK
    )
    broken = STACK.format(cache=cache.reference) + '    command: ["sh", "-c", "exit 4"]\n'
    snapshot = snapshot_of(env, {"compose.deploy.yml": broken})
    lines = LogLines()
    with pytest.raises(PipelineFailed, match=r"_cache of the stack .* did not start: .*exit"):
        deployer.deploy(
            request_for(images.v1, snapshot, repo=REPO, environment="staging", deployment_id=4),
            lines.log,
            CancelToken(),
        )
    # A first release that failed leaves nothing behind.
    assert stack_services(docker_client) == {}
    assert deployer.inspect(REPO, "staging") == []
