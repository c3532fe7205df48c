"""An app whose production a later commit moves to another endpoint (the test daemon
under a second name, ``prod-b``): what the target tests (CLI and window) start from."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker

from dockyard.core.locations import normalise_location
from dockyard.engine.deploy.deployers import deployer_for
from dockyard.store.audit import AuditLog
from dockyard.store.database import open_database
from testbed.cli import DEV, Cli
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import APP, DOCKERFILE, GitRepo, make_app_repo
from testbed.registry import LocalRegistry

GOOD_CHECK = "wget -q -O /dev/null http://127.0.0.1/"
BAD_CHECK = "test -f /no-such-file"
PIPELINE = """\
image: {image}
environments:
  production:
    host: {host}
    mode: container
    approval: {{required: 1}}
    healthcheck: {{test: "{check}", interval: 500ms, timeout: 2s, retries: {retries}}}
"""
# A work-in-progress commit whose run fails at the build, before it reaches production:
# its dockyard.yml is still what the environments are read from.
BROKEN_BUILD = "FROM busybox:stable\nRUN exit 3\n"


@dataclass
class App:
    git: GitRepo
    repo: str
    image: str
    cli: Cli

    def pipeline(self, host: str, check: str = GOOD_CHECK) -> str:
        retries = 5 if check == GOOD_CHECK else 2
        return PIPELINE.format(image=self.image, host=host, check=check, retries=retries)

    def move_production(self, host: str, check: str = GOOD_CHECK) -> None:
        """Commit production's new ``host:`` with a build that fails, and run it."""
        self.git.commit(
            f"production moves to {host}",
            {"dockyard.yml": self.pipeline(host, check), "Dockerfile": BROKEN_BUILD},
        )
        wip = self.cli("run", self.repo, user=DEV)
        assert wip.returncode == 1, wip.stderr

    def audit(self, action: str) -> list[dict[str, object]]:
        db = open_database(self.cli.home)
        try:
            return [e.details for e in AuditLog(db).entries(repo=self.repo) if e.action == action]
        finally:
            db.close()


@contextlib.contextmanager
def two_endpoint_app(
    tmp_path: Path,
    home: Path,
    daemon: PrivateDaemon,
    client: docker.DockerClient,
    registry: LocalRegistry,
    name: str,
) -> Iterator[App]:
    """An app repository whose production can move between ``local`` and ``prod-b``."""
    image = f"{registry.host}/target/{name}"
    cli = Cli(home, daemon)
    # The test daemon under a second name: another endpoint, as far as Dockyard knows.
    added = cli("hosts", "add", "prod-b", daemon.url)
    assert added.returncode == 0, added.stderr
    git_repo = make_app_repo(tmp_path / "web")
    made = App(git_repo, normalise_location(str(git_repo.path)), image, cli)
    try:
        yield made
    finally:
        git_repo.repo.close()
        deployer_for("container", client).remove(made.repo, "production")
        for leftover in client.images.list(name=image):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                client.images.remove(leftover.id, force=True)


def release(app: App, tag: str, host: str, check: str = GOOD_CHECK) -> str:
    """Commit a working build for ``host`` as ``tag`` and run it to production's gate."""
    files = {"dockyard.yml": app.pipeline(host, check), "Dockerfile": DOCKERFILE}
    app.git.commit(tag, files | {"app.sh": f"{APP}# {tag}\n"})
    app.git.tag(tag)
    run = app.cli.json("run", app.repo, "--ref", tag, user=DEV)
    assert run["status"] == "awaiting_approval", run
    return str(run["image"]["digest"])
