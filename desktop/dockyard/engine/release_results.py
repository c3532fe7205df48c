"""What the release service returns to the CLI and the window."""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.core.releases import ApprovalRequest, Deployment, Pin
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
    """What a release would change: the commits it brings in and the configuration diff."""

    commits: list[ResolvedRef]
    config_diff: list[str]
    git_error: str | None
