"""The release ledger: deployments, approval requests, approvals, pins."""

from __future__ import annotations

import socket
import subprocess
from datetime import datetime, timedelta

import pytest

from dockyard.core.errors import UserInputError
from dockyard.core.model import Run, RunStatus, utcnow
from dockyard.store.database import Database
from dockyard.store.ledger import (
    ApprovalRequest,
    ApprovalStatus,
    Deployment,
    DeploymentStatus,
    ProcessOwner,
    ReleaseLedger,
    SqliteReleaseLedger,
)
from dockyard.store.runs import RunStore

DIGEST_1 = "sha256:" + "1" * 64
DIGEST_2 = "sha256:" + "2" * 64


@pytest.fixture
def ledger(store_db: Database) -> ReleaseLedger:
    return SqliteReleaseLedger(store_db)


def deploy(
    ledger: ReleaseLedger,
    digest: str,
    tag: str,
    *,
    approved_by: tuple[str, ...] = (),
    rollback: bool = False,
    rolled_back_from: int | None = None,
    comment: str = "",
    owner: ProcessOwner | None = None,
) -> Deployment:
    return ledger.start_deployment(
        repo="web",
        environment="production",
        digest=digest,
        image=f"localhost:5000/shop/web@{digest}",
        commit=digest[-40:],
        tag=tag,
        run_id=f"run-{tag}",
        config={"env": {"LOG_LEVEL": "info"}, "replicas": 2},
        deployed_by="ann",
        approved_by=approved_by,
        rollback=rollback,
        rolled_back_from=rolled_back_from,
        comment=comment,
        owner=owner,
    )


def test_deployment_lifecycle_and_current(ledger: ReleaseLedger) -> None:
    assert ledger.current_deployment("web", "production") is None
    first = deploy(ledger, DIGEST_1, "v1.0.0", approved_by=("bob", "carol"))
    assert first.status is DeploymentStatus.DEPLOYING and first.finished is None
    assert ledger.current_deployment("web", "production") is None  # not deployed yet

    done = ledger.finish_deployment(first.id, "deployed")
    assert done.status is DeploymentStatus.DEPLOYED and done.finished is not None
    assert ledger.current_deployment("web", "production") == done
    assert done.approved_by == ("bob", "carol")
    assert done.config == {"env": {"LOG_LEVEL": "info"}, "replicas": 2}

    second = deploy(ledger, DIGEST_2, "v1.1.0")
    failed = ledger.finish_deployment(
        second.id, "failed", error="The service did not become healthy."
    )
    assert failed.error == "The service did not become healthy."
    current = ledger.current_deployment("web", "production")
    assert current is not None and current.id == first.id  # a failure does not replace it

    third = ledger.finish_deployment(deploy(ledger, DIGEST_2, "v1.1.0").id, "deployed")
    assert ledger.current_deployment("web", "production") == third
    assert [d.status for d in ledger.deployments("web", "production")] == [
        DeploymentStatus.DEPLOYED,
        DeploymentStatus.FAILED,
        DeploymentStatus.SUPERSEDED,
    ]
    assert ledger.deployments("web", "staging") == []
    assert ledger.deployment(first.id) == ledger.deployments("web", "production")[-1]
    assert ledger.deployment(999) is None


def test_rollback_is_recorded_as_a_forward_deployment(ledger: ReleaseLedger) -> None:
    old = ledger.finish_deployment(deploy(ledger, DIGEST_1, "v1.0.0").id, "deployed")
    new = ledger.finish_deployment(deploy(ledger, DIGEST_2, "v1.1.0").id, "deployed")
    back = deploy(ledger, old.digest, "v1.0.0", rollback=True, rolled_back_from=new.id,
                  comment="500s on checkout")  # fmt: skip
    back = ledger.finish_deployment(back.id, "deployed")
    assert back.rollback and back.rolled_back_from == new.id
    assert back.comment == "500s on checkout"
    assert ledger.current_deployment("web", "production") == back


