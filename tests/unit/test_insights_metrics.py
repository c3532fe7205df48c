"""Delivery metrics on hand-built ledgers with known answers (pure logic: no store, no git)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dockyard.core.releases import (
    ApprovalRequest,
    ApprovalStatus,
    Deployment,
    DeploymentStatus,
)
from dockyard.engine.insights.measures import Period, Trend, trend
from dockyard.engine.insights.metrics import CommitInfo, EnvironmentRecord

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
PERIOD = Period(T0, T0 + 28 * DAY)


def deployment(
    id: int,
    at: datetime,
    *,
    commit: str = "",
    status: DeploymentStatus = DeploymentStatus.SUPERSEDED,
    rollback: bool = False,
    rolled_back_from: int | None = None,
    took: timedelta = timedelta(minutes=1),
) -> Deployment:
    return Deployment(
        id=id, repo="/r", environment="production", digest=f"sha256:{id:064x}",
        image="img", commit=commit or f"c{id}", tag=f"v{id}", run_id=f"run{id}", config={},
        status=status, started=at, finished=at + took, deployed_by="dev", approved_by=("rm",),
        rollback=rollback, rolled_back_from=rolled_back_from, comment="", error="",
    )  # fmt: skip


def request(
    id: int, created: datetime, waited: timedelta, status: str = "approved"
) -> ApprovalRequest:
    return ApprovalRequest(
        id=id, repo="/r", environment="production", run_id=f"run{id}", digest="d", image="i",
        commit="c", tag=None, config_fingerprint="f", config={}, requested_by="dev",
        created=created, expires=None, status=ApprovalStatus(status), resolved=created + waited,
    )  # fmt: skip


def chain(*shas_and_times: tuple[str, datetime]) -> dict[str, CommitInfo]:
    """A linear history: each commit's parent is the one before it."""
    graph: dict[str, CommitInfo] = {}
    parent: tuple[str, ...] = ()
    for sha, authored in shas_and_times:
        graph[sha] = CommitInfo(authored, parent)
        parent = (sha,)
    return graph


def test_no_deployments_gives_zero_frequency_and_not_enough_data_elsewhere() -> None:
    metrics = EnvironmentRecord.prepare([]).metrics(PERIOD)
    assert metrics.deployment_frequency.value == 0 and metrics.deployment_frequency.events == 0
    for measure in (
        metrics.lead_time, metrics.change_failure_rate, metrics.time_to_restore,
        metrics.approval_wait,
    ):  # fmt: skip
        assert measure.value is None and not measure.enough and measure.events == 0


def test_one_deployment_counts_but_rates_need_more_than_one_event() -> None:
    record = EnvironmentRecord.prepare([deployment(1, T0 + DAY)], requests=[request(1, T0, HOUR)])
    metrics = record.metrics(PERIOD)
    assert metrics.deployment_frequency.value == pytest.approx(0.25)  # 1 in 4 weeks
    assert metrics.change_failure_rate.value is None and metrics.change_failure_rate.events == 1
    assert metrics.approval_wait.value is None and metrics.approval_wait.events == 1


def test_frequency_counts_succeeded_releases_per_week_and_rollbacks_apart() -> None:
    deployments = [
        deployment(1, T0 + DAY),
        deployment(2, T0 + 2 * DAY, status=DeploymentStatus.FAILED),
        deployment(3, T0 + 3 * DAY),
        deployment(4, T0 + 3 * DAY + HOUR, commit="c1", rollback=True, rolled_back_from=3),
        deployment(5, T0 + 30 * DAY),  # after the period
    ]
    metrics = EnvironmentRecord.prepare(deployments).metrics(PERIOD)
    assert metrics.deployments == 2
    assert metrics.deployment_frequency.value == pytest.approx(0.5)
    assert metrics.rollbacks == 1
    assert metrics.failed == 1


def test_change_failure_rate_counts_failed_rolled_back_and_hotfixed_releases() -> None:
    deployments = [
        deployment(1, T0),  # fine: the next one is a normal release two days later
        deployment(2, T0 + 2 * DAY),  # rolled back after 2 h
        deployment(3, T0 + 2 * DAY + 2 * HOUR, commit="c1", rollback=True, rolled_back_from=2),
        deployment(4, T0 + 4 * DAY, status=DeploymentStatus.FAILED),  # failed health gate
        deployment(5, T0 + 5 * DAY),  # replaced by a hotfix after 3 h
        deployment(6, T0 + 5 * DAY + 3 * HOUR),  # the hotfix (fine itself)
        deployment(7, T0 + 8 * DAY),  # rolled back after 30 h: outside the window
        deployment(8, T0 + 9 * DAY + 7 * HOUR, commit="c6", rollback=True, rolled_back_from=7),
    ]
    record = EnvironmentRecord.prepare(deployments, hotfixes={6})
    metrics = record.metrics(PERIOD)
    assert record.change_failures == {2, 4, 5}
    assert metrics.change_failure_rate.events == 6  # releases that ended; rollbacks apart
    assert metrics.change_failure_rate.value == pytest.approx(3 / 6)
    wider = EnvironmentRecord.prepare(deployments, hotfixes={6}, failure_window=2 * DAY)
    assert wider.change_failures == {2, 4, 5, 7}


def test_a_rollback_of_a_rollback_judges_no_release_twice() -> None:
    deployments = [
        deployment(1, T0),
        deployment(2, T0 + DAY),
        deployment(3, T0 + DAY + HOUR, commit="c1", rollback=True, rolled_back_from=2),
        # Back to v2 after all: rolls back the rollback, not a release.
        deployment(4, T0 + DAY + 2 * HOUR, commit="c2", rollback=True, rolled_back_from=3),
    ]
    record = EnvironmentRecord.prepare(deployments)
    metrics = record.metrics(PERIOD)
    assert record.change_failures == {2}
    assert metrics.change_failure_rate.value == pytest.approx(1 / 2)
    assert metrics.rollbacks == 2
    # One incident: from v2's start to the finish of the first rollback.
    assert [i.seconds for i in record.incidents] == [(HOUR + timedelta(minutes=1)).total_seconds()]


