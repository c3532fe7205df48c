"""What a failed health gate says: the exit code and the last lines the process printed,
redacted, in container mode and in Swarm service mode. Real daemon, Swarm, registry,
keyring and git."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from dockyard.core.errors import PipelineFailed
from dockyard.core.locations import normalise_location
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.engine.deploy import ContainerDeployer, deployer_for
from dockyard.engine.events import CancelToken
from dockyard.engine.secrets import SecretStore
from integration.deploy_images import LogLines, PushedImage, push_image, request_for, snapshot_of
from integration.test_releases import Cli, bytes_under, environment
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
from testbed.registry import LocalRegistry

pytestmark = [pytest.mark.docker, pytest.mark.keyring]

REPO = "shop/health-reports"
# 26 lines on stdout (Docker keeps the order within one stream), then exit 7; the
# report keeps the last 20.
CHATTY_CRASH = """\
FROM busybox:stable
CMD ["sh", "-c", "for i in $(seq 25); do echo line $i; done; echo 'fatal: no database'; exit 7"]
"""


@pytest.fixture(scope="module")
def chatty_crash(docker_daemon: PrivateDaemon, registry: LocalRegistry) -> PushedImage:
    client = docker_daemon.client()
    try:
        return push_image(client, registry.host, "chatty-crash", CHATTY_CRASH)
    finally:
        client.close()


@pytest.fixture
def deployer(docker_client: docker.DockerClient) -> Iterator[ContainerDeployer]:
    deployer = ContainerDeployer(docker_client)
    yield deployer
    deployer.remove(REPO, "staging")


def test_a_crash_in_the_container_gate_reports_the_exit_code_and_last_20_lines(
    deployer: ContainerDeployer, chatty_crash: PushedImage
) -> None:
    env = EnvironmentConfig(name="staging", grace=5)
    request = request_for(
        chatty_crash, snapshot_of(env), repo=REPO, environment="staging", deployment_id=1
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
    git_repo = make_app_repo(tmp_path / "leaky", dockyard_yml=pipeline)
    # Running for a second first: a first release must stay up for Swarm's monitor period.
    app = (
        'echo starting\necho "token=$(cat /run/secrets/api_token)"\necho bye >&2\nsleep 1\nexit 5\n'
    )
    git_repo.commit("print the secret and exit", {"app.sh": app})
    repo = normalise_location(str(git_repo.path))
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
        deployer_for("service", docker_client).remove(repo, "staging")
        SecretStore().delete(repo, "staging", "api_token")
        for image in docker_client.images.list(filters={"label": f"dockyard.repo={repo}"}):
            with contextlib.suppress(docker.errors.APIError):
                docker_client.images.remove(image.id, force=True)
