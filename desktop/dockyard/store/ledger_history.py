"""Reads of a repository's whole release history, for delivery metrics (``engine.insights``).

Only reads. Deployments come with the ref and commit message of the run they deploy, so
a hotfix can be told from its name without a second query per deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.core.releases import ApprovalRequest, Deployment
from dockyard.store.database import Database
from dockyard.store.ledger_approvals import _get as _request
from dockyard.store.ledger_deployments import _from_row as _deployment


@dataclass(frozen=True)
class DeploymentEntry:
    """One deployment and what its run was started for (empty when the run is unknown)."""

    deployment: Deployment
    run_ref: str
    run_message: str


class SqliteHistory:
    _db: Database

    def deployment_history(self, repo: str) -> list[DeploymentEntry]:
        """Every deployment of ``repo`` in every environment, oldest first."""
        rows = self._db.connect().execute(
            "SELECT deployments.*, runs.ref AS run_ref, runs.message AS run_message"
            " FROM deployments LEFT JOIN runs ON runs.id = deployments.run_id"
            " WHERE deployments.repo = ? ORDER BY deployments.id",
            (repo,),
        )
        return [
            DeploymentEntry(_deployment(row), row["run_ref"] or "", row["run_message"] or "")
            for row in rows
        ]

    def approval_history(self, repo: str) -> list[ApprovalRequest]:
        """Every approval request of ``repo`` in every environment, oldest first."""
        connection = self._db.connect()
        rows = connection.execute(
            "SELECT id FROM approval_requests WHERE repo = ? ORDER BY id", (repo,)
        ).fetchall()
        return [_request(connection, row["id"]) for row in rows]
