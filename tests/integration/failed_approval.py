"""A release approved for production whose deployment failed because the registry was
down: what the retry tests (CLI and window) and the release gates start from."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker

from dockyard.core.locations import normalise_location
from dockyard.engine.deploy.deployers import deployer_for
from testbed.cli import LEAD, Cli
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
from testbed.ports import wait_for_port
from testbed.registry import LocalRegistry, start_registry

PIPELINE = """\
image: {image}
environments:
  production:
    mode: service
    approval: {{required: 1}}
    secrets: [api_token]
    healthcheck: {{test: "wget -q -O /dev/null http://127.0.0.1/", interval: 1s, retries: 5}}
"""
TOKEN = "token-one"


@dataclass
class FailedApproval:
    """A release approved for production whose deployment failed: the registry was down,
    so Swarm could not pull the image."""

    cli: Cli
    repo: str
    image: str
    digest: str
    registry: LocalRegistry

    def registry_up(self) -> None:
        binary = shutil.which("docker-registry")
        assert binary is not None
        port = int(self.registry.host.rsplit(":", 1)[1])
        with (self.registry.root / "registry.log").open("ab") as log:
            self.registry.process = subprocess.Popen(
                [binary, "serve", str(self.registry.root / "config.yml")], stdout=log, stderr=log
            )
        assert wait_for_port(port), "the registry did not come back"


@contextlib.contextmanager
def failed_approval(
    tmp_path: Path, home: Path, daemon: PrivateDaemon, client: docker.DockerClient
) -> Iterator[FailedApproval]:
    registry = start_registry()
    image = f"{registry.host}/retry/web"
    git_repo = make_app_repo(tmp_path / "web", dockyard_yml=PIPELINE.format(image=image))
    git_repo.tag("v1.0.0")
    repo = normalise_location(str(git_repo.path))
    cli = Cli(home, daemon)
    try:
        assert cli("secret", "set", repo, "production", "api_token", stdin=TOKEN).returncode == 0
        digest = cli.json("run", repo, "--ref", "v1.0.0")["image"]["digest"]
        _remove_images(client, image)  # the deployment must pull it...
        registry.process.terminate()  # ...from a registry that is down
        registry.process.wait(timeout=10)
        failed = cli("approve", repo, "production", user=LEAD)
        assert failed.returncode == 1, failed.stderr  # Swarm could not pull it
        assert "did not become healthy" in failed.stderr
        yield FailedApproval(cli, repo, image, digest, registry)
    finally:
        git_repo.repo.close()
        deployer_for("service", client).remove(repo, "production")
        _remove_images(client, image)
        registry.stop()


def _remove_images(client: docker.DockerClient, image: str) -> None:
    for found in client.images.list(name=image):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            client.images.remove(found.id, force=True)
