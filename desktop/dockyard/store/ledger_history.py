"""Reads of a repository's whole release history, for delivery metrics (``engine.insights``).

Only reads. Deployments come with the ref and commit message of the run they deploy, so
a hotfix can be told from its name without a second query per deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.core.releases import Approval, ApprovalRequest, Deployment
from dockyard.store.database import Database
from dockyard.store.ledger_approvals import approval_from_row, request_from_row
from dockyard.store.ledger_deployments import deployment_from_row


@dataclass(frozen=True)
class DeploymentEntry:
    """One deployment and what its run was started for (empty when the run is unknown)."""

    deployment: Deployment
    run_ref: str
    run_message: str


class SqliteHistory:
    _db: Database

    def deployment_history(self, repo: str) -> list[DeploymentEntry]:
        """Every deployment of ``repo`` in every environment, oldest first.

        Without the configuration snapshots (``config`` is empty): metrics do not need
        them, and parsing thousands of them is most of the cost of this read.
        """
        rows = self._db.connect().execute(
            f"SELECT {_DEPLOYMENT_COLUMNS}, runs.ref AS run_ref,"
            " runs.message AS run_message"
            " FROM deployments LEFT JOIN runs ON runs.id = deployments.run_id"
            " WHERE deployments.repo = ? ORDER BY deployments.id",
            (repo,),
        )
        return [
            DeploymentEntry(
                deployment_from_row(row, {}), row["run_ref"] or "", row["run_message"] or ""
            )
            for row in rows
        ]

    def approval_history(self, repo: str, environment: str) -> list[ApprovalRequest]:
        """The approval requests of one environment, oldest first, with their approvals."""
        connection = self._db.connect()
        approvals: dict[int, list[Approval]] = {}
        for row in connection.execute(
            "SELECT approvals.* FROM approvals JOIN approval_requests"
            " ON approval_requests.id = approvals.request_id"
            " WHERE repo = ? AND environment = ? ORDER BY at, approver",
            (repo, environment),
        ):
            approvals.setdefault(row["request_id"], []).append(approval_from_row(row))
        rows = connection.execute(
            "SELECT * FROM approval_requests WHERE repo = ? AND environment = ? ORDER BY id",
            (repo, environment),
        )
        return [request_from_row(row, approvals.get(row["id"], [])) for row in rows]


_DEPLOYMENT_COLUMNS = ", ".join(
    f"deployments.{column}"
    for column in (
        "id", "repo", "environment", "digest", "image", "commit_sha", "tag", "run_id",
        "status", "started", "finished", "deployed_by", "approved_by", "rollback",
        "rolled_back_from", "comment", "error",
    )
)  # fmt: skip
