"""``dockyard status``, ``approve``, ``reject``, ``promote``, ``rollback``, ``unpin``,
``audit verify``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dockyard.cli.context import database, print_waiting, repo_key
from dockyard.cli.unrecorded import store_name, warn_of_unrecorded
from dockyard.core.model import iso
from dockyard.core.policy import ApprovalPolicy
from dockyard.core.releases import ApprovalRequest, Deployment
from dockyard.engine.events import Event, StageChanged
from dockyard.engine.home import dockyard_home
from dockyard.engine.ledger_source import acting_identity
from dockyard.engine.release.results import EnvironmentStatus, RecoveryReport, RepoStatus
from dockyard.engine.release.service import ReleaseService
from dockyard.store.audit import AuditLog
from dockyard.store.database import Database, SqliteDatabase
from dockyard.store.integrity import damaged_error, full_damage_of


def register(commands: Any) -> None:
    status = commands.add_parser("status", help="what runs in each environment of a repository")
    status.add_argument("repo")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(handler=show_status)
    approve = commands.add_parser("approve", help="approve the pending release of ENV")
    approve.add_argument("repo")
    approve.add_argument("env")
    approve.add_argument("--comment", default="", help="why it may go in")
    approve.add_argument(
        "--digest",
        default=None,
        help="the digest you reviewed (12+ hex characters): refused if another one waits now",
    )
    approve.add_argument(
        "--retry",
        action="store_true",
        help="deploy again the approved release whose deployment failed (same digest and "
        "configuration, within the approval's lifetime)",
    )
    _no_wait_option(approve)
    approve.set_defaults(handler=approve_release)
    reject = commands.add_parser("reject", help="reject the pending release of ENV")
    reject.add_argument("repo")
    reject.add_argument("env")
    reject.add_argument("--comment", required=True, help="why it may not go in")
    reject.add_argument(
        "--digest", default=None, help="the digest you reviewed: refused if another one waits now"
    )
    reject.set_defaults(handler=reject_release)
    rollback = commands.add_parser(
        "rollback", help="redeploy a release that ran in ENV before, and pin ENV"
    )
    rollback.add_argument("repo")
    rollback.add_argument("env")
    rollback.add_argument(
        "--to",
        default=None,
        help="a tag, release number or digest that ran in ENV before (default: the release "
        "before the current one); anything else goes through the pipeline and the gate",
    )
    rollback.add_argument("--comment", required=True, help="why (recorded and audited)")
    _no_wait_option(rollback)
    rollback.set_defaults(handler=roll_back)
    unpin = commands.add_parser("unpin", help="let automatic deployment to ENV resume")
    unpin.add_argument("repo")
    unpin.add_argument("env")
    unpin.set_defaults(handler=unpin_environment)
    promote = commands.add_parser(
        "promote", help="send a tested digest to ENV (deploys, or requests its approval)"
    )
    promote.add_argument("repo")
    promote.add_argument("env")
    promote.add_argument(
        "--digest",
        default=None,
        help="sha256:… (default: what runs in the environment ENV comes after)",
    )
    _no_wait_option(promote)
    promote.set_defaults(handler=promote_release)
    audit = commands.add_parser("audit", help="the audit trail")
    sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = sub.add_parser("verify", help="check that no audit entry was edited or deleted")
    verify.set_defaults(handler=verify_audit)


def _no_wait_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="refuse (exit 2) instead of waiting while another deployment to ENV runs",
    )


def _deploying_service(args: argparse.Namespace, db: Database) -> ReleaseService:
    """The release service for a command that deploys: waits or refuses per --no-wait."""
    service = ReleaseService(home=dockyard_home(), db=db, identity=acting_identity(db))
    service.wait = not args.no_wait
    service.on_wait = print_waiting
    return service


def status_as_json(status: RepoStatus, recovery: RecoveryReport | None = None) -> dict[str, Any]:
    return {
        "repo": status.repo,
        "environments": [_environment(e) for e in status.environments],
        "recovery": [] if recovery is None else recovery.lines(),
    }


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
    service = ReleaseService(home=dockyard_home(), db=db, identity=acting_identity(db))
    recovery = service.recover()  # this command starts up as the window does: settle first
    status = service.status(repo_key(args.repo, db))
    if not status.environments:  # nothing recorded: maybe a new or replaced store
        warn_of_unrecorded(service.home, db, status.repo)
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
            what = f"{label} ({release.digest[:19]}) by {release.deployed_by}"
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
                f"    waiting for approval: {pending.label} "
                f"({pending.digest[:19]}) requested by {pending.requested_by}, "
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


def approve_release(args: argparse.Namespace) -> int:
    db = database()
    service = _deploying_service(args, db)
    repo = repo_key(args.repo, db)
    if args.retry:
        outcome = service.retry(repo, args.env, digest=args.digest)
    else:
        outcome = service.approve(repo, args.env, args.comment, digest=args.digest)
    print(outcome.message)
    return 0


def reject_release(args: argparse.Namespace) -> int:
    db = database()
    service = ReleaseService(home=dockyard_home(), db=db, identity=acting_identity(db))
    request = service.reject(repo_key(args.repo, db), args.env, args.comment, digest=args.digest)
    print(f"Rejected {request.label} for {args.env}.")
    return 0


def _progress(event: Event) -> None:
    if isinstance(event, StageChanged) and event.stage.status != "pending":
        print(f"  {event.stage.name}: {event.stage.status}", file=sys.stderr, flush=True)


def roll_back(args: argparse.Namespace) -> int:
    db = database()
    service = _deploying_service(args, db)
    outcome = service.rollback(
        repo_key(args.repo, db), args.env, args.to, args.comment, sink=_progress
    )
    print(outcome.message)
    return 0


def promote_release(args: argparse.Namespace) -> int:
    db = database()
    service = _deploying_service(args, db)
    repo = repo_key(args.repo, db)
    digest = args.digest or service.promotable_digest(repo, args.env)
    outcome = service.promote(repo, args.env, digest)
    print(outcome.message)
    return 0


def unpin_environment(args: argparse.Namespace) -> int:
    db = database()
    service = ReleaseService(home=dockyard_home(), db=db, identity=acting_identity(db))
    service.unpin(repo_key(args.repo, db), args.env)
    print(f"{args.env} is unpinned; automatic deployment to it resumes with the next run.")
    return 0


def verify_audit(args: argparse.Namespace) -> int:
    db = database()  # refuses a file that fails the quick check
    if isinstance(db, SqliteDatabase):  # a team server checks its own files
        damage = full_damage_of(db.connect())  # the full check: indexes against their tables
        if damage:
            raise damaged_error(db.path, damage)
    audit = AuditLog(db)
    problems = audit.verify()
    if problems:
        for problem in problems:
            print(f"dockyard: {problem}", file=sys.stderr)
        print(
            f"dockyard: the audit chain was tampered with ({len(problems)} problem(s)); "
            "restore the database from a backup and find out who changed it.",
            file=sys.stderr,
        )
        return 1
    count = len(audit.entries())
    if count == 0:
        print(f"audit chain verified: 0 entries (the store {store_name(db)} is new or empty)")
        warn_of_unrecorded(dockyard_home(), db)
        return 0
    print(f"audit chain verified: {count} entries")
    return 0
