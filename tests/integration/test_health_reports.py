"""What a failed health gate says: the exit code and the last lines the process printed,
redacted, in container mode and in Swarm service mode. Real daemon, Swarm, registry,
keyring and git."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from dockyard.core.errors import PipelineFailed
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.engine.deploy import resource_name
from dockyard.engine.deploy.deployers import ContainerDeployer
from dockyard.engine.events import CancelToken
from dockyard.engine.secrets import SecretStore
from integration.deploy_images import (
    LogLines,
    PushedImage,
    forget,
    push_image,
    read_as_status_does,
    request_for,
    snapshot_of,
)
from integration.restart_loops import CRASH_LATER, committed_app, restart_loop
from testbed.cli import Cli, bytes_under, environment
from testbed.dockerd import PrivateDaemon
from testbed.registry import LocalRegistry

pytestmark = [pytest.mark.docker, pytest.mark.keyring]

REPO = "shop/health-reports"
# 26 lines on stdout (Docker keeps the order within one stream), then exit 7; the
# report keeps the last 20.
CHATTY_CRASH = """\
FROM busybox:stable
CMD ["sh", "-c", "for i in $(seq 25); do echo line $i; done; echo 'fatal: no database'; exit 7"]
"""


# Exits 6 once, three seconds after its gate passed; restarted, it keeps running.
CRASH_ONCE = """\
FROM busybox:stable
CMD ["sh", "-c", "[ -f /tmp/up ] && exec sleep 3600; touch /tmp/up; sleep 3; exit 6"]
"""


@pytest.fixture(scope="module")
def images(docker_daemon: PrivateDaemon, registry: LocalRegistry) -> dict[str, PushedImage]:
    client = docker_daemon.client()
    try:
        return {
            "chatty-crash": push_image(client, registry.host, "chatty-crash", CHATTY_CRASH),
            "crash-once": push_image(client, registry.host, "crash-once", CRASH_ONCE),
        }
    finally:
        client.close()


@pytest.fixture
def deployer(docker_client: docker.DockerClient) -> Iterator[ContainerDeployer]:
    deployer = ContainerDeployer(docker_client)
    yield deployer
    deployer.remove(REPO, "staging")


def test_a_crash_in_the_container_gate_reports_the_exit_code_and_last_20_lines(
    deployer: ContainerDeployer, images: dict[str, PushedImage]
) -> None:
    env = EnvironmentConfig(name="staging", grace=5)
    request = request_for(
        images["chatty-crash"], snapshot_of(env), repo=REPO, environment="staging", deployment_id=1
    )
    lines = LogLines()
    with pytest.raises(PipelineFailed) as failure:
        deployer.deploy(request, lines.log, CancelToken())
    message = failure.value.message
    assert "did not become healthy: it exited with code 7; its last output: line 7 |" in message
    assert "| line 25 | fatal: no database;" in message
    assert "line 6 |" not in message  # only the last 20 lines
    assert "  | fatal: no database" in lines.text()  # one per line in the deploy log
    assert deployer.inspect(REPO, "staging") == []


def test_a_container_running_again_after_a_crash_still_says_how_it_ended(
    deployer: ContainerDeployer,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    images: dict[str, PushedImage],
) -> None:
    """Docker forgets the exit code when it restarts a container; its "die" event keeps it."""
    snapshot = snapshot_of(EnvironmentConfig(name="staging", grace=1))
    request = request_for(
        images["crash-once"], snapshot, repo=REPO, environment="staging", deployment_id=1
    )
    deployer.deploy(request, LogLines().log, CancelToken())
    container = docker_client.containers.get(resource_name(REPO, "staging"))
    deadline = time.monotonic() + 60
    while not (container.attrs["RestartCount"] and container.attrs["State"]["Running"]):
        assert time.monotonic() < deadline, container.attrs["State"]
        time.sleep(0.3)
        container.reload()
    assert container.attrs["State"]["ExitCode"] == 0  # forgotten at the restart
    (live,) = deployer.inspect(REPO, "staging")
    assert (live.state, live.healthy, live.restarts, live.exit_code) == ("restarting", False, 1, 6)
    assert live.condition() == "in a restart loop (restarted once, last exit code 6)"
    # `dockyard status` reads the same (the exit code from the events) without the SDK.
    assert read_as_status_does(docker_daemon, "container", REPO, "staging") == [live]


def test_a_swarm_task_that_exits_reports_its_code_and_output_with_the_secret_masked(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:
    """The app prints its Swarm secret and exits 5: the failure names the code and shows
    the line, masked, in the CLI's error, the ledger and everything Dockyard wrote."""
    token = "tok-" + secrets.token_hex(10)
    pipeline = (
        "environments:\n  staging:\n    mode: service\n    auto: true\n"
        "    secrets: [api_token]\n    grace: 1s\n"
    )
    # Running for a second first: a first release must stay up for Swarm's monitor period.
    app = (
        'echo starting\necho "token=$(cat /run/secrets/api_token)"\necho bye >&2\nsleep 1\nexit 5\n'
    )
    repo = committed_app(tmp_path / "leaky", pipeline, app)
    cli = Cli(dockyard_home, swarm_daemon)
    try:
        stored = cli("secret", "set", repo, "staging", "api_token", stdin=token + "\n")
        assert stored.returncode == 0, stored.stderr
        run = cli("run", repo)
        assert run.returncode == 1, run.stderr
        assert "it exited with code 5 (Swarm: task: non-zero exit (5))" in run.stderr
        # Swarm's task log interleaves stdout and stderr as they arrive, in any order.
        output = run.stderr.split("its last output: ", 1)[1].split(";")[0].split(" | ")
        assert sorted(output) == ["bye", "starting", "token=•••"]
        status = cli("status", repo, "--json")
        latest = environment(cli.json("status", repo), "staging")["latest"]
        assert latest["status"] == "failed"
        assert "exited with code 5" in latest["error"] and "token=•••" in latest["error"]
        text = cli("status", repo)
        assert "token=•••" in text.stdout
        for shown in (run.stdout, run.stderr, status.stdout, text.stdout):
            assert token not in shown
        assert token.encode() not in bytes_under(dockyard_home)
    finally:
        forget(repo, docker_client)
        SecretStore().delete(repo, "staging", "api_token")


