"""What an approval covers is the release's own commit: its files and its environment's
configuration (env_file, configs, secrets) as that commit declared them. A later commit
that changes production's env_file (its path and its contents) moves nothing the approver
was shown: the request stands, a ``promote`` of the same digest asks for the same
configuration, and the approval ships the release's own file. Through the CLI, with a real
daemon, registry and git."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from dockyard.engine.deploy.labels import selector
from integration.deploy_images import running_digest
from integration.moving_target import BROKEN_BUILD, App, two_endpoint_app
from testbed.cli import DEV, LEAD, environment
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import APP, DOCKERFILE
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker

PIPELINE = """\
image: {image}
environments:
  production:
    host: local
    mode: container
    env_file: {env_file}
    approval: {{required: 1}}
    healthcheck: {{test: "wget -q -O /dev/null http://127.0.0.1/", interval: 500ms,
                  timeout: 2s, retries: 5}}
"""


@pytest.fixture
def app(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> Iterator[App]:
    with two_endpoint_app(
        tmp_path, dockyard_home, docker_daemon, docker_client, registry, "snapshot"
    ) as made:
        yield made


def test_a_later_commits_env_file_does_not_change_what_an_approval_covers(
    app: App, docker_client: docker.DockerClient
) -> None:
    cli, repo = app.cli, app.repo
    app.git.commit(
        "v1.0.0",
        {
            "dockyard.yml": PIPELINE.format(image=app.image, env_file="production.env"),
            "production.env": "GREETING=from-v1\n",
            "Dockerfile": DOCKERFILE,
            "app.sh": APP,
        },
    )
    app.git.tag("v1.0.0")
    run = cli.json("run", repo, "--ref", "v1.0.0", user=DEV)
    assert run["status"] == "awaiting_approval", run
    v1 = str(run["image"]["digest"])

    # A later commit (its build fails) moves production's env_file and changes it.
    app.git.commit(
        "production's settings move to deploy/",
        {
            "dockyard.yml": PIPELINE.format(image=app.image, env_file="deploy/production.env"),
            "deploy/production.env": "GREETING=from-later\n",
            "Dockerfile": BROKEN_BUILD,
        },
    )
    assert cli("run", repo, user=DEV).returncode == 1
    pending = environment(cli.json("status", repo), "production")["pending"]
    assert pending["digest"] == v1 and not pending["notes"]

    # promote asks for v1 as v1's commit declared it: the same configuration as its run's.
    promoted = cli("promote", repo, "production", "--digest", v1, user=DEV)
    assert promoted.returncode == 0, promoted.stderr
    first, again = app.audit("approval-requested")
    assert again["config_fingerprint"] == first["config_fingerprint"]

    approved = cli("approve", repo, "production", "--digest", v1, user=LEAD)
    assert approved.returncode == 0, approved.stderr
    assert not app.audit("approval-refused")
    assert running_digest(docker_client, repo) == v1
    (container,) = docker_client.containers.list(filters=selector(repo, "production"))
    assert "GREETING=from-v1" in container.attrs["Config"]["Env"]
