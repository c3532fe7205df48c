"""A Swarm service removed (``docker service rm``, another tool) while Dockyard waits for it:
the deployment fails at once in one sentence, recorded as failed, nothing left running."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import docker
import pytest

from dockyard.core.errors import PipelineFailed
from dockyard.core.locations import normalise_location
from dockyard.core.pipeline_file import EnvironmentConfig, HealthcheckConfig
from dockyard.engine.deploy import resource_name
from dockyard.engine.deploy.deployers import StackDeployer, deployer_for
from dockyard.engine.events import CancelToken
from integration.deploy_images import (
    STACK,
    LogLines,
    PushedImage,
    TestImages,
    deploying_client,
    request_for,
    snapshot_of,
    task_containers,
)
from integration.stack_reads import services_of
from testbed.cli import Cli, environment
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("swarm_gateway_bridge")]

REPO = "shop/web-removed"
# Never healthy while the test runs: the deployment waits on the first probe, 30 s away.
SLOW = HealthcheckConfig(test=("CMD-SHELL", "exit 1"), interval=30, retries=3, start_period=60)
PIPELINE = """\
environments:
  staging:
    mode: service
    auto: true
    healthcheck: {test: "exit 1", interval: 30s, retries: 3, start_period: 60s}
    grace: 1s
"""


def removed(name: str) -> str:
    return (
        f"The service {name} was removed while it was being deployed (by hand or another "
        "tool); nothing of this release runs; deploy again."
    )


def starting(client: docker.DockerClient, name: str, deployment: str | None = None) -> bool:
    """A task of the service (of ``deployment``) waits on its health check."""
    found = [s for s in client.services.list(filters={"name": name}) if s.name == name]
    tasks = found[0].tasks() if found else []
    return any(
        t["Status"]["State"] == "starting"
        and (deployment is None or t["Spec"]["ContainerSpec"]["Labels"]["dockyard.deployment"]
             == deployment)
        for t in tasks
    )  # fmt: skip


def wait_for(check: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def test_a_first_release_whose_service_is_removed_fails_at_once_and_is_recorded_failed(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:
    git_repo = make_app_repo(tmp_path / "removed", dockyard_yml=PIPELINE)
    repo = normalise_location(str(git_repo.path))
    name = resource_name(repo, "staging")
    cli = Cli(dockyard_home, swarm_daemon)
    process = cli.start("run", repo)
    try:
        # The release waits on its slow health check; someone removes the service.
        wait_for(lambda: starting(docker_client, name))
        docker_client.services.get(name).remove()
        removed_at = time.monotonic()
        _, stderr = process.communicate(timeout=120)
        assert time.monotonic() - removed_at < 20  # not the 600 s deadline
        assert process.returncode == 1, stderr
        assert "Traceback" not in stderr
        errors = [line for line in stderr.splitlines() if line.startswith("dockyard: ")]
        assert errors == [f"dockyard: {removed(name)}"]

        # Recorded as failed, and the daemon agrees: nothing runs, nothing is left behind.
        staging = environment(cli.json("status", repo), "staging")
        assert staging["latest"]["status"] == "failed"
        assert staging["latest"]["error"] == removed(name)
        assert staging["release"] is None and staging["running"] == []
        assert staging["drift"] is None
        assert task_containers(docker_client, name, stopped=True) == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        deployer_for("service", docker_client).remove(repo, "staging")
        for image in docker_client.images.list(filters={"label": f"dockyard.repo={repo}"}):
            with contextlib.suppress(docker.errors.APIError):
                docker_client.images.remove(image.id, force=True)


@pytest.fixture
def stacks(
    swarm_daemon: PrivateDaemon, docker_client: docker.DockerClient
) -> Iterator[StackDeployer]:
    with deploying_client(swarm_daemon) as client:
        deployer = StackDeployer(client, {"DOCKER_HOST": swarm_daemon.url}, timeout=600, poll=0.3)
        yield deployer
        deployer.remove(REPO, "staging")


@contextlib.contextmanager
def removed_once(
    client: docker.DockerClient, name: str, ready: Callable[[], bool]
) -> Iterator[list[float]]:
    """Removes the service ``name`` once ``ready()``, from a thread of its own, as someone
    would while the deployment waits; yields the list the moment goes into."""
    removed_at: list[float] = []
    stop = threading.Event()

    def remove() -> None:
        while not stop.wait(0.3):
            if ready():
                client.services.get(name).remove()
                removed_at.append(time.monotonic())
                return

    thread = threading.Thread(target=remove, daemon=True)
    thread.start()
    try:
        yield removed_at
    finally:
        stop.set()
        thread.join()


def test_an_app_service_removed_during_an_update_fails_the_deployment_at_once(
    stacks: StackDeployer,
    docker_client: docker.DockerClient,
    images: TestImages,
    cache: PushedImage,
) -> None:
    env = EnvironmentConfig(name="staging", mode="stack", compose="compose.deploy.yml", grace=1)
    files = {"compose.deploy.yml": STACK.format(cache=cache.reference)}
    first = request_for(images.v1, snapshot_of(env, files), repo=REPO, environment="staging",
                        deployment_id=1)  # fmt: skip
    stacks.deploy(first, LogLines().log, CancelToken())
    web = resource_name(REPO, "staging") + "_web"

    slow = snapshot_of(replace(env, healthcheck=SLOW), files)
    second = request_for(images.v2, slow, repo=REPO, environment="staging", deployment_id=2)
    lines = LogLines()
    with (
        removed_once(docker_client, web, lambda: starting(docker_client, web, "2")) as at,
        pytest.raises(PipelineFailed) as failure,
    ):
        stacks.deploy(second, lines.log, CancelToken())
    assert at and time.monotonic() - at[0] < 20  # not the 600 s deadline
    assert str(failure.value) == removed(web)
    assert f"ERROR: {removed(web)}" in lines
    assert task_containers(docker_client, web, stopped=True) == []
    assert stacks.inspect(REPO, "staging") == []


def test_a_dependent_removed_while_the_stack_settles_fails_the_first_release_whole(
    stacks: StackDeployer,
    docker_client: docker.DockerClient,
    images: TestImages,
    cache: PushedImage,
) -> None:
    env = EnvironmentConfig(name="staging", mode="stack", compose="compose.deploy.yml", grace=1)
    slow_cache = STACK.format(cache=cache.reference) + (
        "    healthcheck: {test: [CMD-SHELL, exit 1], interval: 30s, start_period: 60s}\n"
    )
    request = request_for(images.v1, snapshot_of(env, {"compose.deploy.yml": slow_cache}),
                          repo=REPO, environment="staging", deployment_id=3)  # fmt: skip
    stack = resource_name(REPO, "staging")
    cache_service = f"{stack}_cache"
    with (
        removed_once(
            docker_client, cache_service, lambda: starting(docker_client, cache_service)
        ) as at,
        pytest.raises(PipelineFailed) as failure,
    ):
        stacks.deploy(request, LogLines().log, CancelToken())
    assert at and time.monotonic() - at[0] < 30
    assert str(failure.value) == (
        f"The service {stack}_cache of the stack {stack} was removed while it was being "
        "deployed (by hand or another tool), so this release is not deployed whole; deploy again."
    )
    assert services_of(docker_client, stack) == {}  # a first release leaves nothing behind
