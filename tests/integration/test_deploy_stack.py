"""Stack mode on the real Swarm: a compose file, the app pinned by digest, dependents as written."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import docker
import pytest
from docker.models.services import Service

from dockyard.core.errors import PipelineFailed
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.core.releases import Deployment, DeploymentStatus
from dockyard.engine.deploy import (
    ConfigSnapshot,
    DeploymentRequest,
    RunningRelease,
    drift_of,
    resource_name,
)
from dockyard.engine.deploy.deployers import StackDeployer
from dockyard.engine.events import CancelToken
from dockyard.engine.release.service import ReleaseService
from dockyard.store.database import open_database
from dockyard.store.ledger import SqliteReleaseLedger
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
    deployable_app,
    deploying_client,
    push_image,
    read_as_status_does,
    release_then_break,
    request_for,
    snapshot_of,
    task_containers,
    task_file,
)
from testbed.cli import LEAD, Cli, environment, outcomes
from testbed.dockerd import PrivateDaemon
from testbed.registry import LocalRegistry

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("swarm_gateway_bridge")]

T = TypeVar("T")
REPO = "shop/web-stack"


@pytest.fixture
def deployer(
    swarm_daemon: PrivateDaemon, docker_client: docker.DockerClient
) -> Iterator[StackDeployer]:
    with deploying_client(swarm_daemon) as client:
        deployer = StackDeployer(client, {"DOCKER_HOST": swarm_daemon.url}, timeout=90, poll=0.3)
        yield deployer
        deployer.remove(REPO, "staging")


def staging(
    image: PushedImage,
    snapshot: ConfigSnapshot,
    deployment_id: int,
    secrets: Mapping[str, str] | None = None,
) -> DeploymentRequest:
    """The request to deploy ``image`` with ``snapshot`` to this module's staging."""
    return request_for(
        image, snapshot, repo=REPO, environment="staging", deployment_id=deployment_id,
        secrets=secrets,
    )  # fmt: skip


def deploy(
    deployer: StackDeployer, request: DeploymentRequest, lines: LogLines | None = None
) -> RunningRelease:
    """``request`` deployed, its log in ``lines`` when given."""
    return deployer.deploy(request, (LogLines() if lines is None else lines).log, CancelToken())


def services_of(client: docker.DockerClient, stack: str) -> dict[str, Service]:
    """The stack's services by name (without the stack's prefix)."""
    found = client.services.list(filters={"label": f"com.docker.stack.namespace={stack}"})
    return {s.name.removeprefix(stack + "_"): s for s in found}


def image_of(service: Service) -> str:
    return str(service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])


def running_tasks(service: Service) -> list[dict[str, Any]]:
    return [t for t in service.tasks() if t["Status"]["State"] == "running"]


def stack_services(client: docker.DockerClient) -> dict[str, str]:
    """Service -> its image, for this environment's stack."""
    return {
        name: image_of(s) for name, s in services_of(client, resource_name(REPO, "staging")).items()
    }


def settled_services(client: docker.DockerClient, stack: str) -> dict[str, str]:
    """The stack's services once each runs exactly one task (a replaced one has stopped)."""
    services = services_of(client, stack)
    if any(len(running_tasks(s)) != 1 for s in services.values()):
        return {}
    return {name: image_of(s) for name, s in services.items()}


def running_services(client: docker.DockerClient, stack: str) -> dict[str, str]:
    """The stack's services that run a task, each with its image."""
    return {name: image_of(s) for name, s in services_of(client, stack).items() if running_tasks(s)}


def eventually(read: Callable[[], T], seconds: float = 30) -> T:
    """What ``read`` gives once it is truthy (Swarm acts a moment later), else its last."""
    deadline = time.monotonic() + seconds
    value = read()
    while not value and time.monotonic() < deadline:
        time.sleep(0.5)
        value = read()
    return value


def cache_address(client: docker.DockerClient) -> str:
    """The running cache task's address on the stack's own network."""
    stack = resource_name(REPO, "staging")
    task = running_tasks(client.services.get(f"{stack}_cache"))[0]
    attached = next(
        n for n in task["NetworksAttachments"] if n["Network"]["Spec"]["Name"] == f"{stack}_default"
    )
    return str(attached["Addresses"][0].split("/")[0])


