"""The four delivery metrics and approval wait of one environment, from ledger records.

Pure: no store, no git. ``EnvironmentRecord.prepare`` works out, once per environment,
which commits each deployment delivered, which deployments were change failures and
which incidents were restored; ``metrics`` then only counts what falls into a period, so
the period, the previous period and every week cost a filter each. The definitions are
documented in docs/insights.md, in these words:

- a *release* is a deployment that is not a rollback; it *succeeded* when it became
  ``deployed`` (or ``superseded`` later); it *failed* when it did not become healthy;
- **deployment frequency**: succeeded releases finished in the period, per 7 days;
  rollbacks are counted apart;
- **lead time**: for each commit, its author time to the finish of the first succeeded
  deployment (release or rollback) whose commit contains it. The environment's first
  recorded deployment has nothing before it: its commits are history, not changes, and
  are not counted;
- **change failure rate**: of the releases that ended in the period (succeeded or
  failed), those that failed, or were rolled back, or were replaced by a hotfix, within
  the failure window after they finished;
- **time to restore**: from the start of a change failure to the finish of the next
  deployment that succeeded (a failure starting before that is the same incident);
- **approval wait**: from an approval request to its approval.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from dockyard.core.releases import ApprovalRequest, ApprovalStatus, Deployment, DeploymentStatus
from dockyard.engine.insights.measures import (
    MIN_EVENTS,
    WEEK,
    Measure,
    Period,
    median_and_p90,
    ratio,
    utc,
)

DEFAULT_FAILURE_WINDOW = timedelta(hours=24)
T = TypeVar("T")
ENDED = (DeploymentStatus.DEPLOYED, DeploymentStatus.SUPERSEDED, DeploymentStatus.FAILED)


@dataclass(frozen=True)
class CommitInfo:
    """What lead time needs of a commit: when it was written and what it builds on."""

    authored: datetime
    parents: tuple[str, ...] = ()


CommitGraph = Mapping[str, CommitInfo]


@dataclass(frozen=True)
class DeliveryMetrics:
    period: Period
    deployment_frequency: Measure  # succeeded releases per week
    lead_time: Measure  # seconds, per commit
    change_failure_rate: Measure  # 0..1, per release that ended
    time_to_restore: Measure  # seconds, per incident
    approval_wait: Measure  # seconds, per approval
    deployments: int  # succeeded releases
    rollbacks: int
    failed: int  # releases that did not become healthy
    change_failures: int


@dataclass(frozen=True)
class Incident:
    began: datetime
    restored: datetime

    @property
    def seconds(self) -> float:
        return (self.restored - self.began).total_seconds()


@dataclass
class EnvironmentRecord:
    """One environment's history, prepared for counting (see the module docstring)."""

    releases: list[datetime] = field(default_factory=list)  # succeeded, by finish
    rollbacks: list[datetime] = field(default_factory=list)
    judged: list[tuple[datetime, bool, bool]] = field(
        default_factory=list
    )  # when, failed?, change failure?
    lead_times: list[tuple[datetime, float]] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    restores: list[tuple[datetime, float]] = field(default_factory=list)  # by restored
    approval_waits: list[tuple[datetime, float]] = field(default_factory=list)
    change_failures: set[int] = field(default_factory=set)  # deployment ids

    @classmethod
    def prepare(
        cls,
        deployments: Sequence[Deployment],
        *,
        requests: Sequence[ApprovalRequest] = (),
        graph: CommitGraph | None = None,
        hotfixes: Set[int] = frozenset(),
        failure_window: timedelta = DEFAULT_FAILURE_WINDOW,
    ) -> EnvironmentRecord:
        """``deployments`` and ``requests`` of one environment; ``hotfixes`` the ids of
        deployments made to fix the one before (see ``report.is_hotfix``)."""
        record = cls()
        ordered = sorted(deployments, key=lambda d: (utc(d.started), d.id))
        succeeded = [d for d in ordered if d.status.was_released and d.finished is not None]
        record.change_failures = change_failures(ordered, succeeded, hotfixes, failure_window)
        for deployment in ordered:
            if deployment.finished is None or deployment.status not in ENDED:
                continue
            finished = utc(deployment.finished)
            if deployment.rollback:
                if deployment.status.was_released:
                    record.rollbacks.append(finished)
                continue
            if deployment.status.was_released:
                record.releases.append(finished)
            failed = deployment.status is DeploymentStatus.FAILED
            record.judged.append((finished, failed, deployment.id in record.change_failures))
        record.lead_times = sorted(lead_times(succeeded, graph or {}))
        record.incidents = incidents(ordered, succeeded, record.change_failures)
        record.restores = sorted((i.restored, i.seconds) for i in record.incidents)
        record.approval_waits = sorted(
            (utc(r.resolved), (utc(r.resolved) - utc(r.created)).total_seconds())
            for r in requests
            if r.status is ApprovalStatus.APPROVED and r.resolved is not None
        )
        record.releases.sort()
        record.rollbacks.sort()
        record.judged.sort()
        return record

    def metrics(self, period: Period) -> DeliveryMetrics:
        releases = len(_within(self.releases, period))
        judged = [(failed, change) for _at, failed, change in _within(self.judged, period)]
        failures = sum(1 for _failed, change in judged if change)
        return DeliveryMetrics(
            period=period,
            deployment_frequency=Measure(releases / (period.length / WEEK), releases),
            lead_time=median_and_p90([s for _at, s in _within(self.lead_times, period)]),
            change_failure_rate=ratio(failures, len(judged)),
            time_to_restore=_median([s for _at, s in _within(self.restores, period)]),
            approval_wait=median_and_p90([s for _at, s in _within(self.approval_waits, period)]),
            deployments=releases,
            rollbacks=len(_within(self.rollbacks, period)),
            failed=sum(1 for failed, _change in judged if failed),
            change_failures=failures,
        )