def test_a_rollback_recorded_without_from_judges_what_ran_before_it() -> None:
    deployments = [
        deployment(1, T0),
        deployment(2, T0 + DAY),
        deployment(3, T0 + DAY + HOUR, commit="c1", rollback=True),
    ]
    assert EnvironmentRecord.prepare(deployments).change_failures == {2}


def test_time_to_restore_runs_from_the_failure_to_the_next_healthy_deployment() -> None:
    deployments = [
        deployment(1, T0),
        deployment(2, T0 + DAY, status=DeploymentStatus.FAILED),
        deployment(3, T0 + DAY + HOUR, status=DeploymentStatus.FAILED),  # same incident
        deployment(4, T0 + DAY + 3 * HOUR),  # restores: finished 3 h 1 min after 2 began
        deployment(5, T0 + 3 * DAY),
        deployment(6, T0 + 3 * DAY + 2 * HOUR, commit="c5", rollback=True, rolled_back_from=5),
    ]
    metrics = EnvironmentRecord.prepare(deployments).metrics(PERIOD)
    assert metrics.time_to_restore.events == 2
    minute = 60
    expected = [(3 * 60 + 1) * minute, (2 * 60 + 1) * minute]
    assert metrics.time_to_restore.value == pytest.approx(sum(expected) / 2)
    assert metrics.time_to_restore.p90 is None  # a median only


def test_lead_time_counts_every_commit_of_a_release_at_its_first_deployment() -> None:
    graph = chain(
        ("a", T0 - 10 * DAY),  # before Dockyard: shipped by the first deployment
        ("b", T0 + DAY),
        ("c", T0 + DAY + 12 * HOUR),
        ("d", T0 + 3 * DAY),
    )
    deployments = [
        deployment(1, T0, commit="a"),
        deployment(2, T0 + 2 * DAY, commit="c", took=timedelta(0)),  # brings b and c
        deployment(3, T0 + 2 * DAY + HOUR, commit="a", rollback=True, took=timedelta(0)),
        # c again (a commit shipped in two releases counts once, at its first) and d.
        deployment(4, T0 + 4 * DAY, commit="d", took=timedelta(0)),
    ]
    metrics = EnvironmentRecord.prepare(deployments, graph=graph).metrics(PERIOD)
    hours = sorted(round(s / 3600) for s in _lead_seconds(deployments, graph))
    assert hours == [12, 24, 24]  # c: 12 h, b: 24 h, d: 24 h
    assert metrics.lead_time.events == 3
    assert metrics.lead_time.value == pytest.approx(24 * 3600)
    assert metrics.lead_time.p90 == pytest.approx(24 * 3600)


def test_lead_time_across_a_daylight_saving_change_uses_elapsed_time() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # Clocks go forward at 02:00 on 29 March 2026: 01:00 to 04:00 wall clock is 2 h.
    graph = chain(
        ("base", datetime(2026, 3, 1, tzinfo=berlin)),
        ("x", datetime(2026, 3, 29, 1, 0, tzinfo=berlin)),
        ("y", datetime(2026, 3, 29, 1, 30, tzinfo=berlin)),
    )
    deployments = [
        deployment(1, datetime(2026, 3, 2, tzinfo=berlin), commit="base"),
        deployment(2, datetime(2026, 3, 29, 4, 0, tzinfo=berlin), commit="y", took=timedelta(0)),
    ]
    period = Period(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    metrics = EnvironmentRecord.prepare(deployments, graph=graph).metrics(period)
    assert metrics.lead_time.events == 2
    assert metrics.lead_time.value == pytest.approx(1.75 * 3600)  # 2 h and 1.5 h


def test_approval_wait_median_and_p90_of_approved_requests() -> None:
    requests = [request(i, T0 + i * DAY, i * HOUR) for i in range(1, 11)]
    requests.append(request(11, T0 + DAY, 100 * HOUR, status="rejected"))
    metrics = EnvironmentRecord.prepare([], requests=requests).metrics(PERIOD)
    assert metrics.approval_wait.events == 10
    assert metrics.approval_wait.value == pytest.approx(5.5 * 3600)
    assert metrics.approval_wait.p90 == pytest.approx(9.1 * 3600)


def test_weeks_and_previous_period_split_the_same_record() -> None:
    deployments = [deployment(i, T0 + i * DAY) for i in range(-10, 20)]
    record = EnvironmentRecord.prepare(deployments)
    weeks = PERIOD.weeks()
    assert len(weeks) == 4
    assert sum(record.metrics(week).deployments for week in weeks) == 20
    assert record.metrics(PERIOD.previous()).deployments == 10


def test_trend_says_whether_the_change_is_better() -> None:
    from dockyard.engine.insights.measures import Measure

    assert trend(Measure(2.0, 4), Measure(1.0, 2), higher_is_better=True) == Trend(1.0, True)
    assert trend(Measure(2.0, 4), Measure(1.0, 2), higher_is_better=False) == Trend(1.0, False)
    assert trend(Measure(None, 1), Measure(1.0, 2), higher_is_better=True) == Trend(None, None)
    assert trend(Measure(1.0, 2), Measure(0.0, 2), higher_is_better=True) == Trend(None, True)


def _lead_seconds(deployments: list[Deployment], graph: dict[str, CommitInfo]) -> list[float]:
    record = EnvironmentRecord.prepare(deployments, graph=graph)
    return [seconds for _at, seconds in record.lead_times]