CRASH_LATER_PIPELINE = """\
environments:
  staging:
    mode: container
    auto: true
    grace: 1s
  production:
    mode: service
    auto: true
    after: staging
    grace: 1s
"""


def test_a_release_that_keeps_exiting_after_its_gate_shows_as_a_restart_loop(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:
    cli = Cli(dockyard_home, swarm_daemon)
    deployed = {"staging": "deployed", "production": "deployed"}
    with restart_loop(
        cli, docker_client, tmp_path / "flaky", CRASH_LATER_PIPELINE, CRASH_LATER, deployed
    ) as (repo, status):
        for name in ("staging", "production"):
            env = environment(status, name)
            (live,) = env["running"]
            assert live["state"] == "restarting" and live["healthy"] is False
            assert live["restart_loop"] and live["last_exit_code"] == 4
            assert live["condition"].startswith("in a restart loop (restarted ")
            assert env["drift"].startswith("is in a restart loop: restarted ")
            assert env["drift"].endswith("last exit code 4")
        text = cli("status", repo).stdout
        assert text.count("DRIFT: is in a restart loop: restarted ") == 2, text
        assert "last exit code 4" in text


def test_a_swarm_task_stopped_as_unhealthy_is_unhealthy_whatever_its_exit_code(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:
    """Its health check fails, Swarm stops it, and it ends cleanly (0) at the SIGTERM:
    Swarm then calls the task "finished", but the failure names the health check."""
    pipeline = (
        "environments:\n  staging:\n    mode: service\n    auto: true\n"
        '    healthcheck: {test: "echo no database yet; false", interval: 500ms, retries: 2}\n'
    )
    app = "echo starting\ntrap 'echo bye; exit 0' TERM\nsleep 3600 & wait\n"
    repo = committed_app(tmp_path / "graceful", pipeline, app)
    cli = Cli(dockyard_home, swarm_daemon)
    try:
        run = cli("run", repo)
        assert run.returncode == 1, run.stderr
        assert "did not become healthy: its health check failed: exit code 1, " in run.stderr
        assert "no database yet" in run.stderr
        assert "exited with code 0" not in run.stderr
        latest = environment(cli.json("status", repo), "staging")["latest"]
        assert "its health check failed" in latest["error"]
    finally:
        forget(repo, docker_client)
