"""``dockyard secret set``: secret values into the OS keyring, read from standard input."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dockyard.engine.secrets import SecretStore


def register(commands: Any) -> None:
    secret = commands.add_parser("secret", help="secrets kept in the OS keyring")
    sub = secret.add_subparsers(dest="secret_command", metavar="ACTION", required=True)
    set_ = sub.add_parser("set", help="read a secret value from standard input into the keyring")
    set_.add_argument("repo")
    set_.add_argument("env")
    set_.add_argument("name")
    set_.set_defaults(handler=set_secret)


def set_secret(args: argparse.Namespace) -> int:
    from dockyard.cli.context import database, repo_key

    value = sys.stdin.read().rstrip("\n")
    # The ledger decides the repository's key: in team mode a clone's origin URL, so the
    # secret is found by the runs and approvals of every member's clone.
    SecretStore().set(repo_key(args.repo, database()), args.env, args.name, value)
    print(f"Secret {args.name} stored in the keyring for {args.env}.")
    return 0
