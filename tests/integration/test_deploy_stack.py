"""Stack mode on the real Swarm: a compose file, the app pinned by digest, dependents as written."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime

import docker
import pytest

from dockyard.core.errors import PipelineFailed
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.core.releases import Deployment, DeploymentStatus
from dockyard.engine.deploy import (
    ConfigSnapshot,
    DeploymentRequest,
    drift_of,
    resource_name,
)
from dockyard.engine.deploy.deployers import StackDeployer
from integration.deploy_images import (
    HTTP_CHECK,
    STACK,
    WORKER,
    LogLines,
    PushedImage,
    TestImages,
    deploy,
    deploying_client,
    read_as_status_does,
    request_for,
    snapshot_of,
    task_containers,
    task_file,
)
from integration.stack_reads import (
    QUICK_UPDATES,
    docker_cli,
    eventually,
    image_of,
    restarted,
    running_tasks,
    services_of,
)
from testbed.dockerd import PrivateDaemon
from testbed.registry import LocalRegistry

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("swarm_gateway_bridge")]

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


def stack_services(client: docker.DockerClient) -> dict[str, str]:
    """Service -> its image, for this environment's stack."""
    return {
        name: image_of(s) for name, s in services_of(client, resource_name(REPO, "staging")).items()
    }


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
    # The cache as an operator edits it by hand below (docker service update).
    text = (
        STACK.format(cache=cache.reference) + QUICK_UPDATES + WORKER.format(cache=cache.reference)
    )
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
    assert eventually(lambda: restarted(docker_client, f"{stack}_cache", before))
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
