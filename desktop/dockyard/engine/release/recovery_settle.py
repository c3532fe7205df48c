"""Settling a deployment whose process was killed: let the daemon finish, then record.

Reconciled against the daemon, holding the environment's deployment lock: ``deployed``
only if the daemon runs that very deployment (by its label) and it is healthy, else
``interrupted``. A Swarm update carries on without Dockyard: judged at once it looks
"not healthy", and the ledger would disagree with the daemon a few seconds later for
good. So recovery waits (bounded) until the service leaves ``updating``, and then ends
the run's deploy stage and settles a run that waited for this approval.
"""

from __future__ import annotations

import logging
import time

from dockyard.core.errors import DockyardError
from dockyard.core.model import RunStatus, StageStatus, utcnow
from dockyard.core.releases import Deployment, DeploymentStatus
from dockyard.engine.deploy import ConfigSnapshot, RunningRelease
from dockyard.engine.deploy.live import running_in
from dockyard.engine.deploy.reconcile import STOPPED_STATES, short_digest
from dockyard.engine.endpoints.daemon_reader import DaemonReader
from dockyard.engine.endpoints.reading import reading
from dockyard.engine.endpoints.registry import EndpointRegistry
from dockyard.engine.release.config import environments_of
from dockyard.engine.release.context import ReleaseRecords
from dockyard.engine.release.results import RecoveredDeployment
from dockyard.store.database import Database
from dockyard.store.runs import RunStore

log = logging.getLogger("dockyard.releases")
SETTLE_TIMEOUT = 180.0
SETTLE_POLL = 1.0
INSPECT_TIMEOUT = 30


def inspect_settled(
    reader: DaemonReader, mode: str, deployment: Deployment, timeout: float = SETTLE_TIMEOUT
) -> list[RunningRelease]:
    """What runs once no update of the environment is in progress (or ``timeout`` passed)."""
    deadline = time.monotonic() + timeout
    told = False
    while True:
        running = running_in(reader, mode, deployment.repo, deployment.environment)
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


def settle(service: ReleaseRecords, deployment: Deployment) -> RecoveredDeployment:
    """Reconcile one interrupted deployment, holding its environment's deployment lock: a
    deployment running there now owns the daemon's side (finishing a container swap
    would take its container away), so it is settled at a later start instead."""
    lock, holder = service.ledger.try_lock_environment(
        deployment.repo, deployment.environment,
        what=f"recovery of deployment {deployment.id}", taken_by=service.identity,
    )  # fmt: skip
    if lock is None:
        busy = f" ({holder.what} by {holder.describe()})" if holder is not None else ""
        return RecoveredDeployment(
            deployment, "unknown",
            f"interrupted; another deployment to {deployment.environment} is in progress"
            f"{busy}, so it is checked again at the next start.",
        )  # fmt: skip
    try:
        return _settle_locked(service, deployment)
    finally:
        service.ledger.unlock_environment(lock)


def _settle_locked(service: ReleaseRecords, deployment: Deployment) -> RecoveredDeployment:
    try:
        environments = environments_of(service.home, service.db, deployment.repo)
        env = next(e for e in environments if e.name == deployment.environment)
        endpoint = EndpointRegistry(service.home).get(env.host)
        with reading(endpoint, timeout=INSPECT_TIMEOUT) as reader:
            running = inspect_settled(reader, env.mode, deployment)
    except (DockyardError, StopIteration) as exc:
        # Cannot ask the daemon: it stays "interrupted", visibly, until a later start can.
        why = exc.message if isinstance(exc, DockyardError) else "its environment is unknown"
        return RecoveredDeployment(
            deployment, "unknown",
            f"interrupted; its daemon could not be asked ({why}); checked again next start.",
        )  # fmt: skip
    live = next((r for r in running if r.deployment_id == deployment.id), None)
    grace = ConfigSnapshot.from_json(dict(deployment.config)).grace if deployment.config else 0
    if live is not None and _healthy(live, grace):
        found = live
        # Docker's SDK (0.1 s to import) only for this rare write: status only reads.
        from dockyard.engine.release.container_swap import finish_container_swap

        try:
            finish_container_swap(service.home, env, found)
        except DockyardError as exc:  # it runs healthy all the same; the next deploy tidies
            log.warning("could not finish replacing %s: %s", found.name, exc)
        done = service.ledger.reconcile_deployment(deployment.id, DeploymentStatus.DEPLOYED)
        outcome, reason = (
            "deployed",
            (f"{deployment.environment} runs it healthy, so it is recorded as deployed."),
        )
    else:
        seen = _daemon_state(live, running)
        reason = f"interrupted: Dockyard stopped before it finished, and the daemon {seen}."
        done = service.ledger.reconcile_deployment(
            deployment.id, DeploymentStatus.INTERRUPTED, reason
        )
        outcome = "interrupted"
    service.audit.append(
        "recover", actor=service.identity, repo=deployment.repo,
        environment=deployment.environment,
        details={"deployment": deployment.id, "outcome": outcome, "reason": reason},
    )  # fmt: skip
    end_deploy_stage(service.db, done, reason)
    return RecoveredDeployment(done, outcome, f"{deployment.environment} of {done.repo}: {reason}")


def _daemon_state(live: RunningRelease | None, running: list[RunningRelease]) -> str:
    if live is not None:
        return f"runs it but it is not healthy ({live.state})"
    if not running:
        return "does not run it (nothing runs there)"
    other = running[0]
    which = f"deployment {other.deployment_id}" if other.deployment_id else "an image"
    return f"does not run it: it runs {which} ({short_digest(other.digest)}, {other.state})"


def _healthy(live: RunningRelease, grace: float) -> bool:
    """Healthy by its check; without one, running for at least its grace period."""
    if live.state in STOPPED_STATES or live.state in ("updating", "failed"):
        return False
    if live.healthy is not None:
        return live.healthy
    if live.state == "starting" or live.since is None:  # no verdict yet is not healthy
        return False
    return (utcnow() - live.since).total_seconds() >= grace
