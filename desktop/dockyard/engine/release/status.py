"""What runs where: the ledger's view reconciled with what each host's daemon reports.

A host that cannot be reached gives ``host_error`` for its environments, never an
exception: status must still show what Dockyard recorded. Deployments a crash left
``deploying`` are settled here against the daemon (``recover_interrupted``): ``deployed``
only if the daemon runs that very deployment (by its label) and it is healthy, else
``interrupted`` — never a phantom success.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from dockyard.core.errors import DockyardError
from dockyard.core.model import utcnow
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.core.pipeline_order import promotes_to
from dockyard.core.releases import ApprovalRequest, Deployment, DeploymentStatus
from dockyard.engine.deploy import (
    ConfigSnapshot,
    ContainerDeployer,
    Deployer,
    RunningRelease,
    deployer_for,
    diff_snapshots,
    drift_of,
)
from dockyard.engine.deploy.container import RESTART_POLICY, TEMPORARY_SUFFIX
from dockyard.engine.deploy.dockerops import docker_errors
from dockyard.engine.deploy.reconcile import STOPPED_STATES, short_digest
from dockyard.engine.endpoints.registry import EndpointRegistry, open_client
from dockyard.engine.gitsource import GitSource
from dockyard.engine.pipeline.teststage_leftovers import remove_test_leftovers
from dockyard.engine.release.config import approval_rules, environments_of
from dockyard.engine.release.context import ReleaseRecords
from dockyard.engine.release.recovery_settle import end_deploy_stage, inspect_settled
from dockyard.engine.release.results import (
    EnvironmentStatus,
    RecoveredDeployment,
    RecoveryReport,
    ReleaseChanges,
    RepoStatus,
)
from dockyard.engine.release.retry import check_retry
from dockyard.engine.secrets import NOT_SET, SecretStore
from dockyard.store.database import Database
from dockyard.store.runs import RunStore

log = logging.getLogger("dockyard.releases")
T = TypeVar("T")
INSPECT_TIMEOUT = 30


def _on_host(service: ReleaseRecords, env: EnvironmentConfig, work: Callable[..., T]) -> T:
    client = open_client(EndpointRegistry(service.home).get(env.host), timeout=INSPECT_TIMEOUT)
    try:
        return work(deployer_for(env.mode, client))
    finally:
        client.close()


def repo_status(service: ReleaseRecords, repo: str) -> RepoStatus:
    ledger = service.ledger
    statuses = []
    environments = environments_of(service.home, service.db, repo)
    for env in environments:
        release = ledger.current_deployment(repo, env.name)
        running: list[RunningRelease] = []
        drift: str | None = None
        host_error: str | None = None
        try:
            running = _on_host(service, env, lambda d, name=env.name: d.inspect(repo, name))
            drift = drift_of(release, running)
        except DockyardError as exc:
            host_error = exc.message
        pending = ledger.pending_approval(repo, env.name)
        not_set, notes = _secrets_not_set(service, pending)
        statuses.append(
            EnvironmentStatus(
                name=env.name,
                config=env,
                release=release,
                pending=pending,
                pin=ledger.pin_of(repo, env.name),
                drift=drift,
                running=running,
                host_error=host_error,
                latest=ledger.latest_deployment(repo, env.name),
                last_request=ledger.latest_request(repo, env.name),
                pending_not_set=not_set,
                pending_notes=notes,
                retry=check_retry(ledger, repo, env.name, utcnow()).decision,
                promotes_to=promotes_to(environments, env.name),
                pending_rules=None
                if pending is None
                else approval_rules(service.home, repo, env, pending),
            )
        )
    return RepoStatus(repo, statuses)


def _secrets_not_set(
    service: ReleaseRecords, pending: ApprovalRequest | None
) -> tuple[list[str], list[str]]:
    """The pending request's secrets that had no value, and a line for each; one set since
    in this keyring says so (approving binds its fingerprint)."""
    if pending is None:
        return [], []
    recorded = ConfigSnapshot.from_json(dict(pending.config)).secrets
    names = sorted(name for name, mark in recorded.items() if mark == NOT_SET)
    notes = []
    for name in names:
        if service.secrets.find_quietly(pending.repo, pending.environment, name) is None:
            notes.append(
                f"secret {name}: not set; set it with: dockyard secret set "
                f"{pending.repo} {pending.environment} {name}"
            )
        else:
            notes.append(f"secret {name}: set since the request; approving binds its value")
    return names, notes


def recover_interrupted(
    home: Path, db: Database, identity: str, secrets: SecretStore | None = None
) -> RecoveryReport:
    """Settle what a crashed process left in flight (docs/architecture.md, principle 8).

    Runs and deployments whose owning process is gone become ``interrupted``; those of a
    live process are left alone (and reported when that process is on another host, where
    it cannot be checked). Each interrupted deployment is then reconciled against its
    daemon: ``deployed`` only if the daemon runs that very deployment and it is healthy.
    """
    service = ReleaseRecords.open(home, db, identity, secrets)
    report = RecoveryReport()
    if db.read_only:  # the disk is full: nothing can be settled (written) until there is room
        report.left_alone.append(
            "The disk holding DOCKYARD_HOME is full; interrupted work is settled once there "
            "is room again."
        )
        return report
    orphaned_runs = RunStore(db).interrupt_orphaned()
    report.runs = orphaned_runs.interrupted
    report.left_alone += [
        f"Run {run.id} of {run.repo} is in progress in {owner.describe()}; left alone "
        "(it cannot be checked from this host)."
        for run, owner in orphaned_runs.elsewhere
    ]
    report.test_leftovers = remove_test_leftovers(home, db)
    orphaned = service.ledger.interrupt_orphaned_deployments()
    report.left_alone += [
        f"Deployment {d.id} to {d.environment} of {d.repo} is in progress in "
        f"{owner.describe()}; left alone (it cannot be checked from this host)."
        for d, owner in orphaned.elsewhere
    ]
    for deployment in service.ledger.unreconciled_deployments():
        report.deployments.append(_settle(service, deployment))
    for line in report.lines():
        log.warning("recovery: %s", line)
    return report


def _settle(service: ReleaseRecords, deployment: Deployment) -> RecoveredDeployment:
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
        running = _on_host(service, env, lambda d: inspect_settled(d, deployment))
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
        try:
            _on_host(service, env, lambda d: _finish_container_swap(d, found))
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


def _finish_container_swap(deployer: Deployer, live: RunningRelease) -> None:
    """Container mode was killed between the health gate and the swap: the healthy new
    container still has its temporary name. Finish what the deployer would have done, so
    the next deployment does not take it for a leftover."""
    if not live.name.endswith(TEMPORARY_SUFFIX) or not isinstance(deployer, ContainerDeployer):
        return
    final = live.name.removesuffix(TEMPORARY_SUFFIX)
    with docker_errors(f"finish replacing {final}"):
        for container in deployer.client.containers.list(all=True, filters={"name": final}):
            if container.name == final:
                container.remove(force=True, v=True)
        new = deployer.client.containers.get(live.name)
        new.update(restart_policy=RESTART_POLICY)
        new.rename(final)


def changes_between(
    service: ReleaseRecords, repo: str, environment: str, target: Deployment | ApprovalRequest
) -> ReleaseChanges:
    """What deploying ``target`` changes over what runs now: the commits it brings in, or
    (``direction == "back"``, a rollback to an older commit) the commits it takes away; and
    the configuration diff from what runs to the target."""
    current = service.ledger.current_deployment(repo, environment)
    old = ConfigSnapshot.from_json(dict(current.config)) if current else None
    config_diff = diff_snapshots(old, ConfigSnapshot.from_json(dict(target.config)))
    try:
        source = GitSource(repo, service.home, fetch=False)
        if current is not None and current.commit != target.commit:
            taken_away = source.commits_between(target.commit, current.commit)
            brought_in = source.commits_between(current.commit, target.commit)
            if taken_away and not brought_in:
                return ReleaseChanges(taken_away, config_diff, None, "back")
            return ReleaseChanges(brought_in, config_diff, None, "forward")
        if current is None:
            commits = source.commits_between(None, target.commit)
            return ReleaseChanges(commits, config_diff, None, "first")
    except DockyardError as exc:
        return ReleaseChanges([], config_diff, exc.message)
    return ReleaseChanges([], config_diff, None)
