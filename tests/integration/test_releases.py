"""Releases end to end through the CLI: staging → approval → production (Swarm), rollback,
pins, audit, and secrets that never leak. Real daemon, registry, keyring and git."""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from pathlib import Path
from typing import Any

import docker
import pytest

from dockyard.core.locations import normalise_location
from dockyard.engine.deploy import ConfigSnapshot, resource_name
from dockyard.engine.deploy.deployers import deployer_for
from dockyard.engine.secrets import SecretStore
from dockyard.store.database import open_database
from dockyard.store.ledger import SqliteReleaseLedger
from testbed.cli import DEV, LEAD, Cli, bytes_under, environment, outcomes
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker

PIPELINE = """\
image: {image}
environments:
  staging:
    mode: container
    auto: true
    environment: {{LOG_LEVEL: info}}
    configs: {{/etc/app/app.cfg: deploy/app.cfg}}
    healthcheck: {{test: "wget -q -O /dev/null http://127.0.0.1/", interval: 1s, retries: 5}}
    grace: 1s
  production:
    mode: service
    after: staging
    approval: {{required: 1}}
    environment: {{LOG_LEVEL: warn}}
    secrets: [db_password]
    configs: {{/etc/app/app.cfg: deploy/app.cfg}}
    healthcheck: {{test: "wget -q -O /dev/null http://127.0.0.1/", interval: 1s, retries: 5}}
    grace: 1s
"""


def service_spec(client: docker.DockerClient, repo: str) -> dict[str, Any]:
    service = client.services.get(resource_name(repo, "production"))
    spec: dict[str, Any] = service.attrs["Spec"]
    return spec


def without_secrets(config: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in config.items() if key != "secrets"}


