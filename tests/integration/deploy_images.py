"""Tiny images for the deployer tests, pushed so they deploy by ``name@digest``, and the
compose files that run dependents beside them (container and stack mode).

``web`` serves its version on port 80 with busybox httpd; ``broken`` keeps running but
serves nothing, so an HTTP health check fails; ``crashing`` exits at once; ``CACHE``
stands in for redis. The module fixtures over them are in ``integration/conftest.py``.
``running_digest`` reads what a container-mode production runs.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
from docker.models.containers import Container

from dockyard.core.locations import normalise_location
from dockyard.core.pipeline_file import EnvironmentConfig, HealthcheckConfig
from dockyard.engine.deploy import (
    ConfigSnapshot,
    Deployer,
    DeploymentRequest,
    RunningRelease,
    build_snapshot,
    resource_name,
)
from dockyard.engine.deploy.deployers import deployer_for
from dockyard.engine.deploy.labels import selector
from dockyard.engine.deploy.live import running_in
from dockyard.engine.endpoints.client import open_client
from dockyard.engine.endpoints.reading import reading
from dockyard.engine.endpoints.record import Endpoint
from dockyard.engine.events import CancelToken
from dockyard.engine.secrets import Fingerprints
from testbed.baseimage import until_stopped
from testbed.cli import Cli, outcomes
from testbed.cli import environment as environment_of
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import APP, GitRepo, make_app_repo

TEST_FINGERPRINTS = Fingerprints(b"test-key" * 4)

# What the images run until the container is stopped (see ``until_stopped``).
SERVE_WWW = until_stopped("httpd -f -p 80 -h /www")
SLEEP = until_stopped("sleep 3600")
WEB = f"""\
FROM busybox:stable
RUN mkdir -p /www && echo {{version}} > /www/index.html
CMD ["sh", "-c", "{SERVE_WWW}"]
"""
BROKEN = f"""\
FROM busybox:stable
CMD ["sh", "-c", "{SLEEP}"]
"""
CRASHING = """\
FROM busybox:stable
CMD ["sh", "-c", "echo giving up; exit 3"]
"""
# A stand-in for redis: answers PONG on 6379.
CACHE = f"""\
FROM busybox:stable
RUN mkdir -p /data && echo PONG > /data/index.html
CMD ["sh", "-c", "{until_stopped("httpd -f -p 6379 -h /data")}"]
"""
# Dependents as a deployer is given them: the app's image filled in by Dockyard.
STACK = """\
services:
  web:
    image: ${{DOCKYARD_IMAGE}}
    environment: [FROM_FILE=yes]
  cache:
    image: {cache}
"""
APP_V2 = APP.replace("ok ", "ok v2 ")
WORKER = f"""\
  worker:
    image: {{cache}}
    command: ["sh", "-c", "{SLEEP}"]
"""
# As a pipeline's compose file says it: the app is the service built from the pipeline's
# own build (.), the cache runs as written.
DEPLOY_FILE = """\
services:
  web:
    build: .
  cache:
    image: {cache}