def change_failures(
    ordered: Sequence[Deployment],
    succeeded: Sequence[Deployment],
    hotfixes: Set[int],
    window: timedelta,
) -> set[int]:
    """Ids of releases that failed, or within ``window`` after they finished were rolled
    back or replaced by a hotfix. A rollback of a rollback judges nothing: rollbacks are
    not releases."""
    by_id = {d.id: d for d in ordered}
    failures = {d.id for d in ordered if not d.rollback and d.status is DeploymentStatus.FAILED}
    for position, deployment in enumerate(ordered):
        if deployment.rollback:
            target = by_id.get(deployment.rolled_back_from or -1) or _running_before(
                succeeded, deployment
            )
        elif deployment.id in hotfixes and position > 0:
            target = ordered[position - 1]
        else:
            continue
        if target is None or target.rollback or target.finished is None:
            continue
        if utc(deployment.started) - utc(target.finished) <= window:
            failures.add(target.id)
    return failures


def _running_before(succeeded: Sequence[Deployment], deployment: Deployment) -> Deployment | None:
    """What ran when ``deployment`` started (for rollbacks recorded without ``from``)."""
    earlier = [d for d in succeeded if d.id != deployment.id and d.started < deployment.started]
    return earlier[-1] if earlier else None


def lead_times(succeeded: Sequence[Deployment], graph: CommitGraph) -> list[tuple[datetime, float]]:
    """(deployed at, seconds since authored) for every commit, at its first deployment."""
    by_finish = sorted(succeeded, key=lambda d: (utc(d.finished or d.started), d.id))
    seen: set[str] = set()
    found: list[tuple[datetime, float]] = []
    for position, deployment in enumerate(by_finish):
        delivered = _walk(deployment.commit, graph, seen)
        if position == 0:
            continue  # the first deployment brings the history before Dockyard
        finished = utc(deployment.finished or deployment.started)
        for sha in delivered:
            seconds = (finished - utc(graph[sha].authored)).total_seconds()
            found.append((finished, max(0.0, seconds)))
    return found


def _walk(tip: str, graph: CommitGraph, seen: set[str]) -> list[str]:
    """Commits reachable from ``tip`` not ``seen`` before (marks them seen). Commits the
    graph does not hold end the walk: git left them out as older than anything counted."""
    delivered = []
    stack = [tip]
    while stack:
        sha = stack.pop()
        if sha in seen or sha not in graph:
            continue
        seen.add(sha)
        delivered.append(sha)
        stack.extend(graph[sha].parents)
    return delivered


def incidents(
    ordered: Sequence[Deployment], succeeded: Sequence[Deployment], failures: Set[int]
) -> list[Incident]:
    healthy = sorted(succeeded, key=lambda d: (utc(d.started), d.id))
    starts = [(utc(d.started), d.id) for d in healthy]
    found: list[Incident] = []
    for deployment in ordered:
        if deployment.id not in failures:
            continue
        began = utc(deployment.started)
        if found and began < found[-1].restored:
            continue  # still the same incident
        position = bisect.bisect_right(starts, (began, deployment.id))
        restoring = next((d for d in healthy[position:] if d.finished is not None), None)
        if restoring is not None and restoring.finished is not None:
            found.append(Incident(began, utc(restoring.finished)))
    return found


def _within(timed: Sequence[T], period: Period) -> Sequence[T]:
    """The part of ``timed`` (sorted by its first field, a moment) inside ``period``."""
    first = bisect.bisect_left(timed, period.start, key=_moment)
    last = bisect.bisect_left(timed, period.end, key=_moment)
    return timed[first:last]


def _moment(item: object) -> datetime:
    return item[0] if isinstance(item, tuple) else item  # type: ignore[return-value]


def _median(samples: Sequence[float]) -> Measure:
    measure = median_and_p90(samples)
    return Measure(measure.value, measure.events)


__all__ = ["MIN_EVENTS", "CommitGraph", "CommitInfo", "DeliveryMetrics", "EnvironmentRecord"]