def test_release_goes_staging_approval_production_then_rolls_back(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    image = f"{registry.host}/rel/web"
    git_repo = make_app_repo(
        tmp_path / "web",
        dockyard_yml=PIPELINE.format(image=image),
    )
    git_repo.commit("config v1", {"deploy/app.cfg": "greeting = hello v1\n"})
    git_repo.tag("v1.0.0")
    repo = normalise_location(str(git_repo.path))
    cli = Cli(dockyard_home, swarm_daemon)
    secret_value = "pw-" + secrets.token_hex(12)
    for env_name in ("staging", "production"):
        stored = cli("secret", "set", repo, env_name, "db_password", stdin=secret_value + "\n")
        assert stored.returncode == 0, stored.stderr
    try:
        # v1.0.0: auto to staging, then waits for production.
        first = cli.json("run", repo, "--ref", "v1.0.0")
        assert first["status"] == "awaiting_approval", first
        assert outcomes(first) == {"staging": "deployed", "production": "awaiting_approval"}
        v1 = first["image"]["digest"]
        status = cli.json("status", repo)
        staging = environment(status, "staging")
        assert staging["release"]["tag"] == "v1.0.0" and staging["release"]["digest"] == v1
        assert staging["drift"] is None and staging["pinned"] is False
        production = environment(status, "production")
        assert production["release"] is None
        assert production["pending"] == {**production["pending"], "run": first["id"],
                                         "digest": v1, "requested_by": DEV}  # fmt: skip

        # Four-eyes: whoever started the release cannot approve it.
        refused = cli("approve", repo, "production", "--comment", "mine")
        assert refused.returncode == 2
        assert "four-eyes" in refused.stderr and DEV in refused.stderr
        assert environment(cli.json("status", repo), "production")["release"] is None

        approved = cli("approve", repo, "production", "--comment", "looks good", user=LEAD)
        assert approved.returncode == 0, approved.stderr
        spec = service_spec(docker_client, repo)
        assert spec["TaskTemplate"]["ContainerSpec"]["Image"].endswith("@" + v1)
        assert spec["Labels"]["dockyard.approved-by"] == LEAD
        production = environment(cli.json("status", repo), "production")
        assert production["release"]["digest"] == v1 and production["pending"] is None
        assert cli.json("runs", repo)[0]["status"] == "succeeded"
        log = cli("logs", first["id"], "--stage", "deploy-production")
        assert log.returncode == 0 and "Deploying v1.0.0" in log.stdout

        # v1.1.0 follows the same road with a changed config file.
        git_repo.commit("config v2", {"deploy/app.cfg": "greeting = hello v2\n"})
        git_repo.tag("v1.1.0")
        second = cli.json("run", repo, "--ref", "v1.1.0")
        assert outcomes(second) == {"staging": "deployed", "production": "awaiting_approval"}
        v2 = second["image"]["digest"]
        assert v2 != v1
        # An approval is bound to the configuration it was shown: a secret changed since.
        new_value = "pw-" + secrets.token_hex(12)
        cli("secret", "set", repo, "production", "db_password", stdin=new_value + "\n")
        stale = cli("approve", repo, "production", user=LEAD)
        assert stale.returncode == 2 and "secret db_password changed" in stale.stderr
        assert environment(cli.json("status", repo), "production")["release"]["digest"] == v1
        assert cli("approve", repo, "production", user=LEAD).returncode == 0
        assert service_spec(docker_client, repo)["TaskTemplate"]["ContainerSpec"]["Image"].endswith(
            "@" + v2
        )

        # Roll production back to v1.0.0: its digest and its configuration come back.
        # ...while git cannot be read at all: the recorded release is enough.
        with git_repo.unreachable():
            rolled = cli("rollback", repo, "production", "--to", "v1.0.0", "--comment", "bad v2")
        assert rolled.returncode == 0, rolled.stderr
        spec = service_spec(docker_client, repo)
        assert spec["TaskTemplate"]["ContainerSpec"]["Image"].endswith("@" + v1)
        ledger = SqliteReleaseLedger(open_database(dockyard_home))
        history = ledger.deployments(repo, "production")
        first_production = next(d for d in reversed(history) if d.digest == v1)
        rollback = history[0]
        assert rollback.rollback and rollback.rolled_back_from == history[1].id
        # Files and values come back exactly; secret values are never kept, so today's
        # value is used (the snapshot says so by its fingerprint, and the log tells).
        assert without_secrets(rollback.config) == without_secrets(first_production.config)
        restored = ConfigSnapshot.from_json(rollback.config)
        assert restored.configs["/etc/app/app.cfg"].content == "greeting = hello v1\n"
        marks = SecretStore(home=dockyard_home).fingerprints()
        assert restored.secrets == {"db_password": marks.mark(new_value)}
        assert spec["Labels"]["dockyard.config"] == restored.fingerprint()
        rollback_log = cli("logs", first["id"], "--stage", "rollback-production").stdout
        assert "Secret db_password changed since that release" in rollback_log
        production = environment(cli.json("status", repo), "production")
        assert production["release"]["rollback"] is True and production["pinned"] is True
        assert production["drift"] is None

        # A change made by hand on the daemon shows as drift.
        docker_client.services.get(resource_name(repo, "production")).update(
            env=["LOG_LEVEL=debug"]
        )
        drift = environment(cli.json("status", repo), "production")["drift"]
        assert drift is not None and "outside Dockyard" in drift

        # A pinned staging is skipped by automatic deployment until unpinned.
        assert cli("rollback", repo, "staging", "--comment", "hold").returncode == 0
        third = cli.json("run", repo, "--ref", "v1.1.0")
        assert outcomes(third)["staging"] == "pinned"
        assert environment(cli.json("status", repo), "staging")["release"]["digest"] == v1
        assert cli("unpin", repo, "staging").returncode == 0
        assert environment(cli.json("status", repo), "staging")["pinned"] is False

        # Every step is audited; editing an entry is detected.
        verified = cli("audit", "verify")
        assert verified.returncode == 0 and "audit chain verified" in verified.stdout
        connection = sqlite3.connect(dockyard_home / "dockyard.db")
        actions = [row[0] for row in connection.execute("SELECT action FROM audit")]
        assert {"deploy", "approve", "rollback", "pin", "unpin"} <= set(actions)
        connection.execute("DROP TRIGGER audit_no_update")
        connection.execute("UPDATE audit SET actor = 'mallory' WHERE action = 'rollback'")
        connection.commit()
        connection.close()
        tampered = cli("audit", "verify")
        assert tampered.returncode == 1
        assert "was modified" in tampered.stderr

        # The secret value is nowhere on disk or in the image.
        on_disk = bytes_under(dockyard_home)
        saved = b"".join(docker_client.images.get(f"{image}@{v1}").save())
        for value in (secret_value, new_value):
            assert value.encode() not in on_disk and value.encode() not in saved
    finally:
        for env_name, mode in (("staging", "container"), ("production", "service")):
            deployer_for(mode, docker_client).remove(repo, env_name)
        for leftover in docker_client.images.list(name=image):
            with contextlib.suppress(docker.errors.NotFound):
                docker_client.images.remove(leftover.id, force=True)
