"""``dockyard approve``, ``reject``, ``promote``, ``rollback``, ``unpin``,
``audit verify``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dockyard.cli.context import database, print_waiting, repo_key
from dockyard.cli.unrecorded import store_name, warn_of_unrecorded
from dockyard.engine.events import Event, StageChanged
from dockyard.engine.home import dockyard_home
from dockyard.engine.ledger_source import acting_identity
from dockyard.engine.release.service import ReleaseService
from dockyard.store.audit import AuditLog
from dockyard.store.database import Database, SqliteDatabase
from dockyard.store.integrity import damaged_error, full_damage_of


def register(commands: Any) -> None:
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
