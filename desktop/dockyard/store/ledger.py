"""The release ledger: deployments, approval requests and approvals, pins.

One small interface (``ReleaseLedger``) because a team needs a shared ledger later (signed
git notes, PostgreSQL) so every desktop sees the same pending approvals; SQLite is the
first implementation. The ledger only records: policies (four-eyes, how many approvals,
whether an approval still counts) live in ``dockyard.core``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from dockyard.core.releases import (
    Approval,
    ApprovalRequest,
    ApprovalStatus,
    Deployment,
    DeploymentStatus,
    Pin,
)
from dockyard.store.database import Database
from dockyard.store.ledger_approvals import SqliteApprovals
from dockyard.store.ledger_deployments import OrphanedDeployments, SqliteDeployments
from dockyard.store.ledger_history import DeploymentEntry, SqliteHistory
from dockyard.store.ledger_locks import DeploymentLock, SqliteLocks
from dockyard.store.ledger_pins import SqlitePins
from dockyard.store.owner import ProcessOwner

__all__ = [
    "Approval",
    "ApprovalRequest",
    "ApprovalStatus",
    "Deployment",
    "DeploymentEntry",
    "DeploymentLock",
    "DeploymentStatus",
    "OrphanedDeployments",
    "Pin",
    "ProcessOwner",
    "ReleaseLedger",
    "SqliteReleaseLedger",
]


class ReleaseLedger(Protocol):
    # Deployments
    def start_deployment(
        self,
        *,
        repo: str,
        environment: str,
        digest: str,
        image: str,
        commit: str,
        tag: str | None,
        run_id: str | None,
        config: Mapping[str, object],
        deployed_by: str,
        approved_by: Sequence[str] = (),
        rollback: bool = False,
        rolled_back_from: int | None = None,
        comment: str = "",
        owner: ProcessOwner | None = None,
    ) -> Deployment: ...

    def finish_deployment(self, id: int, status: str, error: str = "") -> Deployment: ...
    def reconcile_deployment(self, id: int, status: str, error: str = "") -> Deployment: ...
    def current_deployment(self, repo: str, environment: str) -> Deployment | None: ...
    def deployments(self, repo: str, environment: str, limit: int = 50) -> list[Deployment]: ...
    def deployment(self, id: int) -> Deployment | None: ...
    def latest_deployment(self, repo: str, environment: str) -> Deployment | None: ...
    def interrupt_orphaned_deployments(self) -> OrphanedDeployments: ...
    def unreconciled_deployments(self) -> list[Deployment]: ...
    def owner_of_deployment(self, id: int) -> ProcessOwner | None: ...

    # One deployment per environment at a time, across processes (PostgreSQL: advisory
    # locks). Never blocks: ``(lock, None)`` when taken, ``(None, holder)`` when busy.
    def try_lock_environment(
        self, repo: str, environment: str, *, what: str, taken_by: str
    ) -> tuple[DeploymentLock | None, DeploymentLock | None]: ...

    def unlock_environment(self, lock: DeploymentLock) -> None: ...
    def holds_environment(self, lock: DeploymentLock) -> bool: ...
    def environment_lock(self, repo: str, environment: str) -> DeploymentLock | None: ...

    # Approvals
    def request_approval(
        self,
        *,
        repo: str,
        environment: str,
        run_id: str,
        digest: str,
        image: str,
        commit: str,
        tag: str | None,
        config_fingerprint: str,
        config: Mapping[str, object],
        requested_by: str,
        expires: datetime | None = None,
    ) -> ApprovalRequest: ...

    def pending_approval(self, repo: str, environment: str) -> ApprovalRequest | None: ...

    def pending_approvals(self) -> list[ApprovalRequest]: ...

    def add_approval(
        self, request_id: int, approver: str, comment: str, digest: str, config_fingerprint: str
    ) -> ApprovalRequest: ...

    def rebind_request(
        self,
        request_id: int,
        *,
        was_fingerprint: str,
        config_fingerprint: str,
        config: Mapping[str, object],
    ) -> ApprovalRequest: ...

    def resolve_approval(
        self, request_id: int, status: str, *, by: str = "", comment: str = ""
    ) -> ApprovalRequest: ...

    def approval_request(self, id: int) -> ApprovalRequest | None: ...
    def latest_request(self, repo: str, environment: str) -> ApprovalRequest | None: ...

    # Pins
    def pin(self, repo: str, environment: str, by: str, reason: str) -> Pin: ...
    def unpin(self, repo: str, environment: str) -> bool: ...
    def pin_of(self, repo: str, environment: str) -> Pin | None: ...

    # History (reads for delivery metrics)
    def deployment_history(self, repo: str) -> list[DeploymentEntry]: ...
    def approval_history(self, repo: str, environment: str) -> list[ApprovalRequest]: ...


class SqliteReleaseLedger(
    SqliteDeployments, SqliteLocks, SqliteApprovals, SqlitePins, SqliteHistory
):
    """The ledger in the local Dockyard database."""

    def __init__(self, db: Database) -> None:
        self._db = db


def _conforms(ledger: SqliteReleaseLedger) -> ReleaseLedger:
    return ledger  # mypy checks that the SQLite ledger implements the whole interface