def test_stack_runs_app_by_digest_beside_its_dependents_and_rolls_back_as_a_whole(
    deployer: StackDeployer,
    swarm_daemon: PrivateDaemon,
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

    release = deploy(deployer, staging(images.v1, first, 1, secrets))
    assert (release.name, release.digest, release.state) == (web, images.v1.digest, "running")
    assert release.config_fingerprint == first.fingerprint()
    assert stack_services(docker_client) == {"web": images.v1.reference, "cache": cache_ref}
    # The app has its configuration, and reaches its dependent on the stack's network (by
    # address: the test daemon runs without iptables, so without Docker's embedded DNS).
    assert task_file(docker_client, web, "/etc/app/app.cfg") == "colour = blue\n"
    assert task_file(docker_client, web, "/run/secrets/db_password") == "stack-pass"
    task = task_containers(docker_client, web)[0]
    address = cache_address(docker_client)
    answer = task.exec_run(["sh", "-c", f"wget -q -O- http://{address}:6379/; env"]).output
    text = answer.decode()
    assert "PONG" in text and "GREETING=hello" in text and "FROM_FILE=yes" in text
    assert deployer.inspect(REPO, "staging") == [release]

    # The next release brings a worker service; the app moves to v2.
    files_v2 = {**files, "compose.deploy.yml": files["compose.deploy.yml"] + WORKER.format(
        cache=cache_ref)}  # fmt: skip
    second = snapshot_of(env, files_v2, secrets)
    release = deploy(deployer, staging(images.v2, second, 2, secrets))
    assert release.digest == images.v2.digest
    assert set(stack_services(docker_client)) == {"web", "cache", "worker"}

    # Rolling back redeploys the first release as a whole: its digest and its file.
    release = deploy(deployer, replace(staging(images.v1, first, 3, secrets), rollback=True))
    assert (release.digest, release.deployment_id) == (images.v1.digest, 3)
    assert stack_services(docker_client) == {"web": images.v1.reference, "cache": cache_ref}

    assert release.config_fingerprint == first.fingerprint()

    # A dependent stopped by hand shows in what the daemon reports (status: drift), and so
    # does a hand edit of the app service's configuration.
    docker_client.services.get(resource_name(REPO, "staging") + "_cache").scale(0)
    assert eventually(lambda: deployer.inspect(REPO, "staging")[0].stopped_services) == ("cache",)
    docker_client.services.get(web).update(env=["GREETING=changed"])
    assert deployer.inspect(REPO, "staging")[0].config_fingerprint == ""
    # `dockyard status` reads the same from the socket, without Docker's SDK.
    running = read_as_status_does(swarm_daemon, "stack", REPO, "staging")
    assert running == deployer.inspect(REPO, "staging")


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
        deploy(deployer, staging(images.v1, snapshot, 4), lines)
    # A first release that failed leaves nothing behind.
    assert stack_services(docker_client) == {}
    assert deployer.inspect(REPO, "staging") == []


def test_a_dependent_whose_image_is_not_in_its_registry_is_named_with_swarms_words(
    deployer: StackDeployer,
    docker_client: docker.DockerClient,
    images: TestImages,
    registry: LocalRegistry,
) -> None:
    env = EnvironmentConfig(name="staging", mode="stack", compose="compose.deploy.yml")
    missing = f"{registry.host}/deploytest/missing@sha256:" + "0" * 64
    snapshot = snapshot_of(env, {"compose.deploy.yml": STACK.format(cache=missing)})
    with pytest.raises(PipelineFailed) as failure:
        deploy(deployer, staging(images.v1, snapshot, 6))
    # Nothing ran, so no exit code: what Swarm said.
    assert (
        f"_cache of the stack {resource_name(REPO, 'staging')} did not start: Swarm "
        f"could not start it (No such image: {missing})" in failure.value.message
    )
    assert "exited" not in failure.value.message
    assert stack_services(docker_client) == {}


def test_a_dependent_that_does_not_start_puts_the_earlier_release_back_as_a_whole(
    deployer: StackDeployer,
    docker_client: docker.DockerClient,
    images: TestImages,
    cache: PushedImage,
) -> None:
    env = EnvironmentConfig(
        name="staging", mode="stack", compose="compose.deploy.yml", healthcheck=HTTP_CHECK,
        secrets=("db_password",),
    )  # fmt: skip
    first = snapshot_of(env, {"compose.deploy.yml": STACK.format(cache=cache.reference)},
                        {"db_password": "before"})  # fmt: skip
    earlier = staging(images.v1, first, 11, {"db_password": "before"})
    deploy(deployer, earlier)

    # The next release rotates the secret and adds a worker; its app is fine, but its
    # cache exits at once.
    crashing = STACK.format(cache=cache.reference) + '    command: ["sh", "-c", "exit 4"]\n'
    files = {"compose.deploy.yml": crashing + WORKER.format(cache=cache.reference)}
    second = snapshot_of(env, files, {"db_password": "after"})
    new = replace(
        staging(images.v2, second, 12, {"db_password": "after"}),
        # As the release layer gives it: no value for a secret that changed since.
        replaces=replace(earlier, secret_values={}),
    )
    lines = LogLines()
    with pytest.raises(PipelineFailed, match=r"_cache of the stack .* did not start") as failed:
        deploy(deployer, new, lines)
    assert "0123456789ab was put back as a whole" in failed.value.message
    assert "The release failed; putting back 0123456789ab as a whole" in lines.text()

    # The app went back from v2 to the earlier digest and secret version, the cache to its
    # earlier command, and the worker is gone.
    assert stack_services(docker_client) == {"web": images.v1.reference, "cache": cache.reference}
    stack = resource_name(REPO, "staging")
    assert eventually(lambda: task_file(docker_client, f"{stack}_cache", "/data/index.html"))
    assert task_file(docker_client, f"{stack}_web", "/run/secrets/db_password") == "before"
    # Once Swarm has gone through the label-only update that marks the spec, it runs.
    running = eventually(
        lambda: [r for r in deployer.inspect(REPO, "staging") if r.state == "running"]
    )
    assert [(r.digest, r.deployment_id) for r in running] == [(images.v1.digest, 11)]
    assert drift_of(recorded_deployment(images.v1, first, 11), running) is None


def test_a_dependent_changed_or_removed_by_hand_shows_as_drift(
    deployer: StackDeployer,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    images: TestImages,
    cache: PushedImage,
) -> None:
    env = EnvironmentConfig(
        name="staging", mode="stack", compose="compose.deploy.yml", healthcheck=HTTP_CHECK
    )
    text = STACK.format(cache=cache.reference) + WORKER.format(cache=cache.reference)
    snapshot = snapshot_of(env, {"compose.deploy.yml": text})
    deploy(deployer, staging(images.v1, snapshot, 5))
    ledger = recorded_deployment(images.v1, snapshot, 5)
    assert drift_of(ledger, deployer.inspect(REPO, "staging")) is None
    stack = resource_name(REPO, "staging")
    changed = (
        "its service {} was changed or removed since Dockyard deployed c0ffeec0ffee; put it "
        f"back with: dockyard rollback {REPO} staging --to 5 --comment REASON"
    )

    # Swarm restarting the cache (a new task, the same definition) is no drift.
    before = {t["ID"] for t in docker_client.services.get(f"{stack}_cache").tasks()}
    docker_cli(swarm_daemon, "service", "update", "--force", f"{stack}_cache")
    assert eventually(lambda: _restarted(docker_client, f"{stack}_cache", before))
    assert settled_drift(ledger, deployer) is None
    # Someone gives the cache another environment at 2 a.m.; then takes it back.
    docker_cli(swarm_daemon, "service", "update", "--env-add", "MAXMEMORY=1g", f"{stack}_cache")
    assert settled_drift(ledger, deployer) == changed.format("cache")
    docker_cli(swarm_daemon, "service", "update", "--env-rm", "MAXMEMORY", f"{stack}_cache")
    assert settled_drift(ledger, deployer) is None
    # Or points it at another image; put back as deployed, then the worker is removed.
    docker_client.services.get(f"{stack}_cache").update(image=images.v2.reference)
    assert settled_drift(ledger, deployer) == changed.format("cache")
    docker_client.services.get(f"{stack}_cache").update(image=cache.reference)
    assert settled_drift(ledger, deployer) is None
    docker_client.services.get(f"{stack}_worker").remove()
    assert settled_drift(ledger, deployer) == changed.format("worker")


def docker_cli(daemon: PrivateDaemon, *args: str) -> str:
    """The docker CLI on the test daemon, as an operator types it (it waits for the update)."""
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "DOCKER_HOST": daemon.url},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def settled_drift(ledger: Deployment, deployer: StackDeployer) -> str | None:
    """The drift once a service updated by hand runs again (its new task takes a moment)."""
    deadline = time.monotonic() + 60
    while True:
        drift = drift_of(ledger, deployer.inspect(REPO, "staging"))
        if drift is None or "does not run" not in drift or time.monotonic() > deadline:
            return drift
        time.sleep(0.5)


