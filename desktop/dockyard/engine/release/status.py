"""What runs where: the ledger's view reconciled with what each host's daemon reports.

A host that cannot be reached gives ``host_error`` for its environments, never an
exception: status must still show what Dockyard recorded. Deployments a crash left
``deploying`` are settled here against the daemon (``recover_interrupted``): ``deployed``
only if the daemon runs that very deployment (by its label) and it is healthy, else
``interrupted`` — never a phantom success.
"""

from __future__ import annotations

import logging
from pathlib import Path

from dockyard.core.errors import DockyardError
from dockyard.core.model import utcnow
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.core.pipeline_order import promotes_to
from dockyard.core.releases import ApprovalRequest, Deployment
from dockyard.engine.deploy import ConfigSnapshot, RunningRelease, diff_snapshots, drift_of
from dockyard.engine.deploy.live import running_in
from dockyard.engine.endpoints.reading import reading
from dockyard.engine.endpoints.registry import EndpointRegistry
from dockyard.engine.gitsource import GitSource
from dockyard.engine.pipeline.teststage_leftovers import remove_test_leftovers
from dockyard.engine.release.config import approval_rules, environments_of
from dockyard.engine.release.context import ReleaseRecords
from dockyard.engine.release.recovery_settle import INSPECT_TIMEOUT, settle
from dockyard.engine.release.results import (
    EnvironmentStatus,
    RecoveryReport,
    ReleaseChanges,
    RepoStatus,
)
from dockyard.engine.release.retry import check_retry
from dockyard.engine.secrets import NOT_SET, SecretStore
from dockyard.store.database import Database
from dockyard.store.runs import RunStore

log = logging.getLogger("dockyard.releases")


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
            endpoint = EndpointRegistry(service.home).get(env.host)
            with reading(endpoint, timeout=INSPECT_TIMEOUT) as reader:
                running = running_in(reader, env.mode, repo, env.name)
            drift = drift_of(release, running)
        except DockyardError as exc:
            host_error = exc.message
        pending = ledger.pending_approval(repo, env.name)
        not_set, notes = _secrets_not_set(service, pending)
        recorded = None if pending is None else ConfigSnapshot.from_json(dict(pending.config))
        if recorded is not None and (moved := _target_moved(recorded, env)):
            notes.append(moved)
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
                pending_target=None if recorded is None else recorded.target,
            )
        )
    return RepoStatus(repo, statuses)


def _target_moved(recorded: ConfigSnapshot, env: EnvironmentConfig) -> str | None:
    """A line when the settings the deploy uses (the latest run's dockyard.yml) moved the
    environment since the request recorded its target: approving it is then refused."""
    now = recorded.aimed(env).target
    if now is None or now == recorded.target:
        return None
    return (
        f"target changed since the request ({now.changes_from(recorded.target)}); it must be "
        "reviewed again before it can be approved"
    )


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
        report.deployments.append(settle(service, deployment))
    for line in report.lines():
        log.warning("recovery: %s", line)
    return report


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
        with GitSource(repo, service.home, fetch=False) as source:
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
