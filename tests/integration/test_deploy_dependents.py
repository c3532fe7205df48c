"""Container mode with a compose file: the dependents run as a compose project beside the app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker
import pytest

from dockyard.core.errors import Cancelled, PipelineFailed
from dockyard.core.model import utcnow
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.core.releases import Deployment, DeploymentStatus
from dockyard.engine.deploy import ConfigSnapshot, DeploymentRequest, drift_of, resource_name
from dockyard.engine.deploy.deployers import ContainerDeployer
from dockyard.engine.deploy.pins import pin_dependents
from dockyard.engine.events import CancelToken
from integration.deploy_images import (
    APP_V2,
    CACHE,
    DEPLOY_FILE,
    HTTP_CHECK,
    STACK,
    WORKER,
    LogLines,
    PushedImage,
    TestImages,
    deploy,
    deployable_app,
    push_image,
    read_as_status_does,
    release_then_break,
    request_for,
    snapshot_of,
)
from testbed.cli import Cli, environment, outcomes
from testbed.dockerd import PrivateDaemon
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker

REPO = "shop/web-dependents"
PROJECT = resource_name(REPO, "staging")
# The environment the deployer tests deploy to: the app behind an HTTP health check.
STAGING = EnvironmentConfig(
    name="staging", compose="compose.deploy.yml", healthcheck=HTTP_CHECK, grace=1
)


@pytest.fixture
def deployer(
    docker_daemon: PrivateDaemon, docker_client: docker.DockerClient
) -> Iterator[ContainerDeployer]:
    deployer = ContainerDeployer(docker_client, {"DOCKER_HOST": docker_daemon.url})
    yield deployer
    deployer.remove(REPO, "staging")


def staging(
    image: PushedImage, snapshot: ConfigSnapshot, deployment_id: int, **changes: Any
) -> DeploymentRequest:
    """The request to deploy ``image`` with ``snapshot`` to this module's staging, with
    ``changes`` to its fields (``rollback=True``, ``replaces=…``)."""
    request = request_for(
        image, snapshot, repo=REPO, environment="staging", deployment_id=deployment_id
    )
    return replace(request, **changes)


def project_services(
    client: docker.DockerClient, project: str = PROJECT
) -> dict[str, docker.models.containers.Container]:
    """The compose project's containers by service."""
    found = client.containers.list(filters={"label": f"com.docker.compose.project={project}"})
    return {c.labels["com.docker.compose.service"]: c for c in found}


def address_on_project(container: docker.models.containers.Container) -> str:
    container.reload()
    return str(container.attrs["NetworkSettings"]["Networks"][PROJECT]["IPAddress"])


def test_dependents_run_on_the_environment_network_and_roll_back_with_the_release(
    deployer: ContainerDeployer,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    images: TestImages,
    cache: PushedImage,
) -> None:
    env = STAGING
    first = snapshot_of(env, {"compose.deploy.yml": STACK.format(cache=cache.reference)})
    request = staging(images.v1, first, 1)
    release = deploy(deployer, request)
    assert (release.name, release.digest) == (PROJECT, images.v1.digest)
    app = docker_client.containers.get(PROJECT)
    assert app.attrs["Config"]["Image"] == images.v1.reference
    # The app is on the project's network under its service name, beside the cache,
    # which it reaches there (by address: the test daemon has no embedded DNS).
    assert "web" in app.attrs["NetworkSettings"]["Networks"][PROJECT]["Aliases"]
    services = project_services(docker_client)
    assert set(services) == {"cache"}
    answer = app.exec_run(
        ["wget", "-q", "-O-", f"http://{address_on_project(services['cache'])}:6379/"]
    )
    assert answer.output.decode().strip() == "PONG"

    # A release with a worker, then the rollback to the first: the worker goes again.
    with_worker = STACK.format(cache=cache.reference) + WORKER.format(cache=cache.reference)
    second = snapshot_of(env, {"compose.deploy.yml": with_worker})
    deploy(deployer, staging(images.v2, second, 2))
    assert set(project_services(docker_client)) == {"cache", "worker"}
    back = staging(images.v1, first, 3, rollback=True)
    release = deploy(deployer, back)
    assert release.digest == images.v1.digest
    assert set(project_services(docker_client)) == {"cache"}

    # A dependent stopped by hand shows in what the daemon reports (status: drift).
    assert deployer.inspect(REPO, "staging")[0].stopped_services == ()
    project_services(docker_client)["cache"].stop(timeout=1)
    assert deployer.inspect(REPO, "staging")[0].stopped_services == ("cache",)
    # `dockyard status` reads the same from the socket, without Docker's SDK.
    running = read_as_status_does(docker_daemon, "container", REPO, "staging")
    assert running == deployer.inspect(REPO, "staging")


