"""When a failed approved deployment may be retried under its approval (the ledger alone:
the configuration is compared when the retry runs)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from dockyard.core.model import utcnow
from dockyard.core.releases import ApprovalStatus, DeploymentStatus
from dockyard.engine.release.retry import check_retry
from dockyard.store.database import open_database
from dockyard.store.ledger import SqliteReleaseLedger

DIGEST = "sha256:" + "1" * 64


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SqliteReleaseLedger]:
    db = open_database(tmp_path)
    yield SqliteReleaseLedger(db)
    db.close()


def approved_then(ledger: SqliteReleaseLedger, outcome: str, expires_in: timedelta) -> None:
    request = ledger.request_approval(
        repo="web", environment="production", run_id="run-1", digest=DIGEST,
        image=f"r/web@{DIGEST}", commit="c" * 40, tag="v2.0.0", config_fingerprint="f",
        config={}, requested_by="dev", expires=utcnow() + expires_in,
    )  # fmt: skip
    ledger.add_approval(request.id, "lead", "", DIGEST, "f")
    ledger.resolve_approval(request.id, ApprovalStatus.APPROVED, by="lead")
    deployment = ledger.start_deployment(
        repo="web", environment="production", digest=DIGEST, image=f"r/web@{DIGEST}",
        commit="c" * 40, tag="v2.0.0", run_id="run-1", config={}, deployed_by="lead",
        approved_by=("lead",),
    )  # fmt: skip
    ledger.finish_deployment(deployment.id, outcome, "registry down")


def test_a_failed_approved_deployment_may_be_retried_until_its_approval_expires(
    ledger: SqliteReleaseLedger,
) -> None:
    approved_then(ledger, DeploymentStatus.FAILED, timedelta(hours=1))
    check = check_retry(ledger, "web", "production", utcnow())
    assert check.decision and check.failed is not None and check.failed.tag == "v2.0.0"
    later = check_retry(ledger, "web", "production", utcnow() + timedelta(hours=2))
    assert not later.decision and "expired" in later.decision.reason


def test_nothing_to_retry_after_a_success(ledger: SqliteReleaseLedger) -> None:
    approved_then(ledger, DeploymentStatus.DEPLOYED, timedelta(hours=1))
    check = check_retry(ledger, "web", "production", utcnow())
    assert not check.decision and "Nothing to retry in production" in check.decision.reason
    assert not check_retry(ledger, "web", "staging", utcnow()).decision
