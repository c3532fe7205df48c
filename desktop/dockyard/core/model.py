"""Plain domain objects shared by every layer (no Qt, no Docker)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dockyard.core.releases import DeploymentOutcome, Release


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def _instant(moment: datetime | None, precise: bool) -> str | None:
    return moment.isoformat() if precise and moment else iso(moment)


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


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

    def to_json(self, *, precise: bool = False) -> dict[str, Any]:
        """As ``Run.to_json`` says."""
        return {
            "name": self.name,
            "status": str(self.status),
            "started": _instant(self.started, precise),
            "finished": _instant(self.finished, precise),
            "summary": self.summary or None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stage:
        return cls(
            name=data["name"],
            status=StageStatus(data["status"]),
            started=_moment(data["started"]),
            finished=_moment(data["finished"]),
            summary=data["summary"] or "",
        )


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

    def to_json(
        self, deployments: Sequence[DeploymentOutcome] = (), *, precise: bool = False
    ) -> dict[str, Any]:
        """The run as ``dockyard run --json`` and ``runs --json`` print it (its keys are a
        contract: README.md, "JSON"). ``precise``: as the window's pipeline child sends it, times
        to the microsecond and the commit's author and message too, so that ``from_json``
        gives the very same run back."""
        data: dict[str, Any] = {
            "id": self.id,
            "repo": self.repo,
            "ref": self.ref,
            "commit": self.commit,
            "tag": self.tag,
            "status": str(self.status),
            "started_by": self.started_by,
            "created": _instant(self.created, precise),
            "finished": _instant(self.finished, precise),
            "error": self.error or None,
            "warnings": self.warnings,
            "image": {"name": self.image_name or None, "digest": self.digest or None},
            "stages": [stage.to_json(precise=precise) for stage in self.stages],
            "deployments": [deployment.to_json() for deployment in deployments],
        }
        if precise:
            data.update(author=self.author, message=self.message)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Run:
        created = _moment(data["created"])
        if created is None:
            raise ValueError(f"run {data['id']} has no creation time")
        return cls(
            id=data["id"],
            repo=data["repo"],
            ref=data["ref"],
            commit=data["commit"],
            status=RunStatus(data["status"]),
            created=created,
            finished=_moment(data["finished"]),
            author=data.get("author", ""),
            message=data.get("message", ""),
            tag=data["tag"],
            started_by=data["started_by"],
            image_name=data["image"]["name"] or "",
            digest=data["image"]["digest"] or "",
            error=data["error"] or "",
            warnings=list(data["warnings"]),
            stages=[Stage.from_json(stage) for stage in data["stages"]],
        )


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
