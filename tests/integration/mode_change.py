"""An app whose production moved from container mode to a Swarm stack by a later commit:
v1.0.0 ran as a container, v1.1.0 runs as a stack (what the rollback-across-modes tests,
CLI and window, start from)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker

from dockyard.engine.deploy.deployers import deployer_for
from integration.deploy_images import DEPLOY_FILE, PushedImage, deployable_app
from testbed.cli import Cli, outcomes
from testbed.gitrepos import GitRepo

# Braces doubled: the pipelines below are format()ted with their image.
CHECK = '{{test: "wget -q -O /dev/null http://127.0.0.1/", interval: 1s, retries: 5}}'
CONTAINER = f"""\
image: {{image}}
environments:
  production:
    mode: container
    auto: true
    healthcheck: {CHECK}
"""
STACK = f"""\
image: {{image}}
environments:
  production:
    mode: stack
    compose: compose.deploy.yml
    auto: true
    healthcheck: {CHECK}
    grace: 1s
"""


@dataclass(frozen=True)
class MovedApp:
    git: GitRepo
    repo: str
    v1: str  # v1.0.0's digest, released in container mode
    v2: str  # v1.1.0's digest, released as a stack
    image: str  # the repository both were pushed to


@contextlib.contextmanager
def moved_to_stack(
    tmp_path: Path, client: docker.DockerClient, cli: Cli, image: str, cache: PushedImage
) -> Iterator[MovedApp]:
    """v1.0.0 released as a container, then v1.1.0 as a stack; both removed afterwards."""
    with deployable_app(tmp_path / "web", client, image, CONTAINER, "stack", "production") as made:
        try:
            made.git_repo.tag("v1.0.0")
            first = cli.json("run", made.repo, "--ref", "v1.0.0")
            assert outcomes(first) == {"production": "deployed"}, first
            made.git_repo.commit(
                "production becomes a stack",
                {
                    "dockyard.yml": STACK.format(image=image),
                    "compose.deploy.yml": DEPLOY_FILE.format(cache=cache.reference),
                },
            )
            made.git_repo.tag("v1.1.0")
            second = cli.json("run", made.repo, "--ref", "v1.1.0")
            assert outcomes(second) == {"production": "deployed"}, second
            yield MovedApp(
                made.git_repo,
                made.repo,
                first["image"]["digest"],
                second["image"]["digest"],
                image,
            )
        finally:
            deployer_for("container", client).remove(made.repo, "production")
