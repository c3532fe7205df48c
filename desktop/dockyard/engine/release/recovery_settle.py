"""Settling a deployment whose process was killed: let the daemon finish, then record.

A Swarm update carries on without Dockyard: judged at once it looks "not healthy", and
the ledger would disagree with the daemon a few seconds later for good. So recovery
waits (bounded) until the service leaves ``updating``, and then ends the run's deploy
stage and settles a run that waited for this approval.
"""

from __future__ import annotations

import logging
import time

from dockyard.core.model import RunStatus, StageStatus, utcnow
from dockyard.core.releases import Deployment, DeploymentStatus
from dockyard.engine.deploy import Deployer, RunningRelease
from dockyard.store.database import Database
from dockyard.store.runs import RunStore

log = logging.getLogger("dockyard.releases")
SETTLE_TIMEOUT = 180.0
SETTLE_POLL = 1.0


def inspect_settled(
    deployer: Deployer, deployment: Deployment, timeout: float = SETTLE_TIMEOUT
) -> list[RunningRelease]:
    """What runs once no update of the environment is in progress (or ``timeout`` passed)."""
    deadline = time.monotonic() + timeout
    told = False
    while True:
        running = deployer.inspect(deployment.repo, deployment.environment)
        if not any(r.state == "updating" for r in running) or time.monotonic() > deadline:
            return running
        if not told:
            log.warning(
                "waiting for %s of %s to finish the update deployment %s started…",
                deployment.environment, deployment.repo, deployment.id,
            )  # fmt: skip
            told = True
        time.sleep(SETTLE_POLL)


def end_deploy_stage(db: Database, deployment: Deployment, reason: str) -> None:
    """End the ``deploy-ENV`` (or ``rollback-ENV``) stage the killed process left running;
    a run that waited for this approval becomes succeeded or interrupted with it."""
    if not deployment.run_id:
        return
    runs = RunStore(db)
    run = runs.get(deployment.run_id)
    if run is None:
        return
    deployed = deployment.status is DeploymentStatus.DEPLOYED
    names = {f"deploy-{deployment.environment}", f"rollback-{deployment.environment}"}
    for stage in run.stages:
        if stage.name in names and stage.status is StageStatus.RUNNING:
            stage.status = StageStatus.SUCCEEDED if deployed else StageStatus.FAILED
            stage.summary, stage.finished = reason, utcnow()
            runs.save_stage(run.id, stage)
    if run.status is RunStatus.AWAITING_APPROVAL and not deployment.rollback:
        run.status = RunStatus.SUCCEEDED if deployed else RunStatus.INTERRUPTED
        run.error = "" if deployed else reason
        run.finished = utcnow()
        runs.save(run)
