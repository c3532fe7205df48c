"""Release records: a release, deployments, approval requests, approvals, pins, outcomes.

Plain frozen dataclasses shared by the store (which records them), the core policies
(which judge them: four-eyes, required approvals, whether an approval still counts) and
the window (which shows them).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


def release_label(tag: str | None, commit: str) -> str:
    """How every view and the CLI name a release: its tag, else its commit's first 12."""
    return tag or commit[:12]


@dataclass(frozen=True)
class Release:
    """A release: one image by digest, and where it came from. Images, deployments and
    approval requests each carry one (``.release``)."""

    digest: str
    image: str  # what a deployer pulls: name@digest, or the local image id
    commit: str
    tag: str | None
    run_id: str | None

    @property
    def label(self) -> str:
        return release_label(self.tag, self.commit)


@dataclass(frozen=True)
class DeployTarget:
    """Where a release goes: the endpoint (``host:``), the mode and, for a Swarm service or
    stack, its replicas. Recorded in the configuration snapshot, so an approval binds it."""

    host: str
    mode: str
    replicas: int = 1

    @classmethod
    def recorded_in(cls, config: Mapping[str, object]) -> DeployTarget | None:
        """The target a snapshot's JSON records; None in those made before it was recorded."""
        host = config.get("host")
        if not isinstance(host, str):
            return None
        replicas = config.get("replicas", 1)
        return cls(host, str(config.get("mode", "container")), int(str(replicas)))

    def changes_from(self, was: DeployTarget | None) -> str:
        """``host prod-a → prod-b, mode container → service``: what moved since ``was``."""
        if was is None:
            return f"not recorded → {self}"
        moved = [
            f"{what} {before} → {now}"
            for what, before, now in (
                ("host", was.host, self.host),
                ("mode", was.mode, self.mode),
                ("replicas", was.replicas, self.replicas),
            )
            if before != now
        ]
        return ", ".join(moved)

    def __str__(self) -> str:
        if self.mode == "container":
            return f"{self.host} (container)"
        plural = "" if self.replicas == 1 else "s"
        return f"{self.host} ({self.mode}, {self.replicas} replica{plural})"


class OfARelease:
    """A record of one release (a deployment, an approval request): its release, label and
    the target its recorded snapshot names."""

    digest: str
    image: str
    commit: str
    tag: str | None
    run_id: str | None
    config: dict[str, object]

    @property
    def release(self) -> Release:
        return Release(self.digest, self.image, self.commit, self.tag, self.run_id)

    @property
    def label(self) -> str:
        return release_label(self.tag, self.commit)

    @property
    def target(self) -> DeployTarget | None:
        return DeployTarget.recorded_in(self.config)


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
class Deployment(OfARelease):
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
class ApprovalRequest(OfARelease):
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


class OutcomeStatus(enum.StrEnum):
    """What promotion after a run did in one environment."""

    DEPLOYED = "deployed"
    FAILED = "failed"
    SKIPPED = "skipped"  # the promotion policy refused it (reason says why)
    PINNED = "pinned"  # automatic, but pinned after a rollback
    AWAITING_APPROVAL = "awaiting_approval"


@dataclass(frozen=True)
class DeploymentOutcome:
    """One environment's outcome of promotion (``dockyard run --json`` "deployments")."""

    environment: str
    status: OutcomeStatus
    digest: str
    reason: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "environment": self.environment,
            "status": str(self.status),
            "digest": self.digest,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> DeploymentOutcome:
        return cls(data["environment"], OutcomeStatus(data["status"]), data["digest"],
                   data["reason"])  # fmt: skip
