"""What runs where: the ledger's view reconciled with what each host's daemon reports.

A host that cannot be reached gives ``host_error`` for its environments, never an
exception: status must still show what Dockyard recorded. Deployments a crash left
``deploying`` are settled here against the daemon: ``deployed`` only if the daemon runs
that very deployment (by its label), else ``failed`` as interrupted — never a phantom
success.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from dockyard.core.errors import DockyardError
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.core.releases import ApprovalRequest, Deployment, DeploymentStatus
from dockyard.engine.deploy import (
    ConfigSnapshot,
    RunningRelease,
    deployer_for,
    diff_snapshots,
    drift_of,
)
from dockyard.engine.endpoints import EndpointRegistry, open_client
from dockyard.engine.gitsource import GitSource
from dockyard.engine.release_config import environments_of
from dockyard.engine.release_results import EnvironmentStatus, ReleaseChanges, RepoStatus

if TYPE_CHECKING:
    from dockyard.engine.releases import ReleaseService

log = logging.getLogger("dockyard.releases")
T = TypeVar("T")
INSPECT_TIMEOUT = 30


def _on_host(service: ReleaseService, env: EnvironmentConfig, work: Callable[..., T]) -> T:
    client = open_client(EndpointRegistry(service.home).get(env.host), timeout=INSPECT_TIMEOUT)
    try:
        return work(deployer_for(env.mode, client))
    finally:
        client.close()


def repo_status(service: ReleaseService, repo: str) -> RepoStatus:
    ledger = service.ledger
    statuses = []
    for env in environments_of(service.home, service.db, repo):
        release = ledger.current_deployment(repo, env.name)
        running: list[RunningRelease] = []
        drift: str | None = None
        host_error: str | None = None
        try:
            running = _on_host(service, env, lambda d, name=env.name: d.inspect(repo, name))
            drift = drift_of(release, running)
        except DockyardError as exc:
            host_error = exc.message
        statuses.append(
            EnvironmentStatus(
                name=env.name,
                config=env,
                release=release,
                pending=ledger.pending_approval(repo, env.name),
                pin=ledger.pin_of(repo, env.name),
                drift=drift,
                running=running,
                host_error=host_error,
            )
        )
    return RepoStatus(repo, statuses)


def recover_interrupted(service: ReleaseService) -> list[Deployment]:
    """Settle what a crash left ``deploying``; returns the deployments as now recorded."""
    settled = []
    for deployment in service.ledger.interrupted_deployments_on_start():
        settled.append(_settle(service, deployment))
    return settled


def _settle(service: ReleaseService, deployment: Deployment) -> Deployment:
    ledger = service.ledger
    try:
        environments = environments_of(service.home, service.db, deployment.repo)
        env = next(e for e in environments if e.name == deployment.environment)
        running = _on_host(
            service, env, lambda d: d.inspect(deployment.repo, deployment.environment)
        )
    except (DockyardError, StopIteration) as exc:
        # Cannot ask the daemon: it stays "interrupted", visibly, until a later start can.
        log.warning("could not reconcile deployment %s: %s", deployment.id, exc)
        return deployment
    if any(r.deployment_id == deployment.id for r in running):
        done = ledger.finish_deployment(deployment.id, DeploymentStatus.DEPLOYED)
        outcome = "deployed"
    else:
        done = ledger.finish_deployment(
            deployment.id,
            DeploymentStatus.FAILED,
            "interrupted: Dockyard stopped before this deployment finished, and the daemon "
            "does not run it",
        )
        outcome = "failed"
    service.audit.append(
        "recover", actor=service.identity, repo=deployment.repo,
        environment=deployment.environment,
        details={"deployment": deployment.id, "outcome": outcome},
    )  # fmt: skip
    return done


def changes_between(
    service: ReleaseService, repo: str, environment: str, target: Deployment | ApprovalRequest
) -> ReleaseChanges:
    """The commits ``target`` brings in over what runs now, and the configuration diff."""
    current = service.ledger.current_deployment(repo, environment)
    old = ConfigSnapshot.from_json(dict(current.config)) if current else None
    config_diff = diff_snapshots(old, ConfigSnapshot.from_json(dict(target.config)))
    try:
        source = GitSource(repo, service.home, fetch=False)
        commits = source.commits_between(current.commit if current else None, target.commit)
    except DockyardError as exc:
        return ReleaseChanges([], config_diff, exc.message)
    return ReleaseChanges(commits, config_diff, None)
