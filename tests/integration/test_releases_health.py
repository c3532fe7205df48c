"""A release whose health check fails in a Swarm staging: the update rolls back, the
deployment and the run fail (exit 1) with a clear reason, staging keeps the previous
digest, and production is not touched; `promote` sends a recorded digest onward under the
promotion policy. Real daemon (Swarm), registry and git, through the CLI."""

from __future__ import annotations

import contextlib
from pathlib import Path

import docker
import pytest

from dockyard.core.locations import normalise_location
from dockyard.engine.deploy import resource_name
from dockyard.engine.deploy.deployers import deployer_for
from dockyard.engine.deploy.labels import selector
from testbed.cli import LEAD, Cli, environment, outcomes
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker

GOOD_CHECK = "wget -q -O /dev/null http://127.0.0.1/"
BAD_CHECK = "test -f /no-such-file"
PIPELINE = """\
image: {image}
environments:
  staging:
    mode: service
    auto: true
    healthcheck: {{test: "{check}", interval: 500ms, timeout: 2s, retries: 2}}
  production:
    mode: container
    after: staging
    approval: {{required: 1}}
    healthcheck: {{test: "{good}", interval: 500ms, timeout: 2s, retries: 2}}
"""


def pipeline(image: str, check: str) -> str:
    return PIPELINE.format(image=image, check=check, good=GOOD_CHECK)


def service_image(client: docker.DockerClient, repo: str) -> str:
    spec = client.services.get(resource_name(repo, "staging")).attrs["Spec"]
    return str(spec["TaskTemplate"]["ContainerSpec"]["Image"])


def test_failing_health_check_rolls_back_and_promote_follows_the_policy(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    image = f"{registry.host}/health/web"
    git_repo = make_app_repo(tmp_path / "web", dockyard_yml=pipeline(image, GOOD_CHECK))
    git_repo.tag("v1.0.0")
    repo = normalise_location(str(git_repo.path))
    cli = Cli(dockyard_home, swarm_daemon)
    try:
        first = cli.json("run", repo, "--ref", "v1.0.0")
        assert outcomes(first) == {"staging": "deployed", "production": "awaiting_approval"}
        v1 = first["image"]["digest"]
        assert service_image(docker_client, repo).endswith("@" + v1)

        git_repo.commit("health check that fails", {"dockyard.yml": pipeline(image, BAD_CHECK)})
        git_repo.tag("v1.2.0")
        bad = cli("run", repo, "--ref", "v1.2.0", "--json")
        assert bad.returncode == 1
        assert "did not become healthy" in bad.stderr and "rolled back" in bad.stderr
        # Swarm's verdict, the last probe's when its container is still there, and the output.
        assert "its health check failed" in bad.stderr
        # (143: the app ends at the SIGTERM Swarm stops the unhealthy task with.)
        assert "(Swarm: task: non-zero exit (143): dockerexec: unhealthy container)" in bad.stderr
        assert "its last output: app dev starting;" in bad.stderr
        staging = environment(cli.json("status", repo), "staging")
        assert staging["release"]["digest"] == v1
        assert staging["latest"]["status"] == "failed"
        assert "did not become healthy" in staging["latest"]["error"]
        assert staging["drift"] is None
        assert service_image(docker_client, repo).endswith("@" + v1)
        run = cli.json("runs", repo)[0]
        assert run["status"] == "failed"
        assert {s["name"]: s["status"] for s in run["stages"]}["deploy-staging"] == "failed"
        v2 = run["image"]["digest"]

        # promote: v1.2.0 never ran in staging, so production refuses it.
        refused = cli("promote", repo, "production", "--digest", v2)
        assert refused.returncode == 2 and "deploy it there first" in refused.stderr
        unknown = cli("promote", repo, "production", "--digest", "sha256:" + "0" * 64)
        assert unknown.returncode == 2 and "never built" in unknown.stderr
        # Without --digest: what runs in staging, as a new approval request.
        promoted = cli("promote", repo, "production")
        assert promoted.returncode == 0, promoted.stderr
        assert "waits for approval" in promoted.stdout
        pending = environment(cli.json("status", repo), "production")["pending"]
        assert pending["digest"] == v1
        assert cli("approve", repo, "production", user=LEAD).returncode == 0
        (live,) = docker_client.containers.list(filters=selector(repo, "production"))
        assert live.labels["dockyard.digest"] == v1
    finally:
        deployer_for("service", docker_client).remove(repo, "staging")
        deployer_for("container", docker_client).remove(repo, "production")
        for leftover in docker_client.images.list(name=image):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                docker_client.images.remove(leftover.id, force=True)
