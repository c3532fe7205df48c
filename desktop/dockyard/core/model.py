"""Plain domain objects shared by every layer (no Qt, no Docker)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dockyard.core.releases import Release


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


class StageStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"

    @property
    def finished(self) -> bool:
        return self not in (StageStatus.PENDING, StageStatus.RUNNING)


class RunStatus(enum.StrEnum):
    """``awaiting_approval`` stops at a gate; ``superseded`` when a newer approval request
    for the same environment (a newer run, a promote) replaced its request."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    AWAITING_APPROVAL = "awaiting_approval"
    INTERRUPTED = "interrupted"
    SUPERSEDED = "superseded"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


STAGE_NAMES = ("checkout", "build", "test", "deliver")


@dataclass
class Stage:
    name: str
    status: StageStatus = StageStatus.PENDING
    started: datetime | None = None
    finished: datetime | None = None
    summary: str = ""

    @property
    def duration(self) -> float | None:
        if self.started is None:
            return None
        end = self.finished or utcnow()
        return (end - self.started).total_seconds()


@dataclass
class Run:
    id: str
    repo: str
    ref: str
    commit: str = ""
    status: RunStatus = RunStatus.QUEUED
    created: datetime = field(default_factory=utcnow)
    finished: datetime | None = None
    author: str = ""
    message: str = ""
    tag: str | None = None
    started_by: str = ""
    image_name: str = ""
    digest: str = ""
    error: str = ""
    warnings: list[str] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)


@dataclass(frozen=True)
class ImageRecord:
    """An image built by a run; from delivery on it is named by digest only."""

    repo: str
    commit: str
    digest: str  # "sha256:…" registry digest, or the local image id without a registry
    name: str  # repository part, e.g. localhost:5000/shop/web ("" when never pushed)
    tag: str | None
    run_id: str
    tested: bool

    @property
    def reference(self) -> str:
        """What a deployer pulls: ``name@digest`` when pushed, else the image id."""
        return f"{self.name}@{self.digest}" if self.name else self.digest

    @property
    def release(self) -> Release:
        return Release(self.digest, self.reference, self.commit, self.tag, self.run_id)