def test_a_dependent_re_created_by_hand_with_another_command_shows_as_drift(
    deployer: ContainerDeployer,
    docker_client: docker.DockerClient,
    images: TestImages,
    cache: PushedImage,
) -> None:
    snapshot = snapshot_of(STAGING, {"compose.deploy.yml": STACK.format(cache=cache.reference)})
    request = staging(images.v1, snapshot, 15)
    deploy(deployer, request)
    ledger = Deployment(
        id=15, repo=REPO, environment="staging", digest=images.v1.digest,
        image=images.v1.reference, commit=request.commit, tag="v1.0.0", run_id=None,
        config=snapshot.to_json(), status=DeploymentStatus.DEPLOYED, started=utcnow(),
        finished=None, deployed_by="dev", approved_by=(), rollback=False,
        rolled_back_from=None, comment="", error="",
    )  # fmt: skip
    assert drift_of(ledger, deployer.inspect(REPO, "staging")) is None

    # Docker restarting the cache is no drift.
    project_services(docker_client)["cache"].restart(timeout=1)
    assert drift_of(ledger, deployer.inspect(REPO, "staging")) is None
    # Someone re-creates it as it was, labels and network, but with another command.
    was = project_services(docker_client)["cache"]
    was.remove(force=True)
    docker_client.containers.run(
        was.attrs["Config"]["Image"], ["sh", "-c", "sleep 3600"], detach=True,
        name=was.name, labels=was.labels, network=PROJECT,
    )  # fmt: skip
    assert drift_of(ledger, deployer.inspect(REPO, "staging")) == (
        "its service cache was changed or removed since Dockyard deployed v1.0.0; put it back "
        f"with: dockyard rollback {REPO} staging --to 15 --comment REASON"
    )


def test_a_dependent_that_exits_stops_the_release_by_name(
    deployer: ContainerDeployer,
    docker_client: docker.DockerClient,
    images: TestImages,
    cache: PushedImage,
) -> None:
    env = EnvironmentConfig(name="staging", compose="compose.deploy.yml", grace=1)
    broken = (
        STACK.format(cache=cache.reference) + '    command: ["sh", "-c", "echo no disk; exit 4"]\n'
    )
    snapshot = snapshot_of(env, {"compose.deploy.yml": broken})
    request = staging(images.v1, snapshot, 4)
    with pytest.raises(PipelineFailed, match=r"service cache of staging did not start: .*code 4"):
        deploy(deployer, request)
    # A first release that did not start leaves nothing behind.
    assert deployer.inspect(REPO, "staging") == []
    assert project_services(docker_client) == {}
    assert not docker_client.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={PROJECT}"}
    )


def test_a_release_without_a_compose_file_takes_the_dependents_away(
    deployer: ContainerDeployer,
    docker_client: docker.DockerClient,
    images: TestImages,
    cache: PushedImage,
) -> None:
    """Rolling back to a release from before compose: (or releasing one without it) runs
    that release as a whole: no dependent of the later file keeps running beside it."""
    env = STAGING
    with_worker = STACK.format(cache=cache.reference) + WORKER.format(cache=cache.reference)
    later = snapshot_of(env, {"compose.deploy.yml": with_worker})
    request = staging(images.v2, later, 5)
    deploy(deployer, request)
    assert set(project_services(docker_client)) == {"cache", "worker"}

    earlier = snapshot_of(replace(env, compose=None), {})
    back = staging(images.v1, earlier, 6, rollback=True)
    release = deploy(deployer, back)
    assert (release.digest, release.state) == (images.v1.digest, "running")
    assert project_services(docker_client) == {}
    assert not docker_client.networks.list(names=[PROJECT])


CONTAINER_PIPELINE = """\
image: {image}
environments:
  staging:
    compose: compose.deploy.yml
    auto: true
    healthcheck: {{test: "wget -q -O /dev/null http://127.0.0.1/", interval: 1s, retries: 5}}
    grace: 1s
"""


