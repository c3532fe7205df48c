"""A rollback never crosses into or out of stack mode: a release that ran as a container
is not a stack (it has no compose file's services), and a stack release put back as a
container would start its services beside the stack. Refused up front, in one sentence,
with nothing recorded or deployed. Through the CLI, on the real Swarm."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from dockyard.engine.deploy import resource_name
from integration.deploy_images import PushedImage
from integration.mode_change import CONTAINER, MovedApp, moved_to_stack
from integration.stack_reads import running_services
from testbed.cli import Cli, environment
from testbed.dockerd import PrivateDaemon
from testbed.registry import LocalRegistry

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("swarm_gateway_bridge")]


@pytest.fixture
def cli(dockyard_home: Path, swarm_daemon: PrivateDaemon) -> Cli:
    return Cli(dockyard_home, swarm_daemon)


@pytest.fixture
def moved(
    tmp_path: Path,
    cli: Cli,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    cache: PushedImage,
) -> Iterator[MovedApp]:
    """v1.0.0 ran in production as a container, v1.1.0 runs there as a stack."""
    image = f"{registry.host}/modes/{tmp_path.name}"
    with moved_to_stack(tmp_path, docker_client, cli, image, cache) as moved:
        yield moved


def test_a_rollback_across_stack_mode_is_refused_up_front(
    cli: Cli, moved: MovedApp, docker_client: docker.DockerClient
) -> None:
    repo, stack = moved.repo, resource_name(moved.repo, "production")
    released = environment(cli.json("status", repo), "production")["release"]
    for to in ("v1.0.0", None):  # named, and the default (the release before)
        args = ["--to", to] if to else []
        refused = cli("rollback", repo, "production", *args, "--comment", "v1.1 is slow")
        assert refused.returncode == 2, refused.stdout
        assert refused.stderr == (
            "dockyard: v1.0.0 ran in production in container mode and production is in "
            "stack mode now; a rollback puts a release back as it ran, which cannot cross "
            "into or out of stack mode: roll back to a release that ran in stack mode, or "
            f"release a new one through the pipeline (dockyard run {repo}).\n"
        )
    production = environment(cli.json("status", repo), "production")
    assert production["release"] == released and production["pinned"] is False
    assert running_services(docker_client, stack)["web"].endswith("@" + moved.v2)

    # And back: production a container again, the stack release stays where it ran.
    moved.git.commit("production is a container again", {"dockyard.yml": CONTAINER.format(
        image=moved.image)})  # fmt: skip
    moved.git.tag("v1.2.0")
    assert cli("run", repo, "--ref", "v1.2.0").returncode == 0
    refused = cli("rollback", repo, "production", "--to", "v1.1.0", "--comment", "x")
    assert refused.returncode == 2
    assert refused.stderr.startswith(
        "dockyard: v1.1.0 ran in production in stack mode and production is in container mode now;"
    )
    rolled = cli("rollback", repo, "production", "--to", "v1.0.0", "--comment", "x")
    assert rolled.returncode == 0, rolled.stderr
    assert "to v1.0.0 on local (container)" in rolled.stdout


def test_promoting_a_release_from_before_stack_mode_is_refused_up_front(
    cli: Cli, moved: MovedApp, docker_client: docker.DockerClient
) -> None:
    repo, stack = moved.repo, resource_name(moved.repo, "production")
    before = environment(cli.json("status", repo), "production")
    refused = cli("promote", repo, "production", "--digest", moved.v1)
    assert refused.returncode == 2, refused.stdout
    assert refused.stderr == (
        "dockyard: v1.0.0 was built before production moved to stack mode and has no stack "
        f"file for it; release a new one through the pipeline (dockyard run {repo}).\n"
    )
    assert environment(cli.json("status", repo), "production") == before  # nothing recorded
    assert running_services(docker_client, stack)["web"].endswith("@" + moved.v2)
