"""No path to production skips its gate: rollback goes only back to what ran there, people
are compared case-insensitively, and an approval is bound to the digest that was reviewed
(a replaced request's run becomes ``superseded``). Through the CLI, with a real daemon,
registry and git (container mode keeps it quick)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from dockyard.core.locations import normalise_location
from dockyard.engine.deploy.deployers import deployer_for
from integration.deploy_images import running_digest
from integration.failed_approval import failed_approval
from testbed.cli import LEAD, Cli, environment
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import GitRepo, make_app_repo
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker

DEV = "dev@example.org"
PIPELINE = """\
image: {image}
environments:
  production:
    mode: container
    approval: {{required: 1}}
    healthcheck: {{test: "wget -q -O /dev/null http://127.0.0.1/", interval: 500ms, retries: 5}}
"""


@pytest.fixture
def app(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> Iterator[tuple[GitRepo, str, Cli]]:
    image = f"{registry.host}/gates/web"
    git_repo = make_app_repo(tmp_path / "web", dockyard_yml=PIPELINE.format(image=image))
    git_repo.tag("v1.0.0")
    repo = normalise_location(str(git_repo.path))
    yield git_repo, repo, Cli(dockyard_home, docker_daemon)
    deployer_for("container", docker_client).remove(repo, "production")
    for leftover in docker_client.images.list(name=image):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            docker_client.images.remove(leftover.id, force=True)


def test_rollback_refuses_what_never_ran_in_the_environment(
    app: tuple[GitRepo, str, Cli], docker_client: docker.DockerClient
) -> None:
    git_repo, repo, cli = app
    first = cli.json("run", repo, "--ref", "v1.0.0", user=DEV)
    assert cli("approve", repo, "production", user=LEAD).returncode == 0
    v1 = first["image"]["digest"]
    # v2.0.0 is built and tested but waits for its approval: it never ran in production.
    git_repo.commit("v2", {"app.sh": git_repo.path.joinpath("app.sh").read_text() + "\n"})
    git_repo.tag("v2.0.0")
    v2 = cli.json("run", repo, "--ref", "v2.0.0", user=DEV)["image"]["digest"]
    # v6.6.6 was never built, tested or approved.
    git_repo.commit("unreviewed", {"unreviewed.txt": "nobody looked at this\n"})
    git_repo.tag("v6.6.6")
    runs_before = len(cli.json("runs", repo))

    for to in ("v6.6.6", "v2.0.0"):
        refused = cli("rollback", repo, "production", "--to", to, "--comment", "x", user=DEV)
        assert refused.returncode == 2, refused.stderr
        assert f"{to} never ran in production" in refused.stderr
        assert f"dockyard run {repo} --ref {to}" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    for to in (v2, v2.removeprefix("sha256:")[:12], "999"):
        refused = cli("rollback", repo, "production", "--to", to, "--comment", "x", user=DEV)
        assert refused.returncode == 2 and "never ran in production" in refused.stderr
        assert "dockyard promote" in refused.stderr

    assert len(cli.json("runs", repo)) == runs_before  # nothing was built
    production = environment(cli.json("status", repo), "production")
    assert production["release"]["digest"] == v1 and not production["pinned"]
    assert production["pending"]["digest"] == v2  # still waits for its gate
    assert running_digest(docker_client, repo) == v1
    assert cli("audit", "verify").returncode == 0


def test_four_eyes_compares_people_case_insensitively(app: tuple[GitRepo, str, Cli]) -> None:
    _git_repo, repo, cli = app
    cli.json("run", repo, "--ref", "v1.0.0", user=DEV)
    for disguise in ("DEV@example.org", "Dev@Example.ORG "):
        refused = cli("approve", repo, "production", user=disguise)
        assert refused.returncode == 2, refused.stderr
        assert "four-eyes" in refused.stderr
    production = environment(cli.json("status", repo), "production")
    assert production["release"] is None and production["pending"]["approvals"] == []
    assert cli("approve", repo, "production", user=LEAD).returncode == 0


def test_approve_is_bound_to_the_reviewed_digest_and_replaced_runs_are_superseded(
    app: tuple[GitRepo, str, Cli], docker_client: docker.DockerClient
) -> None:
    git_repo, repo, cli = app
    first = cli.json("run", repo, "--ref", "v1.0.0", user=DEV)
    assert first["status"] == "awaiting_approval"
    git_repo.commit("v1.1", {"app.sh": git_repo.path.joinpath("app.sh").read_text() + "\n"})
    git_repo.tag("v1.1.0")
    second = cli.json("run", repo, "--ref", "v1.1.0", user=DEV)
    assert second["status"] == "awaiting_approval"
    reviewed, waiting = first["image"]["digest"], second["image"]["digest"]

    runs = {run["id"]: run for run in cli.json("runs", repo)}
    assert runs[first["id"]]["status"] == "superseded"
    assert "newer approval request for production" in runs[first["id"]]["error"]
    assert runs[second["id"]]["status"] == "awaiting_approval"
    listed = cli("runs", repo).stdout
    assert f"{first['id']}  superseded" in listed
    assert environment(cli.json("status", repo), "production")["pending"]["run"] == second["id"]

    # The approver looked at the first release; the second waits now: refused.
    stale = cli("approve", repo, "production", "--digest", reviewed, user=LEAD)
    assert stale.returncode == 2, stale.stderr
    assert reviewed.removeprefix("sha256:")[:12] in stale.stderr
    assert waiting.removeprefix("sha256:")[:12] in stale.stderr
    assert "dockyard status" in stale.stderr and len(stale.stderr.strip().splitlines()) == 1
    stale = cli("reject", repo, "production", "--digest", reviewed, "--comment", "x", user=LEAD)
    assert stale.returncode == 2 and "you reviewed" in stale.stderr
    short = cli("approve", repo, "production", "--digest", "abc", user=LEAD)
    assert short.returncode == 2 and "12 hex" in short.stderr
    production = environment(cli.json("status", repo), "production")
    assert production["release"] is None and production["pending"]["approvals"] == []

    # A 12-character prefix of what waits, with or without sha256:, approves it.
    prefix = "sha256:" + waiting.removeprefix("sha256:")[:12]
    approved = cli("approve", repo, "production", "--digest", prefix, user=LEAD)
    assert approved.returncode == 0, approved.stderr
    assert running_digest(docker_client, repo) == waiting
    assert cli("audit", "verify").returncode == 0


def test_a_retry_is_bound_to_the_reviewed_digest(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:
    with failed_approval(tmp_path, dockyard_home, swarm_daemon, docker_client) as failed:
        cli, repo = failed.cli, failed.repo
        other = "sha256:" + "0" * 12
        refused = cli("approve", repo, "production", "--retry", "--digest", other, user=LEAD)
        assert refused.returncode == 2 and "you reviewed" in refused.stderr
        assert environment(cli.json("status", repo), "production")["retry_possible"] is True
        failed.registry_up()
        retried = cli("approve", repo, "production", "--retry", "--digest", failed.digest)
        assert retried.returncode == 0, retried.stderr
