"""The deploy target (host, mode, replicas) is part of what an approval lets in: a later
commit that moves production to another endpoint cannot send an approved release there
unseen, a retry goes only where it was approved for, and a rollback records where it
went. Through the CLI, with a real daemon (reached under two endpoint names), registry
and git; container mode keeps it quick."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from dockyard.engine.deploy.labels import selector
from integration.deploy_images import running_digest
from integration.moving_target import BAD_CHECK, App, release, two_endpoint_app
from testbed.cli import LEAD, environment
from testbed.dockerd import PrivateDaemon
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker


@pytest.fixture
def app(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    request: pytest.FixtureRequest,
) -> Iterator[App]:
    name = request.node.name[-20:].lower()
    with two_endpoint_app(
        tmp_path, dockyard_home, docker_daemon, docker_client, registry, name
    ) as made:
        yield made


def refused(result: subprocess.CompletedProcess[str], beginning: str) -> None:
    """Exit 2 and one sentence on stderr that begins so."""
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith(f"dockyard: {beginning}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


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

    refused(
        cli("approve", repo, "production", "--digest", v1, "--comment", "ok", user=LEAD),
        "production's target changed since this release was shown for approval "
        "(host local → prod-b); the approval did not count",
    )
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
    refused(
        cli("approve", repo, "production", "--retry", "--digest", v1),
        "production's target changed since v1.0.0 was approved (host local → prod-b); a "
        "retry only deploys where it was approved for: request the release again",
    )
    production = environment(cli.json("status", repo), "production")
    assert production["latest"]["id"] == failed_id and production["release"] is None
    assert not app.audit("retry-deployment")
