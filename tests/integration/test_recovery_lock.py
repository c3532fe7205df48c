"""Recovery leaves an interrupted deployment alone while another deployment holds its
environment: finishing the dead one's container swap would take the live one's container."""

from __future__ import annotations

from pathlib import Path

from dockyard.engine.release.status import recover_interrupted
from dockyard.store.database import open_database
from dockyard.store.ledger import SqliteReleaseLedger

REPO = "/srv/git/shop"


def test_recovery_waits_for_the_deployment_holding_the_environment(dockyard_home: Path) -> None:
    db = open_database(dockyard_home)
    try:
        ledger = SqliteReleaseLedger(db)
        started = ledger.start_deployment(
            repo=REPO, environment="production", digest="sha256:" + "a" * 64,
            image=f"shop@sha256:{'a' * 64}", commit="c" * 40, tag="v1.0.0", run_id=None,
            config={"mode": "container"}, deployed_by="dev",
        )  # fmt: skip
        ledger.finish_deployment(started.id, "interrupted", "Dockyard stopped")
        lock, _ = ledger.try_lock_environment(
            REPO, "production", what="v2.0.0", taken_by="lead@example.test"
        )
        assert lock is not None  # a live deployment (this process) to the same environment

        (busy,) = recover_interrupted(dockyard_home, db, "ops").deployments
        assert busy.outcome == "unknown"
        assert busy.reason == (
            "interrupted; another deployment to production is in progress (v2.0.0 by "
            f"process {lock.owner.pid}/lead@example.test), so it is checked again at the "
            "next start."
        )
        assert [d.id for d in ledger.unreconciled_deployments()] == [started.id]

        ledger.unlock_environment(lock)
        (settled,) = recover_interrupted(dockyard_home, db, "ops").deployments
        assert "in progress" not in settled.reason  # asked its daemon (here: none known)
        # Recovery let go of the environment again.
        assert ledger.environment_lock(REPO, "production") is None
    finally:
        db.close()
