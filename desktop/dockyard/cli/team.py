"""``dockyard team``: connect to a team ledger on PostgreSQL, set it up, manage members.

Passwords are read from standard input, never from a prompt or an argument (arguments
show in ``ps``). psycopg takes about half a second to import, so the handlers import the
team modules themselves: every other command starts without them.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from dockyard.core.errors import UserInputError
from dockyard.engine.home import dockyard_home

if TYPE_CHECKING:
    import psycopg


def register(commands: Any) -> None:
    parser = commands.add_parser("team", help="share one release ledger with a team (PostgreSQL)")
    sub = parser.add_subparsers(dest="team_command", metavar="ACTION", required=True)

    connect_ = sub.add_parser(
        "connect", help="join a team ledger; the password is read from standard input"
    )
    connect_.add_argument("url", help="postgresql://USER@HOST:PORT/DATABASE[?sslmode=verify-full]")
    connect_.set_defaults(handler=connect_team)

    init = sub.add_parser("init", help="create or migrate the team schema (idempotent)")
    init.set_defaults(handler=init_team)

    member = sub.add_parser("member", help="team members (database roles)")
    members = member.add_subparsers(dest="member_command", metavar="ACTION", required=True)
    add = members.add_parser("add", help="add a member; the password is read from standard input")
    add.add_argument("name")
    add.add_argument(
        "--approve", action="append", default=[], metavar="ENV",
        help="may approve ENV (REPO:ENV for one repository); repeatable",
    )  # fmt: skip
    add.add_argument("--admin", action="store_true", help="may add members and protect")
    add.set_defaults(handler=add_member)
    list_ = members.add_parser("list", help="members and what each may approve")
    list_.add_argument("--json", action="store_true")
    list_.set_defaults(handler=list_members)
    remove = members.add_parser("remove", help="remove a member (history keeps the name)")
    remove.add_argument("name")
    remove.set_defaults(handler=remove_member)

    protect = sub.add_parser(
        "protect", help="ENV needs N approvals by members allowed to approve it"
    )
    protect.add_argument("env")
    protect.add_argument("--repo", default="", help="only this repository (default: every one)")
    protect.add_argument("--required", type=int, default=1)
    protect.set_defaults(handler=protect_environment)

    status = sub.add_parser("status", help="the server, who I am, what I may approve")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=show_status)

    leave = sub.add_parser("disconnect", help="go back to the local ledger")
    leave.set_defaults(handler=disconnect_team)

    bring = sub.add_parser(
        "import", help="copy this machine's local history into the team ledger (once; admin)"
    )
    bring.set_defaults(handler=import_local_history)


def _password_from_stdin(required: bool) -> str | None:
    if sys.stdin is None or sys.stdin.isatty():
        if required:
            raise UserInputError(
                'Give the password on standard input (e.g. printf %s "$PASSWORD" | dockyard '
                "team …); it is not read from a prompt."
            )
        return None
    return sys.stdin.read().rstrip("\n") or None


def connect_team(args: argparse.Namespace) -> int:
    from dockyard.engine.team import connect

    connected = connect(dockyard_home(), args.url, _password_from_stdin(required=False))
    server = connected.server
    print(f"Connected to the team ledger {server.address} as {server.user}.")
    if connected.schema_version == 0:
        print("The server has no Dockyard schema yet; a team admin runs: dockyard team init")
    return 0


def _admin_connection() -> psycopg.Connection[Any]:
    from dockyard.engine.team import open_connection, require_server

    return open_connection(require_server(dockyard_home()))


def _server_refusal(exc: psycopg.Error) -> UserInputError:
    import psycopg

    from dockyard.store import team

    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return UserInputError(
            f"The team server refused this ({exc.diag.message_primary}); it needs a team "
            "admin (a role with CREATEROLE that owns the Dockyard schema)."
        )
    refusal = team.refused(exc)
    if isinstance(refusal, UserInputError):
        return refusal
    return UserInputError(refusal.message)


def init_team(args: argparse.Namespace) -> int:
    import psycopg

    from dockyard.store import team

    with _admin_connection() as connection:
        try:
            before, now = team.init_schema(connection)
        except psycopg.Error as exc:
            raise _server_refusal(exc) from exc
    if before == now:
        print(f"The team schema is up to date (version {now}).")
    else:
        print(f"The team schema is now version {now} (was {before or 'absent'}).")
    return 0


def _approval_scope(text: str) -> tuple[str, str]:
    repo, _, env = text.rpartition(":")
    if not env:
        raise UserInputError(f"--approve {text!r}: name an environment (ENV or REPO:ENV).")
    return repo, env


def add_member(args: argparse.Namespace) -> int:
    import psycopg

    from dockyard.store import team

    password = _password_from_stdin(required=True)
    assert password is not None
    scopes = [_approval_scope(text) for text in args.approve]
    with _admin_connection() as connection:
        try:
            team.check_schema(connection)
            team.add_member(connection, args.name, password, admin=args.admin)
            for repo, env in scopes:
                team.grant_approval(connection, args.name, env, repo)
        except psycopg.Error as exc:
            raise _server_refusal(exc) from exc
    rights = ", ".join(text for text in args.approve) or "nothing yet"
    print(f"{args.name} is a member of the team; may approve: {rights}.")
    return 0


def list_members(args: argparse.Namespace) -> int:
    from dockyard.store import team

    with _admin_connection() as connection:
        team.check_schema(connection)
        found = team.members(connection)
    if args.json:
        print(json.dumps([asdict(m) for m in found], indent=2))
        return 0
    for member in found:
        role = " (admin)" if member.admin else ""
        print(f"{member.name}{role}: approves {', '.join(member.approves) or 'nothing'}")
    return 0


def remove_member(args: argparse.Namespace) -> int:
    import psycopg

    from dockyard.store import team

    with _admin_connection() as connection:
        try:
            team.remove_member(connection, args.name)
        except psycopg.Error as exc:
            raise _server_refusal(exc) from exc
    print(f"{args.name} is no longer a member; the ledger's history keeps the name.")
    return 0


def protect_environment(args: argparse.Namespace) -> int:
    import psycopg

    from dockyard.store import team

    with _admin_connection() as connection:
        try:
            team.check_schema(connection)
            team.protect(connection, args.env, repo=args.repo, required=args.required)
        except psycopg.Error as exc:
            raise _server_refusal(exc) from exc
    where = f" of {args.repo}" if args.repo else " of every repository"
    print(
        f"{args.env}{where} now needs {args.required} approval(s) by members allowed to "
        "approve it, never by the requester."
    )
    return 0


def show_status(args: argparse.Namespace) -> int:
    from dockyard.engine.team import team_status

    status = team_status(dockyard_home())
    if args.json:
        print(json.dumps(asdict(status), indent=2))
        return 0 if status.reachable else 3
    if not status.reachable:
        print(f"dockyard: {status.error}", file=sys.stderr)
        return 3
    print(f"Team ledger: {status.server} (schema {status.schema_version or 'absent'})")
    print(f"You are: {status.me}{' (admin)' if status.admin else ''}")
    print(f"You may approve: {', '.join(status.approves) or 'nothing'}")
    return 0


def disconnect_team(args: argparse.Namespace) -> int:
    from dockyard.engine.team import disconnect

    server = disconnect(dockyard_home())
    if server is None:
        print("Not connected to a team ledger; the local ledger is in use.")
    else:
        print(f"Disconnected from {server.address}; the local ledger is in use again.")
    return 0


def import_local_history(args: argparse.Namespace) -> int:
    from dockyard.engine.team_import import import_history

    for line in import_history(dockyard_home()).lines():
        print(line)
    print("The local ledger is unchanged (dockyard team disconnect uses it again).")
    return 0
