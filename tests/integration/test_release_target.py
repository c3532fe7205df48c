"""The deploy target (host, mode, replicas) is part of what an approval lets in: a later
commit that moves production to another endpoint cannot send an approved release there
unseen, a retry goes only where it was approved for, and a rollback records where it
went. Through the CLI, with a real daemon (reached under two endpoint names), registry
and git; container mode keeps it quick."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from dockyard.core.locations import normalise_location
from dockyard.engine.deploy.deployers import deployer_for
from dockyard.engine.deploy.labels import selector
from dockyard.store.audit import AuditLog
from dockyard.store.database import open_database
from integration.deploy_images import running_digest
from testbed.cli import DEV, LEAD, Cli, environment
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import APP, DOCKERFILE, GitRepo, make_app_repo
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker

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


@pytest.fixture
def app(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    request: pytest.FixtureRequest,
) -> Iterator[App]:
    image = f"{registry.host}/target/{request.node.name[-20:].lower()}"
    cli = Cli(dockyard_home, docker_daemon)
    # The test daemon under a second name: another endpoint, as far as Dockyard knows.
    added = cli("hosts", "add", "prod-b", docker_daemon.url)
    assert added.returncode == 0, added.stderr
    git_repo = make_app_repo(tmp_path / "web")
    made = App(git_repo, normalise_location(str(git_repo.path)), image, cli)
    yield made
    git_repo.repo.close()
    deployer_for("container", docker_client).remove(made.repo, "production")
    for leftover in docker_client.images.list(name=image):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            docker_client.images.remove(leftover.id, force=True)


def release(app: App, tag: str, host: str, check: str = GOOD_CHECK) -> str:
    """Commit a working build for ``host`` as ``tag`` and run it to production's gate."""
    files = {"dockyard.yml": app.pipeline(host, check), "Dockerfile": DOCKERFILE}
    app.git.commit(tag, files | {"app.sh": f"{APP}# {tag}\n"})
    app.git.tag(tag)
    run = app.cli.json("run", app.repo, "--ref", tag, user=DEV)
    assert run["status"] == "awaiting_approval", run
    return str(run["image"]["digest"])


def test_an_approval_is_refused_when_a_later_commit_moves_the_target(
    app: App, docker_client: docker.DockerClient
) -> None:
    cli, repo = app.cli, app.repo
    v1 = release(app, "v1.0.0", "local")
    pending = environment(cli.json("status", repo), "production")["pending"]
    assert pending["target"] == {"host": "local", "mode": "container", "replicas": 1}
    assert "for local (container) requested by" in cli("status", repo).stdout

    app.move_production("prod-b")
    # What the approver looks at says so before anyone approves.
    pending = environment(cli.json("status", repo), "production")["pending"]
    assert pending["target"]["host"] == "local"
    assert "target changed since the request (host local → prod-b)" in " ".join(pending["notes"])

    refused = cli("approve", repo, "production", "--digest", v1, "--comment", "ok", user=LEAD)
    assert refused.returncode == 2, refused.stdout
    assert refused.stderr.startswith(
        "dockyard: production's target changed since this release was shown for approval "
        "(host local → prod-b); the approval did not count"
    ), refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not docker_client.containers.list(filters=selector(repo, "production"))
    production = environment(cli.json("status", repo), "production")
    assert production["release"] is None and production["latest"] is None
    (audited,) = app.audit("approval-refused")
    assert "target changed" in str(audited["reason"])
    assert app.audit("approval-requested")[-1]["target"] == "prod-b (container)"
    assert not app.audit("deploy")

    # Reviewed again, the new target shows and the approval deploys there.
    assert (
        production["pending"]["target"]["host"] == "prod-b" and not production["pending"]["notes"]
    )
    approved = cli("approve", repo, "production", "--digest", v1, user=LEAD)
    assert approved.returncode == 0, approved.stderr
    assert "production runs v1.0.0 on prod-b (container), approved by" in approved.stdout
    production = environment(cli.json("status", repo), "production")
    assert production["release"]["target"]["host"] == "prod-b"
    assert running_digest(docker_client, repo) == v1
    assert [d["target"] for d in app.audit("deploy")] == ["prod-b (container)"]

    # A rollback is a forward deployment to where production lives now (the newest
    # dockyard.yml), and records it.
    v2 = release(app, "v1.1.0", "prod-b")
    assert cli("approve", repo, "production", "--digest", v2, user=LEAD).returncode == 0
    app.move_production("local")
    rolled = cli("rollback", repo, "production", "--to", "v1.0.0", "--comment", "v1.1 breaks")
    assert rolled.returncode == 0, rolled.stderr
    assert "rolled back from v1.1.0 to v1.0.0 on local (container)" in rolled.stdout
    production = environment(cli.json("status", repo), "production")
    assert production["release"]["rollback"] is True
    assert production["release"]["target"]["host"] == "local"
    assert app.audit("rollback")[-1]["target"] == "local (container)"
    assert running_digest(docker_client, repo) == v1
    assert cli("audit", "verify").returncode == 0


def test_a_retry_goes_only_where_it_was_approved(
    app: App, docker_client: docker.DockerClient
) -> None:
    cli, repo = app.cli, app.repo
    v1 = release(app, "v1.0.0", "local", BAD_CHECK)
    failed = cli("approve", repo, "production", user=LEAD)
    assert failed.returncode == 1 and "did not become healthy" in failed.stderr
    production = environment(cli.json("status", repo), "production")
    assert production["retry_possible"] is True
    failed_id = production["latest"]["id"]

    app.move_production("prod-b", BAD_CHECK)
    refused = cli("approve", repo, "production", "--retry", "--digest", v1)
    assert refused.returncode == 2, refused.stdout
    assert refused.stderr.startswith(
        "dockyard: production's target changed since v1.0.0 was approved (host local → "
        "prod-b); a retry only deploys where it was approved for: request the release again"
    ), refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    production = environment(cli.json("status", repo), "production")
    assert production["latest"]["id"] == failed_id and production["release"] is None
    assert not app.audit("retry-deployment")
