"""The team server stopped mid-run and mid-deployment, then started again (issue 10, item 6).

A server of these tests' own (the suite's is shared) is stopped for real — a fast shutdown
that cuts every session — while ``dockyard run`` works: the command exits 3 with one
sentence naming the server, and nothing is kept on this machine to replay later. Once the
server is back, the next command settles what was left: the run is interrupted, and a
deployment cut off from its ledger is recorded from what the daemon runs, as after a crash.
Real PostgreSQL, daemon, registry, git and keyring.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from dockyard.engine.deploy.labels import DEPLOYMENT
from integration.killed_runs import HEALTHY, cleanup, wait_for_deploy_container
from testbed.cli import Cli, MemberCli, environment
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import COMPOSE_TEST, make_app_repo
from testbed.postgres import PostgresServer
from testbed.registry import LocalRegistry
from testbed.teamdb import TeamDatabase, team_database

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.keyring]

PIPELINE = """\
image: {image}
environments:
  staging:
    mode: container
    auto: true
    healthcheck: {{test: "{check}", interval: 3s, retries: 30}}
"""
# The test stage runs long enough to stop the server in the middle of it.
SLOW_TEST = COMPOSE_TEST.replace("test -f /app.sh", "sleep 8 && test -f /app.sh")


@pytest.fixture
def team(stoppable_postgres_server: PostgresServer) -> Iterator[TeamDatabase]:
    with team_database(stoppable_postgres_server) as made:
        yield made


def _developer(tmp_path: Path, team: TeamDatabase, daemon: PrivateDaemon, image: str,
               compose_test: str = COMPOSE_TEST) -> tuple[MemberCli, str, str]:  # fmt: skip
    """The developer's home connected to the team, and a clone of an origin whose pipeline
    delivers ``image`` to staging: (cli, clone, the repository as the ledger knows it)."""
    yml = PIPELINE.format(image=image, check=HEALTHY)
    source = make_app_repo(tmp_path / "source", dockyard_yml=yml, compose_test=compose_test)
    source.tag("v1.0.0")
    origin, clone = tmp_path / "origin.git", tmp_path / "clone"
    for args in (("--bare", str(source.path), str(origin)), (str(origin), str(clone))):
        subprocess.run(["git", "clone", "--quiet", *args], check=True, capture_output=True)
    home = tmp_path / "home"
    team.connect_home(home, team.developer)
    return MemberCli(home, daemon, team.developer), str(clone), str(origin)


@contextlib.contextmanager
def _running(
    cli: MemberCli, clone: str, client: docker.DockerClient, repo: str, image: str
) -> Iterator[subprocess.Popen[str]]:
    """``dockyard run`` of v1.0.0 as a process of its own; its leftovers removed after."""
    run = cli.start("run", clone, "--ref", "v1.0.0", "--json")
    try:
        yield run
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
        cleanup(client, repo, image)


def _wait_for(what: str, found: Any, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.1)


def _stage_running(team: TeamDatabase, stage: str) -> bool:
    with team.admin() as admin:
        row = admin.execute(
            "SELECT count(*) FROM dockyard.stages WHERE name = %s AND status = 'running'",
            (stage,),
        ).fetchone()
    return bool(row and row[0])


def _ends_unreachable(run: subprocess.Popen[str], team: TeamDatabase) -> None:
    """The command exits 3 with one sentence that names the server (after the stages'
    progress lines)."""
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 3, stderr
    said = [line for line in stderr.splitlines() if line.startswith("dockyard:")]
    assert len(said) == 1 and stderr.strip().endswith(said[0]), stderr
    where = f"{team.developer}@{team.server.host}:{team.server.port}/{team.name}"
    assert where in said[0] and "Traceback" not in stderr, stderr


def _nothing_kept_locally(cli: Cli) -> None:
    """No local ledger picked the work up to replay later."""
    local = cli.home / "dockyard.db"
    if local.exists():
        import sqlite3

        with contextlib.closing(sqlite3.connect(local)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            if "runs" in tables:
                assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 0


def test_the_server_stopped_mid_run_leaves_an_interrupted_run_and_nothing_to_replay(
    tmp_path: Path,
    team: TeamDatabase,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    image = f"{registry.host}/outage/run"
    cli, clone, repo = _developer(tmp_path, team, docker_daemon, image, SLOW_TEST)
    with _running(cli, clone, docker_client, repo, image) as run:
        _wait_for("the test stage running", lambda: _stage_running(team, "test"))
        team.server.go_away()
        _ends_unreachable(run, team)
        # Away: every command says so, the same way.
        away = cli("runs", clone)
        assert away.returncode == 3 and "is unreachable" in away.stderr

        team.server.come_back()
        (listed,) = cli.json("runs", clone)
        assert listed["status"] == "interrupted"  # settled: its process is gone
        stages = {s["name"]: s["status"] for s in listed["stages"]}
        assert stages["checkout"] == "succeeded" and stages["build"] == "succeeded"
        assert stages["test"] == "cancelled"
        assert "running" not in stages.values() and stages["deliver"] != "succeeded"
        assert listed["image"]["digest"] is None  # nothing delivered, nothing deployed
        status = cli.json("status", clone)
        assert environment(status, "staging")["latest"] is None
        _nothing_kept_locally(cli)


def test_the_server_stopped_mid_deployment_is_reconciled_from_the_daemon_when_back(
    tmp_path: Path,
    team: TeamDatabase,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    image = f"{registry.host}/outage/deploy"
    cli, clone, repo = _developer(tmp_path, team, docker_daemon, image)
    with _running(cli, clone, docker_client, repo, image) as run:
        container = wait_for_deploy_container(docker_client, repo, run)
        deployment_id = int(container.labels[DEPLOYMENT])
        team.server.go_away()  # before its first health probe (3 s): still deploying
        _ends_unreachable(run, team)
        # The daemon finished what it was given; the ledger never heard of it.
        container.reload()
        assert container.status == "running"

        team.server.come_back()
        staging = _recorded_from_the_daemon(cli, clone, deployment_id)
        assert staging["release"]["id"] == deployment_id and staging["drift"] is None
        (listed,) = cli.json("runs", clone)
        assert listed["status"] == "interrupted"
        assert cli.json("status", clone)["recovery"] == []  # settled once
        _nothing_kept_locally(cli)


def test_a_deployment_whose_lock_the_server_ended_is_settled_from_the_daemon_not_its_own_word(
    tmp_path: Path,
    team: TeamDatabase,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    image = f"{registry.host}/outage/lock"
    cli, clone, repo = _developer(tmp_path, team, docker_daemon, image)
    with _running(cli, clone, docker_client, repo, image) as run:
        container = wait_for_deploy_container(docker_client, repo, run)
        deployment_id = int(container.labels[DEPLOYMENT])
        # The server ends the session holding staging's lock (an admin, a restart, a
        # pooler): from then on another desktop may deploy there at the same time.
        assert team.end_lock_session(repo, "staging") == [(True,)]
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 3, stderr
        assert "another deployment may have run" in stderr and "Traceback" not in stderr, stderr

        # Not its own success: the next command records what the daemon runs.
        _recorded_from_the_daemon(cli, clone, deployment_id)


def _recorded_from_the_daemon(cli: MemberCli, clone: str, deployment_id: int) -> dict[str, Any]:
    """Staging in the next ``status``: the interrupted deployment recorded as deployed
    because the daemon runs it healthy, and recovery saying so."""
    status = cli.json("status", clone)
    staging = environment(status, "staging")
    assert staging["latest"]["id"] == deployment_id
    assert staging["latest"]["status"] == "deployed"  # the daemon runs it, healthy
    assert any(f"Deployment {deployment_id}" in line for line in status["recovery"])
    return staging