def test_deployments_of_a_gone_process_become_interrupted(ledger: ReleaseLedger) -> None:
    settled = ledger.finish_deployment(deploy(ledger, DIGEST_1, "v1.0.0").id, "deployed")
    child = subprocess.Popen(["true"])
    child.wait()
    gone = ProcessOwner(socket.gethostname(), child.pid, "boot:1")
    orphan = deploy(ledger, DIGEST_2, "v1.1.0", owner=gone)
    mine = deploy(ledger, DIGEST_2, "v1.1.0")  # this process is alive: left alone
    remote = ProcessOwner("ops-desk.example.test", 77, "boot:2")
    elsewhere = deploy(ledger, DIGEST_2, "v1.1.0", owner=remote)

    report = ledger.interrupt_orphaned_deployments()

    assert [d.id for d in report.interrupted] == [orphan.id]
    assert report.interrupted[0].status is DeploymentStatus.INTERRUPTED
    assert report.interrupted[0].finished is not None
    assert [(d.id, owner) for d, owner in report.elsewhere] == [(elsewhere.id, remote)]
    assert ledger.deployment(mine.id).status is DeploymentStatus.DEPLOYING  # type: ignore[union-attr]
    assert ledger.current_deployment("web", "production") == settled
    assert ledger.interrupt_orphaned_deployments().interrupted == []
    assert [d.id for d in ledger.unreconciled_deployments()] == [orphan.id]
    assert ledger.owner_of_deployment(elsewhere.id) == remote


def test_reconciling_as_deployed_supersedes_and_is_final(ledger: ReleaseLedger) -> None:
    first = ledger.finish_deployment(deploy(ledger, DIGEST_1, "v1.0.0").id, "deployed")
    child = subprocess.Popen(["true"])
    child.wait()
    orphan = deploy(
        ledger, DIGEST_2, "v1.1.0", owner=ProcessOwner(socket.gethostname(), child.pid, "b:1")
    )
    ledger.interrupt_orphaned_deployments()
    done = ledger.reconcile_deployment(orphan.id, "deployed")
    assert done.status is DeploymentStatus.DEPLOYED
    assert ledger.deployment(first.id).status is DeploymentStatus.SUPERSEDED  # type: ignore[union-attr]
    assert ledger.current_deployment("web", "production") == done
    assert ledger.latest_deployment("web", "production") == done
    assert ledger.unreconciled_deployments() == []


def ask(
    ledger: ReleaseLedger,
    *,
    environment: str = "production",
    digest: str = DIGEST_1,
    run_id: str = "run-1",
    fingerprint: str = "cfg-1",
    expires: datetime | None = None,
) -> ApprovalRequest:
    return ledger.request_approval(
        repo="web",
        environment=environment,
        run_id=run_id,
        digest=digest,
        image=f"localhost:5000/shop/web@{digest}",
        commit="a" * 40,
        tag="v1.1.0",
        config_fingerprint=fingerprint,
        config={"replicas": 2},
        requested_by="ann",
        expires=expires,
    )


def test_a_new_request_supersedes_the_pending_one(ledger: ReleaseLedger) -> None:
    older = ask(ledger)
    pending = ledger.pending_approval("web", "production")
    assert pending == older
    assert pending is not None and pending.status is ApprovalStatus.PENDING
    newer = ask(ledger, digest=DIGEST_2, run_id="run-2", fingerprint="cfg-2")
    assert ledger.pending_approval("web", "production") == newer
    superseded = ledger.approval_request(older.id)
    assert superseded is not None and superseded.status is ApprovalStatus.SUPERSEDED
    assert ledger.pending_approval("web", "staging") is None
    assert ledger.approval_request(999) is None


def test_approvals_are_recorded_with_what_the_approver_saw(ledger: ReleaseLedger) -> None:
    pending = ask(ledger)
    ledger.add_approval(pending.id, "bob", "first look", DIGEST_1, "cfg-0")
    ledger.add_approval(pending.id, "bob", "after config fix", DIGEST_1, "cfg-1")
    updated = ledger.add_approval(pending.id, "carol", "ok", DIGEST_1, "cfg-1")
    assert [(a.approver, a.comment, a.config_fingerprint) for a in updated.approvals] == [
        ("bob", "after config fix", "cfg-1"),
        ("carol", "ok", "cfg-1"),
    ]
    assert all(a.digest == DIGEST_1 and a.at.tzinfo is not None for a in updated.approvals)

    resolved = ledger.resolve_approval(pending.id, "approved", by="carol")
    assert resolved.status is ApprovalStatus.APPROVED
    assert resolved.resolved is not None and resolved.resolved_by == "carol"
    assert ledger.pending_approval("web", "production") is None
    with pytest.raises(UserInputError, match="not pending"):
        ledger.add_approval(pending.id, "dave", "late", DIGEST_1, "cfg-1")