def recorded_deployment(image: PushedImage, snapshot: ConfigSnapshot, id: int) -> Deployment:
    """What the ledger keeps of a deployment made by the deployer directly."""
    return Deployment(
        id=id, repo=REPO, environment="staging", digest=image.digest, image=image.reference,
        commit="c0ffee" * 6 + "c0ff", tag=None, run_id=None, config=snapshot.to_json(),
        status=DeploymentStatus.DEPLOYED, started=datetime.now(UTC), finished=None,
        deployed_by="dev", approved_by=(), rollback=False, rolled_back_from=None, comment="",
        error="",
    )  # fmt: skip


def test_a_first_stack_release_that_crashes_after_starting_is_not_recorded_as_deployed(
    deployer: StackDeployer,
    docker_client: docker.DockerClient,
    images: TestImages,
    cache: PushedImage,
) -> None:
    # No health check: the app counts as started at once, then dies a second later. Swarm's
    # monitor period is the only gate, as in service mode.
    env = EnvironmentConfig(name="staging", mode="stack", compose="compose.deploy.yml")
    crashing = STACK.format(cache=cache.reference).replace(
        "    environment: [FROM_FILE=yes]\n",
        '    environment: [FROM_FILE=yes]\n    command: ["sh", "-c", "sleep 1; exit 5"]\n',
    )
    snapshot = snapshot_of(env, {"compose.deploy.yml": crashing})
    lines = LogLines()
    with pytest.raises(PipelineFailed, match=r"exited with code 5"):
        deploy(deployer, staging(images.v1, snapshot, 5), lines)
    assert stack_services(docker_client) == {}


