"""Release records: deployments, approval requests, approvals and pins.

Plain frozen dataclasses shared by the store (which records them), the core policies
(which judge them: four-eyes, required approvals, whether an approval still counts) and
the window (which shows them).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class DeploymentStatus(enum.StrEnum):
    """Life of a deployment.

    ``deploying`` while it runs; then ``deployed`` (healthy, what runs now), ``failed``, or
    ``interrupted`` (Dockyard stopped mid-deploy; the reconciler settles it against the
    daemon). When a newer deployment of the same environment becomes ``deployed``, the
    previous one becomes ``superseded``: it was released and can be rolled back to.
    """

    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    SUPERSEDED = "superseded"

    @property
    def was_released(self) -> bool:
        return self in (DeploymentStatus.DEPLOYED, DeploymentStatus.SUPERSEDED)


class ApprovalStatus(enum.StrEnum):
    """``pending`` until approved or rejected; ``expired`` past its deadline;
    ``superseded`` when a newer request for the same environment replaced it."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Deployment:
    id: int
    repo: str
    environment: str
    digest: str
    image: str  # name@digest, what the deployer pulled
    commit: str
    tag: str | None
    run_id: str | None
    config: dict[str, object]  # the configuration snapshot that was applied
    status: DeploymentStatus
    started: datetime
    finished: datetime | None
    deployed_by: str
    approved_by: tuple[str, ...]
    rollback: bool
    rolled_back_from: int | None  # the deployment that was running when rolled back
    comment: str
    error: str


@dataclass(frozen=True)
class Approval:
    approver: str
    comment: str
    at: datetime
    digest: str  # what the approver was shown; policy compares it with the request's
    config_fingerprint: str


@dataclass(frozen=True)
class ApprovalRequest:
    id: int
    repo: str
    environment: str
    run_id: str
    digest: str
    image: str
    commit: str
    tag: str | None
    config_fingerprint: str
    config: dict[str, object]
    requested_by: str
    created: datetime
    expires: datetime | None
    status: ApprovalStatus
    approvals: tuple[Approval, ...] = ()
    resolved: datetime | None = None
    resolved_by: str = ""
    resolution_comment: str = ""  # e.g. why it was rejected


@dataclass(frozen=True)
class Pin:
    """Automatic deployment to (repo, environment) is paused, typically after a rollback."""

    repo: str
    environment: str
    pinned_by: str
    reason: str
    since: datetime
