"""The reconciler: drift between the ledger and the daemon, and the Docker event watcher."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import docker
import pytest

from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.core.releases import Deployment, DeploymentStatus
from dockyard.engine.deploy import DockerEventWatcher, RunningRelease, drift_of, resource_name
from dockyard.engine.deploy.deployers import SwarmServiceDeployer
from dockyard.engine.events import CancelToken
from integration.deploy_images import (
    HTTP_CHECK,
    LogLines,
    TestImages,
    request_for,
    snapshot_of,
)
from testbed.dockerd import PrivateDaemon

REPO = "shop/web-reconcile"
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
SNAPSHOT = snapshot_of(EnvironmentConfig(name="production", environment={"MODE": "live"}))


def recorded(digest: str = DIGEST_A, tag: str | None = "v1.1.0") -> Deployment:
    return Deployment(
        id=4, repo=REPO, environment="production", digest=digest, image=f"app@{digest}",
        commit="c0ffee" * 6 + "c0ff", tag=tag, run_id="r1", config=SNAPSHOT.to_json(),
        status=DeploymentStatus.DEPLOYED, started=datetime.now(UTC), finished=None,
        deployed_by="dev", approved_by=(), rollback=False, rolled_back_from=None,
        comment="", error="",
    )  # fmt: skip


def live(digest: str = DIGEST_A, **changes: Any) -> RunningRelease:
    release = RunningRelease(
        repo=REPO, environment="production", image=f"app@{digest}", digest=digest,
        deployment_id=4, config_fingerprint=SNAPSHOT.fingerprint(), state="running",
        healthy=True, since=None, name="dy-app",
    )  # fmt: skip
    return replace(release, **changes)


def test_drift_is_none_when_the_daemon_runs_what_was_deployed() -> None:
    assert drift_of(recorded(), [live()]) is None
    assert drift_of(None, []) is None


def test_drift_names_each_way_the_daemon_can_differ() -> None:
    assert drift_of(recorded(), [live(DIGEST_B)]) == (
        "runs sha256:bbbbbbbbbbbb…, Dockyard deployed sha256:aaaaaaaaaaaa…"
    )
    assert drift_of(recorded(), []) == "nothing runs; Dockyard deployed v1.1.0"
    assert drift_of(recorded(tag=None), []) == "nothing runs; Dockyard deployed c0ffeec0ffee"
    assert drift_of(None, [live()]) == "runs although Dockyard never deployed here"
    assert drift_of(recorded(), [live(), live(name="dy-app-2")]) == "2 copies run"
    assert (
        drift_of(recorded(), [live(config_fingerprint="")])
        == "configuration changed outside Dockyard"
    )
    assert drift_of(recorded(), [live(state="exited")]) == "is exited; Dockyard deployed v1.1.0"
    looping = live(state="restarting", healthy=False, restarts=3, exit_code=137)
    assert drift_of(recorded(), [looping]) == (
        "is in a restart loop: restarted 3 times, last exit code 137"
    )
    assert looping.condition() == "in a restart loop (restarted 3 times, last exit code 137)"
    recovered = live(restarts=1, exit_code=None)
    assert drift_of(recorded(), [recovered]) is None
    assert recovered.condition() == "running, healthy; restarted once, last exit code unknown"


@pytest.mark.docker
def test_drift_after_a_manual_service_update_is_reported(
    swarm_daemon: PrivateDaemon, docker_client: docker.DockerClient, images: TestImages
) -> None:
    deployer = SwarmServiceDeployer(docker_client, timeout=90, poll=0.3)
    env = EnvironmentConfig(name="production", mode="service", healthcheck=HTTP_CHECK, grace=1)
    snapshot = snapshot_of(env)
    request = request_for(images.v1, snapshot, repo=REPO, environment="production", deployment_id=4)
    ledger_row = replace(recorded(images.v1.digest), config=snapshot.to_json())
    try:
        deployer.deploy(request, LogLines().log, CancelToken())
        assert drift_of(ledger_row, deployer.inspect(REPO, "production")) is None

        service = docker_client.services.get(resource_name(REPO, "production"))
        service.update(image=images.v2.reference)  # what `docker service update --image` does
        new, old = images.v2.digest[7:19], images.v1.digest[7:19]
        assert drift_of(ledger_row, deployer.inspect(REPO, "production")) == (
            f"runs sha256:{new}…, Dockyard deployed sha256:{old}…"
        )

        service.reload()
        service.update(image=images.v1.reference, env=["MODE=hand-edited"])
        assert (
            drift_of(ledger_row, deployer.inspect(REPO, "production"))
            == "configuration changed outside Dockyard"
        )
    finally:
        deployer.remove(REPO, "production")


@pytest.mark.docker
def test_event_watcher_sees_a_labelled_container_start_and_closes_cleanly(
    docker_daemon: PrivateDaemon, docker_client: docker.DockerClient
) -> None:
    started = threading.Event()
    seen: list[dict[str, Any]] = []
    errors: list[Exception] = []

    def on_event(event: dict[str, Any]) -> None:
        seen.append(event)
        if event.get("Type") == "container" and event.get("Action") == "start":
            started.set()

    watcher_client = docker_daemon.client()  # the watcher's own: clients are not shared
    watcher = DockerEventWatcher(watcher_client, on_event, on_error=errors.append).start()
    container = None
    try:
        assert watcher.listening.wait(10)
        # Not Dockyard's: its events come first, and must not reach the receiver.
        docker_client.containers.run("busybox:stable", ["true"], network_mode="none", remove=True)
        container = docker_client.containers.run(
            "busybox:stable", ["sleep", "30"], labels={"dockyard.repo": REPO},
            network_mode="none", detach=True,
        )  # fmt: skip
        assert started.wait(10)
        assert any(e.get("id") == container.id for e in seen)
    finally:
        watcher.close()
        assert watcher.join(10)
        watcher_client.close()
        if container is not None:
            container.remove(force=True)
    assert not watcher.alive
    assert errors == []
    labels = {e.get("Actor", {}).get("Attributes", {}).get("dockyard.repo") for e in seen}
    assert None not in labels  # only Dockyard's objects are followed
