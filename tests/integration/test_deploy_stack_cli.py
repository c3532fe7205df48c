"""Stack mode through the CLI, as a user releases, approves and rolls back: the stack's
services on the real Swarm, what the ledger records, drift in ``dockyard status``."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import docker
import pytest

from dockyard.engine.release.service import ReleaseService
from dockyard.store.database import open_database
from dockyard.store.ledger import SqliteReleaseLedger
from integration.deploy_images import (
    APP_V2,
    CACHE,
    DEPLOY_FILE,
    WORKER,
    PushedImage,
    deployable_app,
    push_image,
    release_then_break,
    task_file,
)
from integration.stack_reads import (
    QUICK_UPDATES,
    docker_cli,
    eventually,
    restarted,
    running_services,
    settled_services,
    task_env,
)
from testbed.cli import LEAD, Cli, environment, outcomes
from testbed.dockerd import PrivateDaemon
from testbed.registry import LocalRegistry

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("swarm_gateway_bridge")]


PIPELINE = """\
image: {image}
environments:
  production:
    mode: stack
    compose: compose.deploy.yml
    auto: true
    environment: {{GREETING: hello}}
    healthcheck: {{test: "wget -q -O /dev/null http://127.0.0.1/", interval: 1s, retries: 5}}
    grace: 1s
"""


def test_stack_release_is_recorded_shown_and_rolled_back_through_the_cli(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    cache: PushedImage,
) -> None:
    image = f"{registry.host}/stack/web"
    cli = Cli(dockyard_home, swarm_daemon)
    with deployable_app(
        tmp_path / "web", docker_client, image, PIPELINE, "stack", "production"
    ) as made:
        git_repo, repo, stack = made.git_repo, made.repo, made.resource
        # The cache as an operator edits it by hand below (docker service update).
        deploy_file = DEPLOY_FILE.format(cache=cache.reference) + QUICK_UPDATES
        git_repo.commit("deploy file", {"compose.deploy.yml": deploy_file})
        git_repo.tag("v1.0.0")
        first = cli.json("run", repo, "--ref", "v1.0.0")
        assert outcomes(first) == {"production": "deployed"}, first
        v1 = first["image"]["digest"]
        services = running_services(docker_client, stack)
        assert services["web"].endswith("@" + v1) and services["cache"] == cache.reference
        production = environment(cli.json("status", repo), "production")
        assert production["release"]["digest"] == v1 and production["drift"] is None

        # v1.1.0 adds a worker to the stack.
        worker = WORKER.format(cache=cache.reference)
        git_repo.commit("worker", {"compose.deploy.yml": deploy_file + worker, "app.sh": APP_V2})
        git_repo.tag("v1.1.0")
        second = cli.json("run", repo, "--ref", "v1.1.0")
        assert outcomes(second) == {"production": "deployed"}, second
        v2 = second["image"]["digest"]
        assert v2 != v1
        assert set(running_services(docker_client, stack)) == {"web", "cache", "worker"}

        # The rollback puts v1.0.0 back as a whole: its digest, and its file (no worker),
        # while git cannot be read at all: the recorded release is enough.
        with git_repo.unreachable():
            rolled = cli("rollback", repo, "production", "--to", "v1.0.0", "--comment", "bad")
        assert rolled.returncode == 0, rolled.stderr
        services = running_services(docker_client, stack)
        assert set(services) == {"web", "cache"} and services["web"].endswith("@" + v1)
        history = SqliteReleaseLedger(open_database(dockyard_home)).deployments(repo, "production")
        assert history[0].rollback and history[0].digest == v1
        assert history[0].config["stack"] == history[2].config["stack"]
        production = environment(cli.json("status", repo), "production")
        assert production["release"]["rollback"] is True and production["drift"] is None

        # A dependent edited by hand is drift, named, with how to put the release back.
        docker_cli(swarm_daemon, "service", "update", "--env-add", "X=1", f"{stack}_cache")
        shown = cli("status", repo)
        assert shown.returncode == 0, shown.stderr
        drift = (
            "its service cache was changed or removed since Dockyard deployed v1.0.0; put it back "
            f"with: dockyard rollback {repo} production --to {history[0].id} --comment REASON"
        )
        assert f"DRIFT: {drift}" in shown.stdout
        assert environment(cli.json("status", repo), "production")["drift"] == drift
        docker_cli(swarm_daemon, "service", "update", "--env-rm", "X", f"{stack}_cache")
        assert environment(cli.json("status", repo), "production")["drift"] is None

        # The daemon is the truth: an app moved to another image by hand shows as drift.
        docker_client.services.get(f"{stack}_web").update(image=f"{image}@{v2}")
        drift = environment(cli.json("status", repo), "production")["drift"]
        assert drift is not None and "Dockyard deployed sha256:" in drift


def test_a_failed_stack_release_puts_the_earlier_one_back_as_a_whole(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    cache: PushedImage,
) -> None:
    image = f"{registry.host}/whole/web"
    cli = Cli(dockyard_home, swarm_daemon)
    with deployable_app(
        tmp_path / "web", docker_client, image, PIPELINE, "stack", "production"
    ) as made:
        git_repo, repo, stack = made.git_repo, made.repo, made.resource
        # v1.1.0 changes the cache's definition and adds a worker; its app dies at start.
        broken = release_then_break(cli, git_repo, repo, "production", cache)
        v1, failed = broken.v1, broken.failed

        # Every service runs as v1.0.0's file had it: the cache its definition, no worker,
        # the app v1.0.0's digest; the ledger says v1.0.0 runs, and the daemon agrees.
        services = eventually(lambda: settled_services(docker_client, stack))
        assert set(services) == {"web", "cache"} and services["web"].endswith("@" + v1)
        assert eventually(lambda: task_env(docker_client, f"{stack}_cache") == ["MARKER=one"])
        production = environment(cli.json("status", repo), "production")
        assert production["release"] == broken.released and production["drift"] is None
        assert "v1.0.0 was put back as a whole" in failed.stderr
        latest = production["latest"]
        assert latest["status"] == "failed" and latest["tag"] == "v1.1.0"
        assert "exited with code 3" in latest["error"]
        assert "v1.0.0 was put back as a whole" in latest["error"]
        log = cli("logs", json.loads(failed.stdout)["id"], "--stage", "deploy-production")
        assert "The release failed; putting back v1.0.0 as a whole" in log.stdout


PINNED_PIPELINE = """\
image: {image}
environments:
  production:
    mode: stack
    compose: compose.deploy.yml
    healthcheck: {{test: "wget -q -O /dev/null http://127.0.0.1/", interval: 1s, retries: 5}}
    grace: 1s