def test_container_release_with_dependents_through_the_cli_rolls_back_without_git(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    cache: PushedImage,
) -> None:
    image = f"{registry.host}/dependents/web"
    cli = Cli(dockyard_home, docker_daemon)
    with deployable_app(
        tmp_path / "web", docker_client, image, CONTAINER_PIPELINE, "container", "staging"
    ) as made:
        git_repo, repo, project = made.git_repo, made.repo, made.resource
        deploy_file = DEPLOY_FILE.format(cache=cache.reference)
        git_repo.commit("deploy file", {"compose.deploy.yml": deploy_file})
        git_repo.tag("v1.0.0")

        def dependents() -> set[str]:
            return set(project_services(docker_client, project))

        first = cli.json("run", repo, "--ref", "v1.0.0")
        assert outcomes(first) == {"staging": "deployed"}, first
        v1 = first["image"]["digest"]
        app = docker_client.containers.get(project)
        assert app.attrs["Config"]["Image"].endswith("@" + v1)
        assert project in app.attrs["NetworkSettings"]["Networks"]
        assert dependents() == {"cache"}

        with_worker = deploy_file + WORKER.format(cache=cache.reference)
        git_repo.commit("worker", {"compose.deploy.yml": with_worker, "app.sh": APP_V2})
        git_repo.tag("v1.1.0")
        assert outcomes(cli.json("run", repo, "--ref", "v1.1.0")) == {"staging": "deployed"}
        assert dependents() == {"cache", "worker"}

        with git_repo.unreachable():
            rolled = cli("rollback", repo, "staging", "--to", "v1.0.0", "--comment", "bad worker")
        assert rolled.returncode == 0, rolled.stderr
        assert docker_client.containers.get(project).attrs["Config"]["Image"].endswith("@" + v1)
        assert dependents() == {"cache"}
        assert environment(cli.json("status", repo), "staging")["drift"] is None


def test_a_failed_release_puts_the_earlier_dependents_back_as_a_whole(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    cache: PushedImage,
) -> None:
    image = f"{registry.host}/whole-dependents/web"
    cli = Cli(dockyard_home, docker_daemon)
    with deployable_app(
        tmp_path / "web", docker_client, image, CONTAINER_PIPELINE, "container", "staging"
    ) as made:
        git_repo, repo, project = made.git_repo, made.repo, made.resource
        # v1.1.0 changes the cache's definition and adds a worker; its app dies at start.
        broken = release_then_break(cli, git_repo, repo, "staging", cache)
        v1, failed = broken.v1, broken.failed

        # The cache runs v1.0.0's definition again, the worker is gone, the app is v1.0.0.
        dependents = project_services(docker_client, project)
        assert set(dependents) == {"cache"}
        assert "MARKER=one" in dependents["cache"].attrs["Config"]["Env"]
        assert docker_client.containers.get(project).attrs["Config"]["Image"].endswith("@" + v1)
        staging = environment(cli.json("status", repo), "staging")
        assert staging["release"] == broken.released and staging["drift"] is None
        assert "v1.0.0 was put back as a whole" in failed.stderr
        assert staging["latest"]["status"] == "failed"
        assert "v1.0.0 was put back as a whole" in staging["latest"]["error"]


def test_a_put_back_that_fails_too_says_what_runs_and_what_to_do(
    deployer: ContainerDeployer,
    docker_client: docker.DockerClient,
    images: TestImages,
    cache: PushedImage,
) -> None:
    env = STAGING
    running = snapshot_of(env, {"compose.deploy.yml": STACK.format(cache=cache.reference)})
    earlier = staging(images.v1, running, 9)
    deploy(deployer, earlier)

    # Since it started, the earlier release's cache cannot start any more (here: its
    # recorded definition exits), and the new release's app fails its health gate.
    gone = STACK.format(cache=cache.reference) + '    command: ["sh", "-c", "exit 4"]\n'
    broken = replace(earlier, snapshot=snapshot_of(env, {"compose.deploy.yml": gone}))
    new = staging(images.broken, running, 10, replaces=broken)
    lines = LogLines()
    with pytest.raises(PipelineFailed) as failed:
        deploy(deployer, new, lines)
    message = failed.value.message
    assert "did not become healthy" in message and "the previous release keeps running" in message
    assert "Putting 0123456789ab back as a whole failed too: The service cache" in message
    assert f"the services of the compose project {PROJECT} may run either" in message
    assert f"dockyard rollback {REPO} staging --to 9 --comment REASON" in message
    assert "The release failed; putting back 0123456789ab as a whole" in lines.text()
    assert deployer.inspect(REPO, "staging")[0].digest == images.v1.digest


