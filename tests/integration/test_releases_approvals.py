"""Approval rules through the CLI: reject, two distinct approvers, a deployment that fails
on approve, and an approval that times out. Real daemon, registry and git (container
mode keeps it quick; Swarm is covered in test_releases.py and test_releases_health.py)."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import datetime
from pathlib import Path

import docker
import pytest

from dockyard.core.locations import normalise_location
from dockyard.engine.deploy.deployers import deployer_for
from dockyard.engine.deploy.labels import selector
from integration.deploy_images import running_digest
from testbed.cli import DEV, LEAD, Cli, environment
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker

OPS = "ops@example.test"
GOOD_CHECK = "wget -q -O /dev/null http://127.0.0.1/"
BAD_CHECK = "test -f /no-such-file"
PIPELINE = """\
image: {image}
environments:
  production:
    mode: container
    approval: {{required: 2, timeout: {timeout}}}
    healthcheck: {{test: "{check}", interval: 500ms, timeout: 2s, retries: 2}}
"""


def test_reject_two_approvers_failed_deploy_and_expiry(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    image = f"{registry.host}/approvals/web"
    git_repo = make_app_repo(
        tmp_path / "web", dockyard_yml=PIPELINE.format(image=image, timeout="1h", check=GOOD_CHECK)
    )
    git_repo.tag("v1.0.0")
    repo = normalise_location(str(git_repo.path))
    cli = Cli(dockyard_home, docker_daemon)
    try:
        # Reject: a comment is required; with one, the run fails with it as its error.
        first = cli.json("run", repo, "--ref", "v1.0.0")
        assert first["status"] == "awaiting_approval"
        assert cli("reject", repo, "production", user=LEAD).returncode == 2
        empty = cli("reject", repo, "production", "--comment", " ", user=LEAD)
        assert empty.returncode == 2 and "needs a reason" in empty.stderr
        assert environment(cli.json("status", repo), "production")["pending"] is not None
        rejected = cli("reject", repo, "production", "--comment", "no changelog", user=LEAD)
        assert rejected.returncode == 0, rejected.stderr
        production = environment(cli.json("status", repo), "production")
        assert production["pending"] is None
        assert production["last_request"]["status"] == "rejected"
        run = next(r for r in cli.json("runs", repo) if r["id"] == first["id"])
        assert run["status"] == "failed" and "no changelog" in run["error"]
        assert cli("approve", repo, "production", user=LEAD).returncode == 2  # nothing waits

        # required: 2 needs two different people; the same one twice counts once.
        second = cli.json("run", repo, "--ref", "v1.0.0")
        v1 = second["image"]["digest"]
        for _ in range(2):
            once = cli("approve", repo, "production", "--comment", "ok", user=LEAD)
            assert once.returncode == 0, once.stderr
            assert "1 of 2" in once.stdout
            production = environment(cli.json("status", repo), "production")
            assert production["release"] is None
            assert production["pending"]["approvals"] == [LEAD]
            assert production["pending"]["approvals_needed"] == 1
        assert not docker_client.containers.list(filters=selector(repo, "production"))
        both = cli("approve", repo, "production", "--comment", "ok too", user=OPS)
        assert both.returncode == 0, both.stderr
        production = environment(cli.json("status", repo), "production")
        assert production["release"]["digest"] == v1
        assert sorted(production["release"]["approved_by"]) == [LEAD, OPS]
        assert running_digest(docker_client, repo) == v1

        # A deployment that fails on approve: exit 1, the run fails, v1 keeps running.
        git_repo.commit(
            "stricter check",
            {"dockyard.yml": PIPELINE.format(image=image, timeout="1h", check=BAD_CHECK)},
        )
        git_repo.tag("v1.1.0")
        third = cli.json("run", repo, "--ref", "v1.1.0")
        assert cli("approve", repo, "production", user=LEAD).returncode == 0
        failed = cli("approve", repo, "production", user=OPS)
        assert failed.returncode == 1
        assert "did not become healthy" in failed.stderr
        production = environment(cli.json("status", repo), "production")
        assert production["release"]["digest"] == v1
        assert production["latest"]["status"] == "failed"
        assert production["latest"]["digest"] == third["image"]["digest"]
        assert running_digest(docker_client, repo) == v1
        run = next(r for r in cli.json("runs", repo) if r["id"] == third["id"])
        assert run["status"] == "failed" and "did not become healthy" in run["error"]

        # timeout: the request expires, visibly, and can no longer be approved.
        git_repo.commit(
            "short approval window",
            {"dockyard.yml": PIPELINE.format(image=image, timeout="5s", check=GOOD_CHECK)},
        )
        git_repo.tag("v1.2.0")
        fourth = cli.json("run", repo, "--ref", "v1.2.0")
        # The newest request, pending or (on a loaded machine, seconds after the run asked)
        # already expired: its stated window is waited out, not a fixed pause.
        requested = environment(cli.json("status", repo), "production")["last_request"]
        assert requested["run"] == fourth["id"] and requested["expires"] is not None
        expires = datetime.fromisoformat(requested["expires"])
        # The CLI gives whole seconds (the moment may be up to 1 s later).
        time.sleep(max(0.0, (expires - datetime.now(expires.tzinfo)).total_seconds()) + 1.5)
        production = environment(cli.json("status", repo), "production")
        assert production["pending"] is None
        assert production["last_request"]["status"] == "expired"
        assert production["last_request"]["run"] == fourth["id"]
        late = cli("approve", repo, "production", user=LEAD)
        assert late.returncode == 2 and "expired" in late.stderr
        assert production["release"]["digest"] == v1
        assert DEV not in production["release"]["approved_by"]
    finally:
        deployer_for("container", docker_client).remove(repo, "production")
        for leftover in docker_client.images.list(name=image):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                docker_client.images.remove(leftover.id, force=True)


def test_a_later_commit_cannot_loosen_the_rules_of_a_pending_release(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    registry: LocalRegistry,
) -> None:
    """A work-in-progress commit that lets people approve their own releases, run once and
    failed, must not let the developer approve the release waiting before it."""
    image = f"{registry.host}/approvals/loosened"
    strict = "image: {image}\nenvironments:\n  production:\n    mode: container\n"
    git_repo = make_app_repo(tmp_path / "web", dockyard_yml=strict.format(image=image))
    git_repo.tag("v1.0.0")
    repo = normalise_location(str(git_repo.path))
    cli = Cli(dockyard_home, docker_daemon)
    pending = cli.json("run", repo, "--ref", "v1.0.0", user=DEV)
    assert pending["status"] == "awaiting_approval"
    loose = strict + "    approval: {{required: 1, self_approval: true}}\n"
    git_repo.commit(
        "WIP: let me approve my own releases",
        {
            "dockyard.yml": loose.format(image=image),
            "Dockerfile": "FROM busybox:stable\nRUN exit 3\n",
        },
    )
    wip = cli("run", repo, "--json", user=DEV)
    assert wip.returncode == 1 and json.loads(wip.stdout)["status"] == "failed", wip.stderr

    own = cli("approve", repo, "production", user=DEV)
    assert own.returncode == 2, own.stdout
    assert "cannot approve it (four-eyes rule for production)" in own.stderr
    status = environment(cli.json("status", repo), "production")
    assert status["pending"]["run"] == pending["id"] and status["release"] is None
    assert status["pending"]["approvals_needed"] == 1