PIPELINE = """\
image: {image}
environments:
  production:
    mode: stack
    compose: compose.deploy.yml
    auto: true
    environment: {{GREETING: hello}}
    healthcheck: {{test: "wget -q -O /dev/null http://127.0.0.1/", interval: 1s, retries: 5}}
    grace: 1s
"""


def test_stack_release_is_recorded_shown_and_rolled_back_through_the_cli(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    cache: PushedImage,
) -> None:
    image = f"{registry.host}/stack/web"
    cli = Cli(dockyard_home, swarm_daemon)
    with deployable_app(
        tmp_path / "web", docker_client, image, PIPELINE, "stack", "production"
    ) as made:
        git_repo, repo, stack = made.git_repo, made.repo, made.resource
        git_repo.commit(
            "deploy file", {"compose.deploy.yml": DEPLOY_FILE.format(cache=cache.reference)}
        )
        git_repo.tag("v1.0.0")
        first = cli.json("run", repo, "--ref", "v1.0.0")
        assert outcomes(first) == {"production": "deployed"}, first
        v1 = first["image"]["digest"]
        services = running_services(docker_client, stack)
        assert services["web"].endswith("@" + v1) and services["cache"] == cache.reference
        production = environment(cli.json("status", repo), "production")
        assert production["release"]["digest"] == v1 and production["drift"] is None

        # v1.1.0 adds a worker to the stack.
        worker = WORKER.format(cache=cache.reference)
        git_repo.commit("worker", {"compose.deploy.yml": DEPLOY_FILE.format(cache=cache.reference)
                                   + worker, "app.sh": APP_V2})  # fmt: skip
        git_repo.tag("v1.1.0")
        second = cli.json("run", repo, "--ref", "v1.1.0")
        assert outcomes(second) == {"production": "deployed"}, second
        v2 = second["image"]["digest"]
        assert v2 != v1
        assert set(running_services(docker_client, stack)) == {"web", "cache", "worker"}

        # The rollback puts v1.0.0 back as a whole: its digest, and its file (no worker),
        # while git cannot be read at all: the recorded release is enough.
        with git_repo.unreachable():
            rolled = cli("rollback", repo, "production", "--to", "v1.0.0", "--comment", "bad")
        assert rolled.returncode == 0, rolled.stderr
        services = running_services(docker_client, stack)
        assert set(services) == {"web", "cache"} and services["web"].endswith("@" + v1)
        history = SqliteReleaseLedger(open_database(dockyard_home)).deployments(repo, "production")
        assert history[0].rollback and history[0].digest == v1
        assert history[0].config["stack"] == history[2].config["stack"]
        production = environment(cli.json("status", repo), "production")
        assert production["release"]["rollback"] is True and production["drift"] is None

        # A dependent edited by hand is drift, named, with how to put the release back.
        docker_cli(swarm_daemon, "service", "update", "--env-add", "X=1", f"{stack}_cache")
        shown = cli("status", repo)
        assert shown.returncode == 0, shown.stderr
        drift = (
            "its service cache was changed or removed since Dockyard deployed v1.0.0; put it back "
            f"with: dockyard rollback {repo} production --to {history[0].id} --comment REASON"
        )
        assert f"DRIFT: {drift}" in shown.stdout
        assert environment(cli.json("status", repo), "production")["drift"] == drift
        docker_cli(swarm_daemon, "service", "update", "--env-rm", "X", f"{stack}_cache")
        assert environment(cli.json("status", repo), "production")["drift"] is None

        # The daemon is the truth: an app moved to another image by hand shows as drift.
        docker_client.services.get(f"{stack}_web").update(image=f"{image}@{v2}")
        drift = environment(cli.json("status", repo), "production")["drift"]
        assert drift is not None and "Dockyard deployed sha256:" in drift


