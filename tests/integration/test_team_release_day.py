"""The release day across two machines sharing a team ledger (issue 10).

Two homes stand for two desktops, each with its own clone of one origin and its own
login role: the developer runs v1.0.0, the release manager sees it pending with its logs,
approves, production runs that digest, and the developer sees who let it in. Real
PostgreSQL, daemon, registry, git and keyring; identities come from the server only.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from dockyard.engine.deploy import resource_name
from dockyard.engine.deploy.deployers import deployer_for
from testbed.cli import run_dockyard
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import clone, make_app_repo
from testbed.registry import LocalRegistry
from testbed.teamdb import TeamDatabase

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.keyring]

PIPELINE = """\
image: {image}
environments:
  staging:
    mode: container
    auto: true
  production:
    mode: service
    after: staging
    secrets: [api_token]
    approval: {{required: 1, self_approval: true}}
"""


@dataclass
class Member:
    name: str
    home: Path
    clone: Path

    def __call__(
        self, *args: str, user: str = "forged@example.test", stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        # DOCKYARD_USER is set to a forged name on purpose: the server must not care.
        return run_dockyard(self.home, *args, user=user, stdin=stdin)

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def _environment(status: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in status["environments"] if e["name"] == name)


def test_developer_runs_release_manager_approves_on_another_machine(
    tmp_path: Path,
    team: TeamDatabase,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    image = f"{registry.host}/team/web"
    source = make_app_repo(tmp_path / "source", dockyard_yml=PIPELINE.format(image=image))
    source.tag("v1.0.0")
    origin = tmp_path / "origin.git"
    clone(source.path, origin, bare=True)
    dev_name, rm_name = team.developer, team.release_manager
    members = {}
    for name in (dev_name, rm_name):
        member = Member(name, tmp_path / f"home-{name}", clone(origin, tmp_path / f"clone-{name}"))
        team.connect_home(member.home, name)
        members[name] = member
    dev, rm = members[dev_name], members[rm_name]
    repo = str(origin)
    # Both machines know the production secret: fingerprinted on the developer's, it
    # must compare on the release manager's (one key for the whole team).
    for member in (dev, rm):
        stored = run_dockyard(
            member.home, "secret", "set", str(member.clone), "production", "api_token",
            stdin="tok-" + team.name,
        )  # fmt: skip
        assert stored.returncode == 0, stored.stderr
    try:
        # The developer runs v1.0.0 from their clone: staging, then production waits.
        run = dev.json("run", str(dev.clone), "--ref", "v1.0.0")
        assert run["status"] == "awaiting_approval", run
        digest = run["image"]["digest"]
        assert (
            "DOCKYARD_USER=forged@example.test is ignored" in dev("status", str(dev.clone)).stderr
        )

        # The environment allows self-approval in dockyard.yml, but the team protects it:
        # the server refuses the requester, whatever name the client claims.
        refused = dev("approve", str(dev.clone), "production", "--comment", "mine", user=rm_name)
        assert refused.returncode == 2, refused.stderr
        assert "cannot approve" in refused.stderr
        assert "Traceback" not in refused.stderr

        # The release manager, on their machine and clone, sees the same pending release
        # with the build log of that digest.
        status = rm.json("status", str(rm.clone))
        assert status["repo"] == repo  # both clones meet at their origin
        pending = _environment(status, "production")["pending"]
        assert pending["digest"] == digest and pending["requested_by"] == dev_name
        assert not (rm.home / "logs" / run["id"]).exists()  # not on this machine: uploaded
        for stage in ("build", "test"):
            theirs = rm("logs", run["id"], "--stage", stage)
            assert theirs.returncode == 0, theirs.stderr
            assert theirs.stdout.strip()
            assert theirs.stdout == dev("logs", run["id"], "--stage", stage).stdout

        # A secret that differs on the approver's machine is a change the requester must
        # bring back for review: the approver cannot make (and approve) a new request.
        def set_secret(value: str) -> None:
            stored = rm("secret", "set", str(rm.clone), "production", "api_token", stdin=value)
            assert stored.returncode == 0, stored.stderr

        set_secret("something else")
        changed = rm("approve", str(rm.clone), "production")
        assert changed.returncode == 2
        assert f"Ask {dev_name} to run the pipeline again" in changed.stderr
        set_secret("tok-" + team.name)
        approved = rm("approve", str(rm.clone), "production", "--comment", "ship it")
        assert approved.returncode == 0, approved.stderr
        service = docker_client.services.get(resource_name(repo, "production"))
        image_spec = service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
        assert image_spec.endswith("@" + digest)

        # The developer sees who let it in; the audit chain, appended by the server,
        # verifies from either machine and names the true roles.
        release = _environment(dev.json("status", str(dev.clone)), "production")["release"]
        assert release["digest"] == digest
        assert release["deployed_by"] == rm_name
        verified = dev("audit", "verify")
        assert verified.returncode == 0, verified.stderr
        with team.admin() as admin:
            actors = dict(
                admin.execute(
                    "SELECT action, actor FROM dockyard.audit WHERE action IN"
                    " ('approval-requested', 'approve')"
                ).fetchall()
            )
        assert actors == {"approval-requested": dev_name, "approve": rm_name}
    finally:
        for env_name, mode in (("staging", "container"), ("production", "service")):
            deployer_for(mode, docker_client).remove(repo, env_name)
        for leftover in docker_client.images.list(name=image):
            with contextlib.suppress(docker.errors.NotFound):
                docker_client.images.remove(leftover.id, force=True)
