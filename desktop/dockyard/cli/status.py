"""``dockyard status``: what runs in each environment of a repository.

A module of its own so that the command imports the status and recovery helpers only, not
the release service with its deployment and rollback machinery: it starts faster
(tests/unit/test_cli_startup.py guards that).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dockyard.cli.context import database, repo_key
from dockyard.cli.unrecorded import warn_of_unrecorded
from dockyard.core.model import iso
from dockyard.core.policy import ApprovalPolicy
from dockyard.core.releases import ApprovalRequest, Deployment, DeployTarget
from dockyard.engine.home import dockyard_home
from dockyard.engine.ledger_source import acting_identity
from dockyard.engine.release.context import ReleaseRecords
from dockyard.engine.release.results import EnvironmentStatus, RecoveryReport, RepoStatus
from dockyard.engine.release.status import recover_interrupted, repo_status


def register(commands: Any) -> None:
    status = commands.add_parser("status", help="what runs in each environment of a repository")
    status.add_argument("repo")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(handler=show_status)


def status_as_json(status: RepoStatus, recovery: RecoveryReport | None = None) -> dict[str, Any]:
    return {
        "repo": status.repo,
        "environments": [_environment(e) for e in status.environments],
        "recovery": [] if recovery is None else recovery.lines(),
    }


def _target(target: DeployTarget | None) -> dict[str, Any] | None:
    if target is None:
        return None
    return {"host": target.host, "mode": target.mode, "replicas": target.replicas}


def _deployment(deployment: Deployment | None) -> dict[str, Any] | None:
    if deployment is None:
        return None
    return {
        "id": deployment.id,
        "status": str(deployment.status),
        "tag": deployment.tag,
        "commit": deployment.commit,
        "digest": deployment.digest,
        "run": deployment.run_id,
        "rollback": deployment.rollback,
        "target": _target(deployment.target),
        "started": iso(deployment.started),
        "finished": iso(deployment.finished),
        "error": deployment.error or None,
    }


def _request(request: ApprovalRequest | None) -> dict[str, Any] | None:
    if request is None:
        return None
    return {
        "id": request.id,
        "status": str(request.status),
        "run": request.run_id,
        "digest": request.digest,
        "tag": request.tag,
        "requested_by": request.requested_by,
        "expires": iso(request.expires),
        "resolved_by": request.resolved_by or None,
        "comment": request.resolution_comment or None,
    }


def _environment(env: EnvironmentStatus) -> dict[str, Any]:
    release = env.release
    pending = env.pending
    return {
        "name": env.name,
        "release": None
        if release is None
        else {
            "id": release.id,
            "tag": release.tag,
            "commit": release.commit,
            "digest": release.digest,
            "image": release.image,
            "deployed_by": release.deployed_by,
            "deployed_at": iso(release.finished or release.started),
            "approved_by": list(release.approved_by),
            "rollback": release.rollback,
            "rolled_back_from": release.rolled_back_from,
            "comment": release.comment or None,
            "target": _target(release.target),
        },
        "pending": None
        if pending is None
        else {
            "id": pending.id,
            "status": str(pending.status),
            "run": pending.run_id,
            "digest": pending.digest,
            "tag": pending.tag,
            "commit": pending.commit,
            "requested_by": pending.requested_by,
            "requested_at": iso(pending.created),
            "expires": iso(pending.expires),
            "approvals": [a.approver for a in pending.approvals],
            "approvals_needed": ApprovalPolicy(env.pending_rules).missing(pending),
            "secrets_not_set": env.pending_not_set,
            "notes": env.pending_notes,
            "target": _target(env.pending_target),
        },
        "latest": _deployment(env.latest),
        "last_request": _request(env.last_request),
        "pinned": env.pin is not None,
        "pin": None
        if env.pin is None
        else {"by": env.pin.pinned_by, "reason": env.pin.reason, "since": iso(env.pin.since)},
        "drift": env.drift,
        "retry_possible": bool(env.retry),
        "host_error": env.host_error,
        "running": [
            {
                "name": r.name,
                "digest": r.digest,
                "deployment": r.deployment_id,
                "state": r.state,
                "healthy": r.healthy,
                "restart_loop": r.restart_loop,
                "restarts": r.restarts,
                "last_exit_code": r.exit_code,
                "condition": r.condition(),
            }
            for r in env.running
        ],
    }


def show_status(args: argparse.Namespace) -> int:
    db = database()
    records = ReleaseRecords.open(dockyard_home(), db, acting_identity(db))
    # This command starts up as the window does: settle first.
    recovery = recover_interrupted(records.home, db, records.identity, records.secrets)
    status = repo_status(records, repo_key(args.repo, db))
    if not status.environments:  # nothing recorded: maybe a new or replaced store
        warn_of_unrecorded(records.home, db, status.repo)
    if args.json:
        print(json.dumps(status_as_json(status, recovery), indent=2))
        return 0
    for line in recovery.lines():
        print(f"dockyard: recovery: {line}", file=sys.stderr)
    print(status.repo)
    for env in status.environments:
        release = env.release
        what = "nothing deployed"
        if release is not None:
            label = release.label
            what = f"{label} ({release.digest[:19]})"
            what += f" on {release.target}" if release.target else ""
            what += f" by {release.deployed_by}"
            what += f" at {iso(release.finished or release.started)}"
            if release.rollback:
                what += " [rollback]"
        print(f"  {env.name}: {what}")
        latest = env.latest
        if latest is not None and latest.status in ("interrupted", "failed", "deploying"):
            label = latest.label
            why = f": {latest.error}" if latest.error else ""
            print(f"    last deployment {latest.id} ({label}) {latest.status}{why}")
            if env.retry:
                print(
                    f"    retry under its approval: dockyard approve {status.repo} {env.name} "
                    "--retry"
                )
        if env.pin is not None:
            print(f"    PINNED by {env.pin.pinned_by}: {env.pin.reason}")
        if env.pending is not None:
            pending = env.pending
            needed = ApprovalPolicy(env.pending_rules).missing(pending)
            print(
                f"    waiting for approval: {pending.label} ({pending.digest[:19]})"
                + (f" for {env.pending_target}" if env.pending_target else "")
                + f" requested by {pending.requested_by}, "
                f"{needed} approval(s) needed"
                + (f", expires {iso(pending.expires)}" if pending.expires else "")
            )
            for note in env.pending_notes:
                print(f"      {note}")
        elif env.last_request is not None and env.last_request.status == "expired":
            request = env.last_request
            print(
                f"    approval request {request.id} ({request.label}) "
                f"expired at {iso(request.expires)}; run the pipeline again"
            )
        if env.host_error:
            print(f"    host unreachable: {env.host_error}")
        elif env.drift:
            print(f"    DRIFT: {env.drift}")
        for live in env.running if not env.drift else ():
            if live.restarts:  # it recovered, but say that it crashed since the deployment
                print(f"    {live.name}: {live.condition()}")
    return 0