def test_a_failed_stack_release_puts_the_earlier_one_back_as_a_whole(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    cache: PushedImage,
) -> None:
    image = f"{registry.host}/whole/web"
    cli = Cli(dockyard_home, swarm_daemon)
    with deployable_app(
        tmp_path / "web", docker_client, image, PIPELINE, "stack", "production"
    ) as made:
        git_repo, repo, stack = made.git_repo, made.repo, made.resource
        # v1.1.0 changes the cache's definition and adds a worker; its app dies at start.
        broken = release_then_break(cli, git_repo, repo, "production", cache)
        v1, failed = broken.v1, broken.failed

        # Every service runs as v1.0.0's file had it: the cache its definition, no worker,
        # the app v1.0.0's digest; the ledger says v1.0.0 runs, and the daemon agrees.
        services = eventually(lambda: settled_services(docker_client, stack))
        assert set(services) == {"web", "cache"} and services["web"].endswith("@" + v1)
        assert eventually(lambda: task_env(docker_client, f"{stack}_cache") == ["MARKER=one"])
        production = environment(cli.json("status", repo), "production")
        assert production["release"] == broken.released and production["drift"] is None
        assert "v1.0.0 was put back as a whole" in failed.stderr
        latest = production["latest"]
        assert latest["status"] == "failed" and latest["tag"] == "v1.1.0"
        assert "exited with code 3" in latest["error"]
        assert "v1.0.0 was put back as a whole" in latest["error"]
        log = cli("logs", json.loads(failed.stdout)["id"], "--stage", "deploy-production")
        assert "The release failed; putting back v1.0.0 as a whole" in log.stdout


def task_env(client: docker.DockerClient, service: str) -> list[str]:
    """The MARKER of every running task of ``service`` (one per task)."""
    return sorted(
        line
        for task in task_containers(client, service)
        for line in task.attrs["Config"]["Env"]
        if line.startswith("MARKER=")
    )


PINNED_PIPELINE = """\
image: {image}
environments:
  production:
    mode: stack
    compose: compose.deploy.yml
    healthcheck: {{test: "wget -q -O /dev/null http://127.0.0.1/", interval: 1s, retries: 5}}
    grace: 1s
"""