"""
# An app (app.sh of a test repository) that cannot start: it says why and exits 3.
DYING_APP = """\
#!/bin/sh
echo "fatal: no database"
exit 3
"""

# Fast enough for tests: the real defaults are 5 s, 3 s and 3 retries.
HTTP_CHECK = HealthcheckConfig(
    test=("CMD-SHELL", "wget -q -O- http://127.0.0.1/ || exit 1"),
    interval=0.5,
    timeout=2.0,
    retries=2,
)


@dataclass(frozen=True)
class PushedImage:
    reference: str  # name@sha256:…
    digest: str


def push_image(
    client: docker.DockerClient,
    registry: str,
    tag: str,
    dockerfile: str,
    repository: str = "deploytest/app",
    login: tuple[str, str] | None = None,
) -> PushedImage:
    """Build ``dockerfile`` and push it as ``registry/repository:tag`` (with ``login``, a
    registry's (user, password), when it wants one)."""
    name = f"{registry}/{repository}"
    with tempfile.TemporaryDirectory(prefix="dydeploy-") as folder:
        (Path(folder) / "Dockerfile").write_text(dockerfile)
        client.images.build(path=folder, tag=f"{name}:{tag}", rm=True)
    digest = ""
    auth = None if login is None else {"username": login[0], "password": login[1]}
    for chunk in client.api.push(name, tag=tag, stream=True, decode=True, auth_config=auth):
        assert "error" not in chunk, chunk
        if isinstance(chunk.get("aux"), dict) and chunk["aux"].get("Digest"):
            digest = chunk["aux"]["Digest"]
    assert digest.startswith("sha256:")
    return PushedImage(f"{name}@{digest}", digest)


@dataclass(frozen=True)
class TestImages:
    __test__ = False

    v1: PushedImage
    v2: PushedImage
    broken: PushedImage
    crashing: PushedImage


def build_test_images(client: docker.DockerClient, registry: str) -> TestImages:
    return TestImages(
        v1=push_image(client, registry, "v1", WEB.format(version="v1")),
        v2=push_image(client, registry, "v2", WEB.format(version="v2")),
        broken=push_image(client, registry, "broken", BROKEN),
        crashing=push_image(client, registry, "crashing", CRASHING),
    )


def marked_file(cache: PushedImage, marker: str) -> str:
    """DEPLOY_FILE with its cache marked (``MARKER=…``), so which file's definition runs shows."""
    return DEPLOY_FILE.format(cache=cache.reference) + f"    environment: [MARKER={marker}]\n"


def snapshot_of(
    env: EnvironmentConfig,
    files: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> ConfigSnapshot:
    return build_snapshot(env, dict(files or {}).get, TEST_FINGERPRINTS.marks(dict(secrets or {})))


def request_for(
    image: PushedImage,
    snapshot: ConfigSnapshot,
    *,
    repo: str,
    environment: str,
    deployment_id: int,
    secrets: Mapping[str, str] | None = None,
    tag: str | None = None,
) -> DeploymentRequest:
    return DeploymentRequest(
        repo=repo,
        environment=environment,
        image=image.reference,
        digest=image.digest,
        commit="0123456789abcdef0123456789abcdef01234567",
        tag=tag,
        run_id="run-1",
        deployment_id=deployment_id,
        deployed_by="dev@example.test",
        approved_by=("lead@example.test",),
        rollback=False,
        snapshot=snapshot,
        secret_values=dict(secrets or {}),
    )


class LogLines(list[str]):
    """The deploy log, collected: ``log`` is what the deployer calls."""

    @property
    def log(self) -> Callable[[str], None]:
        return self.append

    def text(self) -> str:
        return "\n".join(self)


def deploy(
    deployer: Deployer, request: DeploymentRequest, lines: LogLines | None = None
) -> RunningRelease:
    """``request`` deployed by ``deployer``, its log in ``lines`` when given."""
    return deployer.deploy(request, (LogLines() if lines is None else lines).log, CancelToken())


def task_containers(
    client: docker.DockerClient, service: str, *, stopped: bool = False
) -> list[Container]:
    """The running containers of a Swarm service's tasks (on this one-node swarm: all of
    them), found by the service's name, so a removed service's too; ``stopped`` ones too."""
    label = f"com.docker.swarm.service.name={service}"
    return client.containers.list(all=stopped, filters={"label": label})


def task_file(client: docker.DockerClient, service: str, path: str) -> str:
    """A file as the running task of a Swarm service sees it."""
    tasks = task_containers(client, service)
    assert tasks, f"no running task of {service}"
    return str(tasks[0].exec_run(["cat", path]).output.decode())


@dataclass(frozen=True)
class DeployableApp:
    """An app repository whose dockyard.yml deploys to ``environment``."""

    git_repo: GitRepo
    repo: str  # its location, as the ledger knows it
    environment: str

    @property
    def resource(self) -> str:
        """The container, project or stack it runs as there."""
        return resource_name(self.repo, self.environment)


@contextlib.contextmanager
def deployable_app(
    path: Path, client: docker.DockerClient, image: str, pipeline: str, mode: str,
    environment: str, more_images: tuple[str, ...] = (),
) -> Iterator[DeployableApp]:  # fmt: skip
    """An app repository at ``path`` whose dockyard.yml is ``pipeline`` (given ``image``);
    afterwards what it deployed to ``environment`` (in ``mode``) is removed, and every
    image of ``image`` and ``more_images``."""
    git_repo = make_app_repo(path, dockyard_yml=pipeline.format(image=image))
    repo = normalise_location(str(git_repo.path))
    try:
        yield DeployableApp(git_repo, repo, environment)
    finally:
        deployer_for(mode, client).remove(repo, environment)
        for name in (image, *more_images):
            for leftover in client.images.list(name=name):
                client.images.remove(leftover.id, force=True)


@dataclass(frozen=True)
class BrokenRelease:
    """v1.0.0 deployed, then v1.1.0 (cache marked ``two``, a worker added, an app that
    exits 3) failed: what the test checks the environment against."""

    v1: str  # v1.0.0's digest
    released: dict[str, Any]  # the environment's release in ``status --json`` after v1.0.0
    failed: subprocess.CompletedProcess[str]  # ``run --ref v1.1.0 --json``


def release_then_break(
    cli: Cli, git_repo: GitRepo, repo: str, environment: str, cache: PushedImage
) -> BrokenRelease:
    """Release v1.0.0 of ``git_repo`` (its cache marked ``one``), then a v1.1.0 that fails."""
    git_repo.commit("deploy file", {"compose.deploy.yml": marked_file(cache, "one")})
    git_repo.tag("v1.0.0")
    first = cli.json("run", repo, "--ref", "v1.0.0")
    assert outcomes(first) == {environment: "deployed"}, first
    released = environment_of(cli.json("status", repo), environment)["release"]
    changed = marked_file(cache, "two") + WORKER.format(cache=cache.reference)
    git_repo.commit("break", {"compose.deploy.yml": changed, "app.sh": DYING_APP})
    git_repo.tag("v1.1.0")
    failed = cli("run", repo, "--ref", "v1.1.0", "--json")
    assert failed.returncode == 1, failed.stderr
    assert "exited with code 3" in failed.stderr and "fatal: no database" in failed.stderr
    assert "Traceback" not in failed.stderr
    return BrokenRelease(first["image"]["digest"], released, failed)


@contextlib.contextmanager
def deploying_client(daemon: PrivateDaemon) -> Iterator[docker.DockerClient]:
    """A client on ``daemon`` as Dockyard opens one to deploy: at the daemon's own API
    version. (Through docker-py's older default, an update fills Swarm's defaults into a
    service's spec, so Swarm restarts its tasks where Dockyard's own client would not.)"""
    client = open_client(Endpoint(name="test", url=daemon.url))
    try:
        yield client
    finally:
        client.close()


def read_as_status_does(
    daemon: PrivateDaemon, mode: str, repo: str, environment: str
) -> list[RunningRelease]:
    """What ``dockyard status`` reads of an environment: the daemon's socket without
    Docker's SDK; the deployers' ``inspect`` must say the same through the SDK."""
    with reading(Endpoint(name="test", url=daemon.url), timeout=30) as reader:
        return running_in(reader, mode, repo, environment)


def forget(repo: str, client: docker.DockerClient) -> None:
    """Remove what the runs of ``repo`` deployed (both environments, either mode) and built."""
    deployer_for("container", client).remove(repo, "staging")
    deployer_for("container", client).remove(repo, "production")
    if client.info().get("Swarm", {}).get("ControlAvailable"):
        for name in ("staging", "production"):
            deployer_for("service", client).remove(repo, name)
    for image in client.images.list(filters={"label": f"dockyard.repo={repo}"}):
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(image.id, force=True)


def running_digest(client: docker.DockerClient, repo: str) -> str:
    """The digest production's container runs (container mode)."""
    (container,) = client.containers.list(filters=selector(repo, "production"))
    return str(container.labels["dockyard.digest"])
