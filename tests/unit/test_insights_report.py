"""Insights from a real ledger (SQLite, then PostgreSQL) and a real git repository: the
commits between releases come from git, hotfixes from the runs' refs, the CSV holds the
view's numbers."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from dockyard.core.errors import UserInputError
from dockyard.core.model import Run, utcnow
from dockyard.core.releases import DeploymentStatus
from dockyard.engine.insights.measures import Period
from dockyard.engine.insights.report import delivery_insights
from dockyard.engine.insights.texts import insights_csv, span_text, value_text
from dockyard.store.database import Database
from dockyard.store.ledger import SqliteReleaseLedger
from dockyard.store.runs import RunStore
from testbed.gitrepos import GitRepo


@pytest.fixture
def db(store_db: Database) -> Database:
    """The local ledger, then the team ledger: insights read either."""
    return store_db


def release(
    db: Database, repo: str, env: str, commit: str, ref: str, status: str = "deployed"
) -> int:
    run = Run(id=f"run-{ref}-{env}", repo=repo, ref=ref, created=utcnow())
    run.commit = commit
    RunStore(db).create(run)
    ledger = SqliteReleaseLedger(db)
    started = ledger.start_deployment(
        repo=repo, environment=env, digest="sha256:" + commit[:8] * 8, image="img",
        commit=commit, tag=ref, run_id=run.id, config={}, deployed_by="dev",
    )  # fmt: skip
    return ledger.finish_deployment(started.id, status).id


def test_insights_count_every_commit_between_releases_from_git(
    tmp_path: Path, db: Database
) -> None:
    git = GitRepo(tmp_path / "app")
    first = git.commit("initial", {"a.txt": "1"})
    git.commit("two", {"a.txt": "2"})
    git.commit("three", {"a.txt": "3"})
    third = git.commit("four", {"a.txt": "4"})
    hotfix = git.commit("hotfix: four broke login", {"a.txt": "5"})
    repo = str(git.path)
    release(db, repo, "staging", first, "v1")
    release(db, repo, "production", first, "v1")
    release(db, repo, "production", third, "v2")
    release(db, repo, "production", hotfix, "v2.0.1-hotfix")
    failed = release(db, repo, "production", hotfix, "v3", DeploymentStatus.FAILED)
    period = Period(utcnow() - timedelta(days=1), utcnow() + timedelta(seconds=1))

    insights = delivery_insights(tmp_path / "home", db, repo, period)

    assert insights.environment == "production"  # the last environment by default
    assert insights.environments == ("staging", "production")
    now = insights.current
    assert now.deployments == 3 and now.failed == 1
    assert now.lead_time.events == 4  # three commits in v2, the hotfix commit in v2.0.1
    assert now.change_failure_rate.events == 4
    assert now.change_failures == 2  # v2 (hotfixed) and v3 (failed)
    kinds = {(m.environment, m.label, m.kind) for m in insights.timeline}
    assert ("production", "v3", "failed") in kinds and ("staging", "v1", "release") in kinds
    assert any(
        m.deployment_id == failed and m.run_id == "run-v3-production" for m in insights.timeline
    )

    staging = delivery_insights(tmp_path / "home", db, repo, period, "staging")
    assert staging.current.lead_time.events == 0  # the first deployment brings history only

    rows = list(csv.DictReader(io.StringIO(insights_csv(insights))))
    period_rows = {r["metric"]: r for r in rows if r["bucket"] == "period"}
    assert period_rows["lead_time"]["events"] == "4"
    assert period_rows["change_failure_rate"]["value"] == "0.5"
    assert {r["bucket"] for r in rows} == {"period", "previous", "week"}


def test_unknown_repository_or_environment_is_refused(tmp_path: Path, db: Database) -> None:
    period = Period(utcnow() - timedelta(days=7), utcnow())
    with pytest.raises(UserInputError, match="Nothing is recorded"):
        delivery_insights(tmp_path / "home", db, str(tmp_path / "nowhere"), period)
    git = GitRepo(tmp_path / "app")
    repo = str(git.path)
    release(db, repo, "production", git.commit("one", {"a": "1"}), "v1")
    with pytest.raises(UserInputError, match=r"no environment 'qa'.*production"):
        delivery_insights(tmp_path / "home", db, repo, period, "qa")


def test_texts_say_not_enough_data_and_readable_spans() -> None:
    from dockyard.engine.insights.measures import Measure

    assert value_text("lead_time", Measure(None, 1)) == "not enough data"
    assert value_text("change_failure_rate", Measure(0.25, 8)) == "25%"
    assert value_text("lead_time", Measure(3 * 3600 + 600, 4, 2 * 86400)) == "3 h 10 min (p90 2 d)"
    assert span_text(42) == "42 s" and span_text(90 * 60) == "1 h 30 min"
