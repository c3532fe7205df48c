"""Delivery insights of one repository: metrics of an environment over a period, the
previous period for trends, weekly buckets for charts, and the release timeline of every
environment. Reads the ledger and git: call it from a worker, never the UI thread.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from dockyard.core.errors import DockyardError, UserInputError
from dockyard.core.releases import Deployment, DeploymentStatus
from dockyard.engine.insights.commits import commit_graph
from dockyard.engine.insights.measures import Period, Trend, trend, utc
from dockyard.engine.insights.metrics import (
    DEFAULT_FAILURE_WINDOW,
    CommitGraph,
    DeliveryMetrics,
    EnvironmentRecord,
)
from dockyard.engine.release.config import environments_of
from dockyard.store.database import Database
from dockyard.store.ledger import DeploymentEntry, SqliteReleaseLedger
from dockyard.store.runs import RunStore

log = logging.getLogger("dockyard.insights")

DEFAULT_HOTFIX = re.compile("hotfix", re.IGNORECASE)
# The metrics whose trend is judged, and whether more is better.
HIGHER_IS_BETTER = {
    "deployment_frequency": True,
    "lead_time": False,
    "change_failure_rate": False,
    "time_to_restore": False,
    "approval_wait": False,
}


@dataclass(frozen=True)
class TimelineMark:
    """One deployment on the release timeline."""

    deployment_id: int
    environment: str
    at: datetime  # finished, else started
    kind: str  # release | rollback | failed
    label: str  # tag, else short commit
    digest: str
    commit: str
    approved_by: tuple[str, ...]
    deployed_by: str
    run_id: str | None
    status: str


@dataclass(frozen=True)
class DeliveryInsights:
    repo: str
    environment: str
    environments: tuple[str, ...]  # promotion order: the timeline's lanes
    period: Period
    current: DeliveryMetrics
    previous: DeliveryMetrics
    weekly: tuple[DeliveryMetrics, ...]
    trends: dict[str, Trend]
    timeline: tuple[TimelineMark, ...]
    failure_window: timedelta
    notes: tuple[str, ...]  # what could not be counted, and why


def delivery_insights(
    home: Path,
    db: Database,
    repo: str,
    period: Period,
    environment: str | None = None,
    *,
    failure_window: timedelta = DEFAULT_FAILURE_WINDOW,
    hotfix: re.Pattern[str] = DEFAULT_HOTFIX,
) -> DeliveryInsights:
    """Metrics of ``environment`` (default: the last in promotion order) over ``period``."""
    ledger = SqliteReleaseLedger(db)
    entries = ledger.deployment_history(repo)
    names = _environment_names(home, db, repo, entries)
    if not names:
        raise UserInputError(
            f"Nothing is recorded for {repo}; run its pipeline first (dockyard run {repo})."
        )
    chosen = environment or names[-1]
    if chosen not in names:
        raise UserInputError(
            f"{repo} has no environment {chosen!r} (known: {', '.join(names)}); "
            "name one of those with --env."
        )
    mine = [e for e in entries if e.deployment.environment == chosen]
    notes: list[str] = []
    record = EnvironmentRecord.prepare(
        [e.deployment for e in mine],
        requests=ledger.approval_history(repo, chosen),
        graph=_graph(home, repo, [e.deployment for e in mine], notes),
        hotfixes={e.deployment.id for e in mine if is_hotfix(e, hotfix)},
        failure_window=failure_window,
    )
    current, previous = record.metrics(period), record.metrics(period.previous())
    return DeliveryInsights(
        repo=repo,
        environment=chosen,
        environments=names,
        period=period,
        current=current,
        previous=previous,
        weekly=tuple(record.metrics(week) for week in period.weeks()),
        trends={
            name: trend(getattr(current, name), getattr(previous, name), higher)
            for name, higher in HIGHER_IS_BETTER.items()
        },
        timeline=tuple(
            _mark(e.deployment)
            for e in entries
            if e.deployment.status is not DeploymentStatus.DEPLOYING
            and period.contains(_moment(e.deployment))
        ),
        failure_window=failure_window,
        notes=tuple(notes),
    )


def is_hotfix(entry: DeploymentEntry, pattern: re.Pattern[str]) -> bool:
    """A release made to fix the one before: its run's ref, tag or commit message says so."""
    if entry.deployment.rollback:
        return False
    texts = (entry.run_ref, entry.deployment.tag or "", entry.run_message)
    return any(pattern.search(text) for text in texts)


def _environment_names(
    home: Path, db: Database, repo: str, entries: list[DeploymentEntry]
) -> tuple[str, ...]:
    """Promotion order from the pipeline file; environments only the ledger knows last."""
    names: list[str] = []
    if entries or RunStore(db).count(repo):
        try:
            names = [env.name for env in environments_of(home, db, repo)]
        except DockyardError as exc:
            log.warning("environments of %s unreadable (%s); using the ledger's", repo, exc)
    for entry in entries:
        if entry.deployment.environment not in names:
            names.append(entry.deployment.environment)
    return tuple(names)


def _graph(home: Path, repo: str, deployments: list[Deployment], notes: list[str]) -> CommitGraph:
    succeeded = sorted(
        (d for d in deployments if d.status.was_released and d.finished is not None),
        key=lambda d: (utc(d.finished or d.started), d.id),
    )
    if len(succeeded) < 2:
        return {}
    try:
        return commit_graph(home, repo, [d.commit for d in succeeded], [succeeded[0].commit])
    except DockyardError as exc:
        notes.append(f"Lead time left out: {exc.message}")
        return {}


def _moment(deployment: Deployment) -> datetime:
    return utc(deployment.finished or deployment.started)


def _mark(deployment: Deployment) -> TimelineMark:
    if deployment.status in (DeploymentStatus.FAILED, DeploymentStatus.INTERRUPTED):
        kind = "failed"
    else:
        kind = "rollback" if deployment.rollback else "release"
    return TimelineMark(
        deployment_id=deployment.id,
        environment=deployment.environment,
        at=_moment(deployment),
        kind=kind,
        label=deployment.label,
        digest=deployment.digest,
        commit=deployment.commit,
        approved_by=deployment.approved_by,
        deployed_by=deployment.deployed_by,
        run_id=deployment.run_id,
        status=str(deployment.status),
    )
