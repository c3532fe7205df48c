"""What the release service returns to the CLI and the window."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dockyard.core.model import Run
from dockyard.core.pipeline_file import ApprovalConfig, EnvironmentConfig
from dockyard.core.policy import Decision
from dockyard.core.releases import ApprovalRequest, Deployment, DeployTarget, Pin

if TYPE_CHECKING:
    from dockyard.engine.deploy import RunningRelease
    from dockyard.engine.gitsource import ResolvedRef


@dataclass(frozen=True)
class EnvironmentStatus:
    name: str
    config: EnvironmentConfig | None
    release: Deployment | None  # what Dockyard deployed last (the ledger's view)
    pending: ApprovalRequest | None
    pin: Pin | None
    drift: str | None  # None: the daemon runs what Dockyard deployed
    running: list[RunningRelease] = field(default_factory=list)  # the daemon's view
    host_error: str | None = None  # the host could not be asked; drift is then unknown
    latest: Deployment | None = None  # the newest deployment, whatever its outcome
    last_request: ApprovalRequest | None = None  # the newest approval request, any status
    # Secrets the pending request was made without (not set, or no keyring), and one line
    # per such secret for people: "secret api_token: not set".
    pending_not_set: list[str] = field(default_factory=list)
    pending_notes: list[str] = field(default_factory=list)
    # Whether its failed approved deployment may be deployed again under its approval.
    retry: Decision = field(default_factory=lambda: Decision(False, ""))
    promotes_to: str | None = None  # where its release goes next (``Promote to …``)
    # The rules the pending release is approved under (``config.approval_rules``).
    pending_rules: ApprovalConfig | None = None
    # Where the pending release goes: the target its request recorded, which approving
    # binds (a note in ``pending_notes`` says when the settings moved it since).
    pending_target: DeployTarget | None = None


@dataclass(frozen=True)
class RepoStatus:
    repo: str
    environments: list[EnvironmentStatus]


@dataclass(frozen=True)
class ReleaseOutcome:
    deployment: Deployment | None  # None when nothing was deployed (e.g. more approvals needed)
    message: str


@dataclass(frozen=True)
class ReleaseChanges:
    """What a release would change: the commits it brings in (``direction`` "forward"; "first"
    when nothing runs yet, so every commit up to it) or, for a target older than what runs,
    the commits it takes away ("back"), newest first; and the configuration diff from what
    runs to the target."""

    commits: list[ResolvedRef]
    config_diff: list[str]
    git_error: str | None
    direction: str = "forward"  # "forward" | "first" | "back"


@dataclass(frozen=True)
class RecoveredDeployment:
    deployment: Deployment  # as now recorded
    outcome: str  # "deployed" | "interrupted" | "unknown" (its daemon could not be asked)
    reason: str  # one sentence for people


@dataclass
class RecoveryReport:
    """What start-up recovery did (``engine.release.service.recover_interrupted``)."""

    runs: list[Run] = field(default_factory=list)  # marked interrupted
    deployments: list[RecoveredDeployment] = field(default_factory=list)
    left_alone: list[str] = field(default_factory=list)  # work owned on another host
    test_leftovers: list[str] = field(default_factory=list)  # what killed tests left, removed

    @property
    def empty(self) -> bool:
        return not (self.runs or self.deployments or self.left_alone or self.test_leftovers)

    def lines(self) -> list[str]:
        """One sentence per thing recovery did or left alone, for a log or a banner."""
        lines = [
            f"Run {run.id} ({run.repo} at {run.ref}) was interrupted: Dockyard stopped "
            "before it finished."
            for run in self.runs
        ]
        lines += [f"Deployment {r.deployment.id}: {r.reason}" for r in self.deployments]
        return lines + self.test_leftovers + self.left_alone
