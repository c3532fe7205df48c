"""A failed approved deployment does not use the approval up: `approve --retry` deploys
the same digest and configuration again without a new approver, audited; it is refused
when the configuration changed or nothing failed. Real daemon, a registry that goes
down and comes back, keyring and git, through the CLI."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from dockyard.store.audit import AuditLog
from dockyard.store.database import open_database
from integration.failed_approval import TOKEN, failed_approval
from testbed.cli import DEV, LEAD, environment
from testbed.dockerd import PrivateDaemon

pytestmark = pytest.mark.docker


def test_a_failed_approved_deployment_is_retried_without_a_new_approval(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:
    with failed_approval(tmp_path, dockyard_home, swarm_daemon, docker_client) as failed:
        cli, repo = failed.cli, failed.repo
        production = environment(cli.json("status", repo), "production")
        assert production["latest"]["status"] == "failed" and production["release"] is None
        assert production["retry_possible"] is True

        # A changed secret is a configuration nobody approved: refused, nothing deployed.
        cli("secret", "set", repo, "production", "api_token", stdin="token-two")
        changed = cli("approve", repo, "production", "--retry")
        assert changed.returncode == 2
        assert "configuration of production changed" in changed.stderr
        assert len(changed.stderr.strip().splitlines()) == 1
        cli("secret", "set", repo, "production", "api_token", stdin=TOKEN)

        failed.registry_up()
        # The requester may retry: the approval was given; no second person again.
        retried = cli("approve", repo, "production", "--retry", user=DEV)
        assert retried.returncode == 0, retried.stderr
        production = environment(cli.json("status", repo), "production")
        assert production["release"]["digest"] == failed.digest
        assert production["release"]["approved_by"] == [LEAD]
        assert production["drift"] is None and production["retry_possible"] is False
        (run,) = cli.json("runs", repo)
        assert run["status"] == "succeeded"
        entries = AuditLog(open_database(dockyard_home)).entries()
        retry = [e for e in entries if e.action == "retry-deployment"]
        assert len(retry) == 1 and retry[0].actor == DEV
        assert cli("audit", "verify").returncode == 0

        nothing = cli("approve", repo, "production", "--retry")
        assert nothing.returncode == 2 and "Nothing to retry in production" in nothing.stderr