"""


def test_a_dependent_runs_the_digest_its_tag_had_when_the_release_was_approved(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    image = f"{registry.host}/pinned/web"
    cache_name = f"{registry.host}/pinned/cache"
    first = push_image(docker_client, registry.host, "1", CACHE, "pinned/cache")
    cli = Cli(dockyard_home, swarm_daemon)
    with (
        contextlib.closing(open_database(dockyard_home)) as db,
        deployable_app(tmp_path / "web", docker_client, image, PINNED_PIPELINE, "stack",
                       "production", more_images=(cache_name,)) as made,
    ):  # fmt: skip
        git_repo, repo, stack = made.git_repo, made.repo, made.resource
        git_repo.commit(
            "deploy file", {"compose.deploy.yml": DEPLOY_FILE.format(cache=f"{cache_name}:1")}
        )
        git_repo.tag("v1.0.0")
        service = ReleaseService(home=dockyard_home, db=db, identity="dev")
        cli.json("run", repo, "--ref", "v1.0.0")
        approved = cli("approve", repo, "production", user=LEAD)
        assert approved.returncode == 0, approved.stderr
        assert running_services(docker_client, stack)["cache"] == f"{cache_name}@{first.digest}"
        deployed = service.ledger.current_deployment(repo, "production")
        assert deployed is not None

        # The tag moves; a task restart still runs what the approver saw.
        moved = push_image(docker_client, registry.host, "1", CACHE + "# moved\n"
                           'RUN echo MOVED > /data/index.html\n', "pinned/cache")  # fmt: skip
        assert moved.digest != first.digest
        cache_service = docker_client.services.get(f"{stack}_cache")
        before = {t["ID"] for t in cache_service.tasks()}
        cache_service.force_update()
        assert eventually(lambda: restarted(docker_client, f"{stack}_cache", before))
        assert task_file(docker_client, f"{stack}_cache", "/data/index.html") == "PONG\n"

        # The same release requested again: the approver is shown the digest change.
        cli.json("run", repo, "--ref", "v1.0.0")
        pending = service.ledger.pending_approval(repo, "production")
        assert pending is not None
        assert (
            f"~ stack service cache: image {cache_name}@{first.digest} -> "
            f"{cache_name}@{moved.digest}"
        ) in service.changes_between(repo, "production", pending).config_diff
        # The tag moves again while the release waits: the approval does not count.
        third = push_image(docker_client, registry.host, "1", CACHE + "# third\n"
                           'RUN echo THIRD > /data/index.html\n', "pinned/cache")  # fmt: skip
        stale = cli("approve", repo, "production", user=LEAD)
        assert stale.returncode == 2, stale.stderr
        assert f"image {cache_name}@{moved.digest} -> {cache_name}@{third.digest}" in stale.stderr
        assert cli("approve", repo, "production", user=LEAD).returncode == 0
        assert task_file(docker_client, f"{stack}_cache", "/data/index.html") == "THIRD\n"

        # A rollback runs the digests recorded with that release, not the tag's.
        rolled = cli("rollback", repo, "production", "--to", str(deployed.id), "--comment", "x")
        assert rolled.returncode == 0, rolled.stderr
        assert running_services(docker_client, stack)["cache"] == f"{cache_name}@{first.digest}"
        assert environment(cli.json("status", repo), "production")["drift"] is None

        # A dependent whose image no registry has is refused when the release is requested.
        git_repo.commit("missing", {"compose.deploy.yml": DEPLOY_FILE.format(
            cache=f"{registry.host}/pinned/missing:1")})  # fmt: skip
        git_repo.tag("v1.1.0")
        refused = cli("run", repo, "--ref", "v1.1.0")
        assert refused.returncode == 2, refused.stderr
        assert f"The image {registry.host}/pinned/missing:1 of service cache" in refused.stderr
        assert "Traceback" not in refused.stderr
