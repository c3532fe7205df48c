"""Container mode on the real daemon: configuration attached, health gate, replacement."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace

import docker
import pytest

from dockyard.core.errors import Cancelled, PipelineFailed, UserInputError
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.engine.deploy import LABELS, RunningRelease, resource_name
from dockyard.engine.deploy.container import NETWORK
from dockyard.engine.deploy.deployers import ContainerDeployer
from dockyard.engine.events import CancelToken
from integration.deploy_images import (
    HTTP_CHECK,
    SERVE_WWW,
    LogLines,
    PushedImage,
    TestImages,
    request_for,
    snapshot_of,
)
from testbed.dockerd import PrivateDaemon
from testbed.ports import free_port

pytestmark = pytest.mark.docker

REPO = "shop/web-container"
SECRET = "s3cr3t-value-for-tests"


@pytest.fixture(scope="module", autouse=True)
def dockyard_network(docker_daemon: PrivateDaemon) -> None:
    """The shared network the deployer creates for published ports, made before any
    leak check looks, since it outlives a single deployment by design."""
    client = docker_daemon.client()
    try:
        if not client.networks.list(names=[NETWORK]):
            client.networks.create(NETWORK, driver="bridge", labels={"dockyard.managed": "true"})
    finally:
        client.close()


@pytest.fixture
def deployer(docker_client: docker.DockerClient) -> Iterator[ContainerDeployer]:
    deployer = ContainerDeployer(docker_client)
    yield deployer
    for environment in ("staging", "ports", "crash"):
        deployer.remove(REPO, environment)


def exec_text(container: docker.models.containers.Container, command: str) -> str:
    result = container.exec_run(["sh", "-c", command])
    return str(result.output.decode(errors="replace"))


def test_first_deploy_runs_labelled_with_env_and_configs(
    deployer: ContainerDeployer, docker_client: docker.DockerClient, images: TestImages
) -> None:
    env = EnvironmentConfig(
        name="staging",
        env_file="deploy/staging.env",
        environment={"LOG_LEVEL": "debug"},
        configs={"/etc/app/app.cfg": "deploy/app.cfg"},
        healthcheck=HTTP_CHECK,
        grace=1,
    )
    files = {
        "deploy/staging.env": "# staging\nexport DB_HOST=db.internal\nLOG_LEVEL=info\n",
        "deploy/app.cfg": "[app]\ncolour = blue\n",
    }
    snapshot = snapshot_of(env, files)
    request = request_for(
        images.v1, snapshot, repo=REPO, environment="staging", deployment_id=7, tag="v1.0.0"
    )
    lines = LogLines()

    release = deployer.deploy(request, lines.log, CancelToken())

    name = resource_name(REPO, "staging")
    assert (release.name, release.digest, release.deployment_id) == (name, images.v1.digest, 7)
    container = docker_client.containers.get(name)
    assert container.status == "running"
    assert container.attrs["Config"]["Image"] == images.v1.reference
    labels = container.labels
    assert set(LABELS) <= set(labels)
    assert labels["dockyard.release"] == "v1.0.0"
    assert labels["dockyard.approved-by"] == "lead@example.test"
    assert labels["dockyard.config"] == snapshot.fingerprint()
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    env_vars = container.attrs["Config"]["Env"]
    assert "LOG_LEVEL=debug" in env_vars and "DB_HOST=db.internal" in env_vars
    assert exec_text(container, "cat /etc/app/app.cfg") == files["deploy/app.cfg"]
    assert deployer.inspect(REPO, "staging") == [release]


# The image serves /www/index.html ("v1"); this command serves a page it writes itself.
SERVE_COMMANDED = f"echo commanded > /www/index.html && {SERVE_WWW}"


def test_an_environment_command_runs_instead_of_the_image_command(
    deployer: ContainerDeployer, docker_client: docker.DockerClient, images: TestImages
) -> None:
    env = EnvironmentConfig(
        name="staging", command=("sh", "-c", SERVE_COMMANDED), healthcheck=HTTP_CHECK, grace=1
    )
    request = request_for(
        images.v1, snapshot_of(env), repo=REPO, environment="staging", deployment_id=9
    )
    deployer.deploy(request, LogLines().log, CancelToken())
    container = docker_client.containers.get(resource_name(REPO, "staging"))
    assert exec_text(container, "wget -q -O- http://127.0.0.1/") == "commanded\n"

    # The next release without a command runs the image's own again.
    plain = request_for(
        images.v1, snapshot_of(replace(env, command=None)), repo=REPO, environment="staging",
        deployment_id=10,
    )  # fmt: skip
    deployer.deploy(plain, LogLines().log, CancelToken())
    container = docker_client.containers.get(resource_name(REPO, "staging"))
    assert exec_text(container, "wget -q -O- http://127.0.0.1/") == "v1\n"


def test_secrets_in_container_mode_are_refused_before_anything_is_created(
    deployer: ContainerDeployer, docker_client: docker.DockerClient, images: TestImages
) -> None:
    """Docker copies files into a created container beneath its tmpfs mounts, never into
    them, so a secret could only land in the writable layer on the host's disk. dockyard.yml
    refuses secrets without mode: service; this is a release recorded before that rule."""
    env = EnvironmentConfig(name="staging", secrets=("db_password",), healthcheck=HTTP_CHECK)
    request = request_for(
        images.v1, snapshot_of(env, secrets={"db_password": SECRET}), repo=REPO,
        environment="staging", deployment_id=8, secrets={"db_password": SECRET},
    )  # fmt: skip
    lines = LogLines()
    with pytest.raises(UserInputError, match="set mode: service"):
        deployer.deploy(request, lines.log, CancelToken())
    assert deployer.inspect(REPO, "staging") == []
    assert SECRET not in lines.text()


def test_replacement_takes_over_and_an_unhealthy_release_leaves_it_running(
    deployer: ContainerDeployer, docker_client: docker.DockerClient, images: TestImages
) -> None:
    env = EnvironmentConfig(name="staging", healthcheck=HTTP_CHECK, grace=1)
    snapshot = snapshot_of(env)
    first = deployer.deploy(
        request_for(images.v1, snapshot, repo=REPO, environment="staging", deployment_id=1),
        LogLines().log,
        CancelToken(),
    )
    second = deployer.deploy(
        request_for(images.v2, snapshot, repo=REPO, environment="staging", deployment_id=2),
        LogLines().log,
        CancelToken(),
    )
    assert second.digest == images.v2.digest != first.digest
    assert [r.deployment_id for r in deployer.inspect(REPO, "staging")] == [2]
    running_id = docker_client.containers.get(second.name).id

    lines = LogLines()
    with pytest.raises(PipelineFailed, match=r"did not become healthy.*keeps running"):
        deployer.deploy(
            request_for(images.broken, snapshot, repo=REPO, environment="staging", deployment_id=3),
            lines.log,
            CancelToken(),
        )

    (still,) = deployer.inspect(REPO, "staging")
    assert (still.digest, still.deployment_id, still.state) == (images.v2.digest, 2, "running")
    assert docker_client.containers.get(still.name).id == running_id
    assert "health check failed" in lines.text()


def http_get(port: int, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                return str(response.read().decode().strip())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_published_port_stops_the_old_first_and_restarts_it_on_failure(
    deployer: ContainerDeployer, images: TestImages
) -> None:
    port = free_port()
    env = EnvironmentConfig(
        name="ports", ports=(f"127.0.0.1:{port}:80",), healthcheck=HTTP_CHECK, grace=1
    )
    snapshot = snapshot_of(env)

    def deploy(image: PushedImage, deployment_id: int, lines: LogLines) -> RunningRelease:
        request = request_for(
            image,
            snapshot,
            repo=REPO,
            environment="ports",
            deployment_id=deployment_id,
        )
        return deployer.deploy(request, lines.log, CancelToken())

    deploy(images.v1, 1, LogLines())
    assert http_get(port) == "v1"

    lines = LogLines()
    with pytest.raises(PipelineFailed, match="previous release was started again"):
        deploy(images.broken, 2, lines)
    assert "cannot be bound twice" in lines.text()
    assert http_get(port) == "v1"

    deploy(images.v2, 3, LogLines())
    assert http_get(port) == "v2"
    (release,) = deployer.inspect(REPO, "ports")
    assert release.deployment_id == 3


def test_without_a_health_check_a_crashing_release_fails_within_the_grace_period(
    deployer: ContainerDeployer, images: TestImages
) -> None:
    env = EnvironmentConfig(name="crash", grace=3)
    request = request_for(
        images.crashing, snapshot_of(env), repo=REPO, environment="crash", deployment_id=1
    )
    started = time.monotonic()
    with pytest.raises(PipelineFailed, match=r"exited with code 3.*giving up") as failure:
        deployer.deploy(request, LogLines().log, CancelToken())
    assert "nothing was running before" in str(failure.value)
    assert deployer.inspect(REPO, "crash") == []
    assert time.monotonic() - started < 30


def test_cancel_stops_waiting_removes_the_new_container_and_keeps_the_old(
    deployer: ContainerDeployer, images: TestImages
) -> None:
    patient = replace(HTTP_CHECK, retries=100)  # would take a minute to give up
    snapshot = snapshot_of(EnvironmentConfig(name="staging", healthcheck=patient, grace=1))
    deployer.deploy(
        request_for(images.v1, snapshot, repo=REPO, environment="staging", deployment_id=1),
        LogLines().log,
        CancelToken(),
    )
    cancel = CancelToken()
    timer = threading.Timer(1.0, cancel.cancel)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(Cancelled):
            deployer.deploy(
                request_for(
                    images.broken, snapshot, repo=REPO, environment="staging", deployment_id=2
                ),
                LogLines().log,
                cancel,
            )
    finally:
        timer.cancel()
    assert time.monotonic() - started < 10
    (release,) = deployer.inspect(REPO, "staging")
    assert (release.deployment_id, release.state) == (1, "running")