def test_a_dependent_runs_the_digest_its_tag_had_when_the_release_was_approved(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    image = f"{registry.host}/pinned/web"
    cache_name = f"{registry.host}/pinned/cache"
    first = push_image(docker_client, registry.host, "1", CACHE, "pinned/cache")
    cli = Cli(dockyard_home, swarm_daemon)
    with (
        contextlib.closing(open_database(dockyard_home)) as db,
        deployable_app(tmp_path / "web", docker_client, image, PINNED_PIPELINE, "stack",
                       "production", more_images=(cache_name,)) as made,
    ):  # fmt: skip
        git_repo, repo, stack = made.git_repo, made.repo, made.resource
        git_repo.commit(
            "deploy file", {"compose.deploy.yml": DEPLOY_FILE.format(cache=f"{cache_name}:1")}
        )
        git_repo.tag("v1.0.0")
        service = ReleaseService(home=dockyard_home, db=db, identity="dev")
        cli.json("run", repo, "--ref", "v1.0.0")
        approved = cli("approve", repo, "production", user=LEAD)
        assert approved.returncode == 0, approved.stderr
        assert running_services(docker_client, stack)["cache"] == f"{cache_name}@{first.digest}"
        deployed = service.ledger.current_deployment(repo, "production")
        assert deployed is not None

        # The tag moves; a task restart still runs what the approver saw.
        moved = push_image(docker_client, registry.host, "1", CACHE + "# moved\n"
                           'RUN echo MOVED > /data/index.html\n', "pinned/cache")  # fmt: skip
        assert moved.digest != first.digest
        cache_service = docker_client.services.get(f"{stack}_cache")
        before = {t["ID"] for t in cache_service.tasks()}
        cache_service.force_update()
        assert eventually(lambda: _restarted(docker_client, f"{stack}_cache", before))
        assert task_file(docker_client, f"{stack}_cache", "/data/index.html") == "PONG\n"

        # The same release requested again: the approver is shown the digest change.
        cli.json("run", repo, "--ref", "v1.0.0")
        pending = service.ledger.pending_approval(repo, "production")
        assert pending is not None
        assert (
            f"~ stack service cache: image {cache_name}@{first.digest} -> "
            f"{cache_name}@{moved.digest}"
        ) in service.changes_between(repo, "production", pending).config_diff
        # The tag moves again while the release waits: the approval does not count.
        third = push_image(docker_client, registry.host, "1", CACHE + "# third\n"
                           'RUN echo THIRD > /data/index.html\n', "pinned/cache")  # fmt: skip
        stale = cli("approve", repo, "production", user=LEAD)
        assert stale.returncode == 2, stale.stderr
        assert f"image {cache_name}@{moved.digest} -> {cache_name}@{third.digest}" in stale.stderr
        assert cli("approve", repo, "production", user=LEAD).returncode == 0
        assert task_file(docker_client, f"{stack}_cache", "/data/index.html") == "THIRD\n"

        # A rollback runs the digests recorded with that release, not the tag's.
        rolled = cli("rollback", repo, "production", "--to", str(deployed.id), "--comment", "x")
        assert rolled.returncode == 0, rolled.stderr
        assert running_services(docker_client, stack)["cache"] == f"{cache_name}@{first.digest}"
        assert environment(cli.json("status", repo), "production")["drift"] is None

        # A dependent whose image no registry has is refused when the release is requested.
        git_repo.commit("missing", {"compose.deploy.yml": DEPLOY_FILE.format(
            cache=f"{registry.host}/pinned/missing:1")})  # fmt: skip
        git_repo.tag("v1.1.0")
        refused = cli("run", repo, "--ref", "v1.1.0")
        assert refused.returncode == 2, refused.stderr
        assert f"The image {registry.host}/pinned/missing:1 of service cache" in refused.stderr
        assert "Traceback" not in refused.stderr


def _restarted(client: docker.DockerClient, name: str, before: set[str]) -> bool:
    """A new task runs, and it alone."""
    running = [
        t
        for t in client.services.get(name).tasks()
        if t["DesiredState"] == "running" or t["Status"]["State"] == "running"
    ]
    return bool(running) and all(
        t["ID"] not in before and t["Status"]["State"] == "running" for t in running
    )