def test_a_rejection_keeps_its_comment(ledger: ReleaseLedger) -> None:
    pending = ask(ledger)
    rejected = ledger.resolve_approval(pending.id, "rejected", by="bob", comment="no tests")
    assert (rejected.status, rejected.resolution_comment) == (ApprovalStatus.REJECTED, "no tests")


def test_requests_past_their_deadline_expire_when_read(ledger: ReleaseLedger) -> None:
    late = ask(ledger, expires=utcnow() - timedelta(seconds=1))
    on_time = ask(ledger, environment="staging", expires=utcnow() + timedelta(hours=1))
    assert ledger.pending_approval("web", "production") is None
    expired = ledger.approval_request(late.id)
    assert expired is not None and expired.status is ApprovalStatus.EXPIRED
    assert ledger.pending_approval("web", "staging") == on_time
    with pytest.raises(UserInputError, match="expired"):
        ledger.add_approval(late.id, "bob", "ok", DIGEST_1, "cfg-1")


def test_latest_request_shows_an_expired_one(ledger: ReleaseLedger) -> None:
    assert ledger.latest_request("web", "production") is None
    late = ask(ledger, expires=utcnow() - timedelta(seconds=1))
    latest = ledger.latest_request("web", "production")
    assert latest is not None and (latest.id, latest.status) == (late.id, ApprovalStatus.EXPIRED)


def test_pins(ledger: ReleaseLedger) -> None:
    assert ledger.pin_of("web", "production") is None
    pin = ledger.pin("web", "production", "bob", "rolled back to v1.0.0: 500s on checkout")
    assert ledger.pin_of("web", "production") == pin
    assert ledger.pin_of("web", "staging") is None
    assert ledger.unpin("web", "production")
    assert ledger.pin_of("web", "production") is None
    assert not ledger.unpin("web", "production")


def test_every_waiting_request_is_listed_without_the_late_ones(ledger: ReleaseLedger) -> None:
    production = ask(ledger)
    staging = ask(ledger, environment="staging", run_id="run-2")
    ask(ledger, environment="qa", run_id="run-3", expires=utcnow() - timedelta(seconds=1))
    assert ledger.pending_approvals() == [production, staging]


def test_a_run_whose_request_is_replaced_becomes_superseded(store_db: Database) -> None:
    ledger, runs = SqliteReleaseLedger(store_db), RunStore(store_db)
    first = Run("run-1", "web", "v1.0.0", status=RunStatus.AWAITING_APPROVAL)
    second = Run("run-2", "web", "v1.1.0", status=RunStatus.RUNNING)
    runs.create(first)
    runs.create(second)
    ask(ledger, run_id="run-1")
    ask(ledger, run_id="run-1", fingerprint="cfg-2")  # its own new request: still waits
    assert runs.get("run-1").status == RunStatus.AWAITING_APPROVAL  # type: ignore[union-attr]

    ask(ledger, digest=DIGEST_2, run_id="run-2")
    replaced = runs.get("run-1")
    assert replaced is not None and replaced.status == RunStatus.SUPERSEDED
    assert "newer approval request for production" in replaced.error
    second.status = RunStatus.AWAITING_APPROVAL
    runs.save(second)
    assert runs.get("run-2").status == RunStatus.AWAITING_APPROVAL  # type: ignore[union-attr]

    # run-3 asks, and is replaced before its process records that it waits.
    third = Run("run-3", "web", "v1.2.0", status=RunStatus.RUNNING)
    runs.create(third)
    ask(ledger, run_id="run-3")
    ask(ledger, run_id="run-4")
    third.status = RunStatus.AWAITING_APPROVAL
    runs.save(third)
    assert third.status == RunStatus.SUPERSEDED  # the process learns it too
    assert runs.get("run-3").status == RunStatus.SUPERSEDED  # type: ignore[union-attr]
