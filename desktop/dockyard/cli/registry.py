"""``dockyard registry``: registry credentials kept in the OS keyring."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dockyard.core.errors import UserInputError
from dockyard.engine.endpoints.registry_auth import forget_login, store_login


def register(commands: Any) -> None:
    registry = commands.add_parser("registry", help="registry credentials (OS keyring)")
    sub = registry.add_subparsers(dest="registry_command", metavar="ACTION", required=True)
    login = sub.add_parser(
        "login", help="read a registry password from standard input into the keyring"
    )
    login.add_argument("registry", help="registry host, e.g. registry.example.com or docker.io")
    login.add_argument("--username", "-u", required=True)
    login.set_defaults(handler=login_registry)
    logout = sub.add_parser("logout", help="forget the stored credentials of a registry")
    logout.add_argument("registry")
    logout.set_defaults(handler=logout_registry)


def login_registry(args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        raise UserInputError(
            'Give the password on standard input (e.g. printf %s "$TOKEN" | '
            "dockyard registry login REGISTRY -u USER); it is not read from a prompt."
        )
    password = sys.stdin.read().rstrip("\n")
    host = store_login(args.registry, args.username, password)
    print(f"Credentials for {host} (user {args.username}) stored in the keyring.")
    return 0


def logout_registry(args: argparse.Namespace) -> int:
    if forget_login(args.registry):
        print(f"Forgot the credentials for {args.registry}.")
    else:
        print(f"No stored credentials for {args.registry}.")
    return 0