def test_dependents_a_failed_put_back_left_at_the_new_definition_show_as_drift(
    deployer: ContainerDeployer,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    images: TestImages,
    cache: PushedImage,
) -> None:
    def marked(marker: str, image: str = cache.reference) -> ConfigSnapshot:
        text = STACK.format(cache=image) + f"    environment: [MARKER={marker}]\n"
        return snapshot_of(STAGING, {"compose.deploy.yml": text})

    earlier = staging(images.v1, marked("one"), 17, tag="v1.0.0")
    deploy(deployer, earlier)
    ledger = Deployment(
        id=17, repo=REPO, environment="staging", digest=images.v1.digest,
        image=images.v1.reference, commit=earlier.commit, tag="v1.0.0", run_id=None,
        config=earlier.snapshot.to_json(), status=DeploymentStatus.DEPLOYED, started=utcnow(),
        finished=None, deployed_by="dev", approved_by=(), rollback=False,
        rolled_back_from=None, comment="", error="",
    )  # fmt: skip

    # The next release changes the cache, and its app fails; putting v1.0.0 back fails
    # too (here: its cache's image is gone from the registry), so the cache stays as the
    # failed release made it, and runs.
    gone = replace(earlier, snapshot=marked("one", f"{registry.host}/gone/cache:1"))
    new = staging(images.broken, marked("two"), 18, replaces=gone)
    with pytest.raises(PipelineFailed, match=r"Putting v1\.0\.0 back as a whole failed too"):
        deploy(deployer, new)
    assert "MARKER=two" in project_services(docker_client)["cache"].attrs["Config"]["Env"]
    assert drift_of(ledger, deployer.inspect(REPO, "staging")) == (
        "its service cache was changed or removed since Dockyard deployed v1.0.0; put it back "
        f"with: dockyard rollback {REPO} staging --to 17 --comment REASON"
    )


def test_a_cancelled_release_puts_the_earlier_dependents_back_too(
    deployer: ContainerDeployer,
    docker_client: docker.DockerClient,
    images: TestImages,
    cache: PushedImage,
) -> None:
    env = STAGING

    def marked(marker: str) -> str:
        return STACK.format(cache=cache.reference) + f"    environment: [MARKER={marker}]\n"

    first = snapshot_of(env, {"compose.deploy.yml": marked("one")})
    earlier = staging(images.v1, first, 13)
    deploy(deployer, earlier)

    # The next release's dependents are up (a changed cache, a worker) when its app's
    # health gate is cancelled.
    second = snapshot_of(env, {"compose.deploy.yml": marked("two") + WORKER.format(
        cache=cache.reference)})  # fmt: skip
    new = staging(images.v2, second, 14, replaces=earlier)
    cancel, lines = CancelToken(), LogLines()

    def log(line: str) -> None:
        lines.append(line)
        if line.startswith(f"Starting {PROJECT}-next"):
            cancel.cancel()

    with pytest.raises(Cancelled, match=r"cancelled\. 0123456789ab was put back as a whole"):
        deployer.deploy(new, log, cancel)
    services = project_services(docker_client)
    assert set(services) == {"cache"}
    assert "MARKER=one" in services["cache"].attrs["Config"]["Env"]
    assert [r.digest for r in deployer.inspect(REPO, "staging")] == [images.v1.digest]


def test_a_dependent_given_by_tag_runs_the_digest_recorded_for_it(
    deployer: ContainerDeployer,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    images: TestImages,
) -> None:
    name = f"{registry.host}/pinned-dependents/cache"
    first = push_image(docker_client, registry.host, "1", CACHE, "pinned-dependents/cache")
    env = STAGING
    snapshot = snapshot_of(env, {"compose.deploy.yml": STACK.format(cache=f"{name}:1")})
    assert snapshot.stack is not None
    pinned = replace(snapshot, stack=pin_dependents(docker_client, snapshot.stack, "staging"))
    assert pinned.stack is not None and pinned.stack.pins == {"cache": f"{name}@{first.digest}"}
    try:
        request = staging(images.v1, pinned, 7)
        deploy(deployer, request)

        # The tag moves; the same release deployed again (a rollback) runs what it recorded.
        moved = push_image(docker_client, registry.host, "1", CACHE + "RUN echo MOVED\n",
                           "pinned-dependents/cache")  # fmt: skip
        assert moved.digest != first.digest
        again = replace(request, deployment_id=8, rollback=True)
        deploy(deployer, again)
        cache = project_services(docker_client)["cache"]
        assert cache.attrs["Config"]["Image"] == f"{name}@{first.digest}"
        assert cache.image.id != docker_client.images.get(f"{name}:1").id
    finally:
        deployer.remove(REPO, "staging")
        for leftover in docker_client.images.list(name=name):
            docker_client.images.remove(leftover.id, force=True)
