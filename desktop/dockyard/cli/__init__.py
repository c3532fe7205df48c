"""The ``dockyard`` command line: the same engine as the window, for scripts and CI.

The contract (commands, exit codes, JSON keys) is documented in the README. Every failure
prints one sentence on stderr and exits 1 (pipeline failed), 2 (bad input) or
3 (infrastructure unreachable); never a bare traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Callable

from dockyard import version_line
from dockyard.core.errors import DockyardError
from dockyard.core.redaction import redact_standard_streams

log = logging.getLogger("dockyard.cli")

Handler = Callable[[argparse.Namespace], int]


# The module that registers each command. Only the module of the command being run is
# imported: importing them all costs ~0.5 s (docker, git, requests, ...) before any work.
# tests/unit/test_cli_startup.py checks that this table names every command.
COMMAND_MODULES = {
    "run": "pipeline",
    "runs": "pipeline",
    "logs": "pipeline",
    "status": "status",
    "approve": "releases",
    "reject": "releases",
    "rollback": "releases",
    "unpin": "releases",
    "promote": "releases",
    "audit": "releases",
    "hosts": "hosts",
    "secret": "secrets",
    "watch": "watch",
    "registry": "registry",
    "team": "team",
    "metrics": "metrics",
}


# Commands that open the ledger before anything else: in team mode its login starts in the
# background while the command's module loads (engine/ledger_source.open_ledger_soon).
OPEN_THE_LEDGER = frozenset(
    {"run", "runs", "logs", "status", "approve", "reject", "rollback", "unpin", "promote",
     "audit", "watch", "metrics"}
)  # fmt: skip
# Of those, the commands that only read (unless they settle what a crash left in flight):
# in team mode they read through the light client, without importing psycopg.
ONLY_READ_THE_LEDGER = frozenset({"status", "runs"})


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for argv's command alone (every command when argv names none)."""
    parser = argparse.ArgumentParser(
        prog="dockyard",
        description="Build, test, deliver and deploy Docker images from git repositories. "
        "Without a command, opens the window.",
    )
    parser.add_argument("--version", "-V", action="version", version=version_line())
    parser.add_argument("--verbose", "-v", action="store_true", help="log details on stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    command = next((arg for arg in argv or [] if not arg.startswith("-")), None)
    if command in COMMAND_MODULES:
        names = [COMMAND_MODULES[command]]
    else:  # help, or a command argparse will refuse with the list of commands
        names = list(dict.fromkeys(COMMAND_MODULES.values()))
    for name in names:
        importlib.import_module(f"dockyard.cli.{name}").register(commands)
    return parser


def main(argv: list[str]) -> int:
    redact_standard_streams()  # every line printed passes the secret redactor
    _open_the_ledger_soon(argv)
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(name)s: %(message)s",
        stream=sys.stderr,
    )
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except DockyardError as exc:
        print(f"dockyard: {exc.message}", file=sys.stderr)
        if args.verbose and exc.details:
            print(exc.details, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("dockyard: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:
        from dockyard.store.failures import store_failure

        failure = store_failure(exc)
        if failure is not None:  # a full disk or a damaged database: one sentence, exit 3
            print(f"dockyard: {failure.message}", file=sys.stderr)
            return failure.exit_code
        log.debug("unexpected error", exc_info=True)
        print(
            f"dockyard: unexpected error: {exc}; run with --verbose for details and report it.",
            file=sys.stderr,
        )
        if args.verbose or os.environ.get("DOCKYARD_DEBUG"):
            import traceback

            traceback.print_exc()
        return 1


def _open_the_ledger_soon(argv: list[str]) -> None:
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command not in OPEN_THE_LEDGER or {"-h", "--help"} & set(argv):
        return
    from dockyard.engine.home import dockyard_home
    from dockyard.engine.ledger_source import open_ledger_soon

    with contextlib.suppress(DockyardError, OSError, ImportError):  # said when it opens it
        open_ledger_soon(dockyard_home(), light_reads=command in ONLY_READ_THE_LEDGER)
