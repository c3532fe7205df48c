"""Secrets through the CLI: a value an app prints is masked in everything Dockyard records
or prints; a run does not need production's secret before its approval; approving binds
the secret set since. Real daemon, Swarm, registry, keyring and git."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import subprocess
from dataclasses import replace
from pathlib import Path

import docker
import pytest

from dockyard.core.locations import normalise_location
from dockyard.core.model import RunStatus
from dockyard.engine.deploy import ConfigSnapshot, resource_name
from dockyard.engine.deploy.deployers import deployer_for
from dockyard.engine.events import CancelToken, Event
from dockyard.engine.pipeline.runprocess import run_in_child
from dockyard.engine.secrets import SecretStore, legacy_fingerprint
from dockyard.store.database import open_database
from integration.deploy_images import task_file
from testbed.cli import DEV, LEAD, Cli, bytes_under, environment, outcomes
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
from testbed.registry import LocalRegistry

pytestmark = [pytest.mark.docker, pytest.mark.keyring]

# A keyring backend that refuses everything: a headless machine without Secret Service.
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


class EnvCli(Cli):
    def run(
        self, *args: str, user: str = DEV, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        saved = {key: os.environ.get(key) for key in env or {}}
        os.environ.update(env or {})
        try:
            return self(*args, user=user)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def leaky_app(path: Path, cli: Cli, token: str) -> str:
    """A repository whose staging app prints ``token`` (baked in, the same value as
    production's secret in the keyring) and exits: its last output goes into the deploy
    error. Returns the repository's location."""
    pipeline = (
        "environments:\n"
        "  staging:\n    auto: true\n    grace: 1s\n"
        "  production:\n    mode: service\n    approval: {required: 1}\n"
        "    secrets: [api_token]\n"
    )
    git_repo = make_app_repo(path, dockyard_yml=pipeline)
    git_repo.commit("print the token", {"app.sh": f"echo token={token}\nexit 3\n"})
    repo = normalise_location(str(git_repo.path))
    stored = cli("secret", "set", repo, "production", "api_token", stdin=token + "\n")
    assert stored.returncode == 0, stored.stderr
    return repo


def forget_leaky_app(repo: str, docker_client: docker.DockerClient) -> None:
    deployer_for("container", docker_client).remove(repo, "staging")
    SecretStore().delete(repo, "production", "api_token")
    for image in docker_client.images.list(filters={"label": f"dockyard.repo={repo}"}):
        with contextlib.suppress(docker.errors.APIError):
            docker_client.images.remove(image.id, force=True)


def test_a_secret_printed_by_a_failing_app_is_masked_everywhere_dockyard_writes(
    tmp_path: Path, dockyard_home: Path, docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:  # fmt: skip
    token = "tok-" + secrets.token_hex(10)
    cli = Cli(dockyard_home, docker_daemon)
    repo = leaky_app(tmp_path / "leaky", cli, token)
    try:
        run = cli("run", repo)
        assert run.returncode == 1, run.stderr
        assert "exited with code 3" in run.stderr and "token=•••" in run.stderr
        printed = [run.stdout, run.stderr]
        for command in (("status", repo, "--json"), ("status", repo), ("runs", repo, "--json")):
            shown = cli(*command)
            assert shown.returncode == 0, shown.stderr
            printed += [shown.stdout, shown.stderr]
        for text in printed:
            assert token not in text
        # The database (with its write-ahead log) and every log file.
        assert token.encode() not in bytes_under(dockyard_home)
        connection = sqlite3.connect(dockyard_home / "dockyard.db")
        recorded = [
            *connection.execute("SELECT error FROM runs"),
            *connection.execute("SELECT summary FROM stages"),
            *connection.execute("SELECT error FROM deployments"),
            *connection.execute("SELECT details FROM audit"),
        ]
        connection.close()
        assert any("token=•••" in str(row[0]) for row in recorded)
        assert not any(token in str(row[0]) for row in recorded)
        verified = cli("audit", "verify")
        assert verified.returncode == 0, verified.stderr
    finally:
        forget_leaky_app(repo, docker_client)


def test_the_window_gets_what_the_pipeline_child_says_only_masked(
    tmp_path: Path, dockyard_home: Path, docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:  # fmt: skip
    """The window runs pipelines in a child process; this process never reads the token,
    so whatever it is told must have been masked by the child."""
    token = "tok-" + secrets.token_hex(10)
    repo = leaky_app(tmp_path / "leaky", Cli(dockyard_home, docker_daemon), token)
    events: list[Event] = []
    db = open_database(dockyard_home)
    try:
        outcome = run_in_child(
            home=dockyard_home, db=db, location=repo, ref=None, started_by=DEV,
            sink=events.append, cancel=CancelToken(),
        )  # fmt: skip
        assert outcome.run.status == RunStatus.FAILED
        assert outcome.error is not None and "token=•••" in outcome.error.message
        assert "token=•••" in outcome.run.error
        assert token not in repr(events) and token not in repr(outcome)
    finally:
        db.close()
        forget_leaky_app(repo, docker_client)


def test_a_run_waits_for_an_unset_secret_and_approving_binds_it_once_set(
    tmp_path: Path, dockyard_home: Path, swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient, registry: LocalRegistry,
) -> None:  # fmt: skip
    image = f"{registry.host}/unset/web"
    pipeline = (
        f"image: {image}\n"
        "environments:\n"
        "  staging:\n    auto: true\n    grace: 1s\n"
        "  production:\n    mode: service\n    approval: {required: 1}\n"
        "    secrets: [api_token]\n    grace: 1s\n"
    )
    git_repo = make_app_repo(tmp_path / "web", dockyard_yml=pipeline)
    git_repo.tag("v1.0.0")
    repo = normalise_location(str(git_repo.path))
    cli = EnvCli(dockyard_home, swarm_daemon)
    token = "tok-" + secrets.token_hex(10)
    try:
        # Without any keyring (a headless build machine) the run gets to the gate.
        run = cli.run("run", repo, "--ref", "v1.0.0", "--json", env=NO_KEYRING)
        assert run.returncode == 0, run.stderr
        first = json.loads(run.stdout)
        assert first["status"] == "awaiting_approval"
        assert outcomes(first) == {"staging": "deployed", "production": "awaiting_approval"}
        pending = environment(cli.json("status", repo), "production")["pending"]
        assert pending["secrets_not_set"] == ["api_token"]
        assert pending["notes"][0].startswith("secret api_token: not set")
        assert "secret api_token: not set" in cli("status", repo).stdout

        # Approving is refused until the approver's keyring has it: one sentence, exit 2.
        refused = cli("approve", repo, "production", user=LEAD)
        assert refused.returncode == 2
        assert refused.stderr.count("\n") == 1
        assert f"dockyard secret set {repo} production api_token" in refused.stderr
        assert environment(cli.json("status", repo), "production")["release"] is None

        set_ = cli("secret", "set", repo, "production", "api_token", stdin=token + "\n")
        assert set_.returncode == 0, set_.stderr
        notes = environment(cli.json("status", repo), "production")["pending"]["notes"]
        assert notes == ["secret api_token: set since the request; approving binds its value"]
        approved = cli("approve", repo, "production", "--comment", "ok", user=LEAD)
        assert approved.returncode == 0, approved.stderr
        production = environment(cli.json("status", repo), "production")
        assert production["release"]["digest"] == first["image"]["digest"]
        name = resource_name(repo, "production")
        assert task_file(docker_client, name, "/run/secrets/api_token") == token
        # The deployment records the keyed fingerprint bound at approval time, and the
        # Swarm secret's name reveals nothing guessable about the value.
        from dockyard.store.ledger import SqliteReleaseLedger

        ledger = SqliteReleaseLedger(open_database(dockyard_home))
        deployed = ConfigSnapshot.from_json(ledger.current_deployment(repo, "production").config)
        mark = SecretStore(home=dockyard_home).fingerprints().mark(token)
        assert deployed.secrets == {"api_token": mark}
        request = ledger.latest_request(repo, "production")
        assert request is not None and request.config_fingerprint == deployed.fingerprint()
        (swarm_secret,) = docker_client.secrets.list(filters={"label": "dockyard.secret"})
        assert legacy_fingerprint(token)[:10] not in swarm_secret.name
        assert mark[3:13] not in swarm_secret.name
        connection = sqlite3.connect(dockyard_home / "dockyard.db")
        actions = [row[0] for row in connection.execute("SELECT action FROM audit")]
        connection.close()
        assert "approval-rebound" in actions
        assert cli("audit", "verify").returncode == 0
        assert token.encode() not in bytes_under(dockyard_home)
    finally:
        for env_name, mode in (("staging", "container"), ("production", "service")):
            deployer_for(mode, docker_client).remove(repo, env_name)
        SecretStore().delete(repo, "production", "api_token")
        for leftover in docker_client.images.list(name=image):
            with contextlib.suppress(docker.errors.NotFound):
                docker_client.images.remove(leftover.id, force=True)


def test_secrets_in_container_mode_are_refused_before_anything_is_built(
    tmp_path: Path, dockyard_home: Path, docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:  # fmt: skip
    """Docker cannot put a file into a tmpfs mount of a container, so a container-mode
    secret could only be a file on the Docker host's disk: refused, pointing to Swarm."""
    pipeline = "environments:\n  staging:\n    auto: true\n    secrets: [api_token]\n"
    git_repo = make_app_repo(tmp_path / "plain", dockyard_yml=pipeline)
    repo = normalise_location(str(git_repo.path))
    run = Cli(dockyard_home, docker_daemon)("run", repo)
    assert run.returncode == 2
    assert "environments.staging.secrets: secrets need mode: service" in run.stderr
    assert "Traceback" not in run.stderr
    assert not docker_client.images.list(filters={"label": f"dockyard.repo={repo}"})


def test_a_request_with_an_old_fingerprint_is_approved_and_bound_to_the_keyed_one(
    tmp_path: Path, dockyard_home: Path, swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient, registry: LocalRegistry,
) -> None:  # fmt: skip
    """A request recorded by an older Dockyard carries the unkeyed fingerprint: it still
    compares (recomputed the old way), so approving it needs no new request."""
    image = f"{registry.host}/oldmark/web"
    pipeline = (
        f"image: {image}\n"
        "environments:\n"
        "  production:\n    mode: service\n    approval: {required: 1}\n"
        "    secrets: [api_token]\n    grace: 1s\n"
    )
    git_repo = make_app_repo(tmp_path / "web", dockyard_yml=pipeline)
    repo = normalise_location(str(git_repo.path))
    cli = Cli(dockyard_home, swarm_daemon)
    token = "tok-" + secrets.token_hex(10)
    assert cli("secret", "set", repo, "production", "api_token", stdin=token).returncode == 0
    try:
        assert cli.json("run", repo)["status"] == "awaiting_approval"
        connection = sqlite3.connect(dockyard_home / "dockyard.db")
        (raw,) = connection.execute("SELECT config FROM approval_requests").fetchone()
        recorded = ConfigSnapshot.from_json(json.loads(raw))
        old = replace(recorded, secrets={"api_token": legacy_fingerprint(token)})
        connection.execute(
            "UPDATE approval_requests SET config = ?, config_fingerprint = ?",
            (json.dumps(old.to_json()), old.fingerprint()),
        )
        connection.commit()
        connection.close()

        approved = cli("approve", repo, "production", user=LEAD)
        assert approved.returncode == 0, approved.stderr
        production = environment(cli.json("status", repo), "production")
        assert production["release"] is not None and production["pending"] is None
        assert (
            task_file(docker_client, resource_name(repo, "production"), "/run/secrets/api_token")
            == token
        )
        connection = sqlite3.connect(dockyard_home / "dockyard.db")
        (config,) = connection.execute("SELECT config FROM deployments").fetchone()
        actions = [row[0] for row in connection.execute("SELECT action FROM audit")]
        connection.close()
        assert json.loads(config)["secrets"]["api_token"].startswith("v2:")
        assert "approval-rebound" in actions and cli("audit", "verify").returncode == 0
    finally:
        deployer_for("service", docker_client).remove(repo, "production")
        SecretStore().delete(repo, "production", "api_token")
        for leftover in docker_client.images.list(name=image):
            with contextlib.suppress(docker.errors.NotFound):
                docker_client.images.remove(leftover.id, force=True)
