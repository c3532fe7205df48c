"""Writes dockyard(1) in roff from the CLI's own argparse help, so the two never disagree.

Usage: python packaging/manpage.py OUTPUT VERSION
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

from dockyard.cli import build_parser

ENVIRONMENT = {
    "DOCKYARD_HOME": "Where the database, run logs and settings live (default: "
    "~/.local/share/dockyard). Remove it to forget everything Dockyard recorded.",
    "DOCKYARD_USER": "The identity recorded for approvals and rollbacks "
    "(default: git's user.email, else the login name).",
    "DOCKER_HOST": "The local Docker endpoint, as for the docker command.",
}
EXIT_STATUS = {
    "0": "success",
    "1": "a pipeline or deployment failed",
    "2": "bad input, or refused (for example an approval by the requester)",
    "3": "infrastructure unreachable (Docker daemon, registry, keyring)",
}


def roff(text: str) -> str:
    """Escapes text for roff: backslashes, and a leading dot or quote on a line."""
    lines = text.replace("\\", "\\e").replace("-", "\\-").splitlines()
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line for line in lines)


def commands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    for action in parser._actions:  # argparse has no public accessor for subcommands
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            return [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]
    return []


def manpage(version: str, date: datetime.date) -> str:
    parser = build_parser()
    out = [
        f'.TH DOCKYARD 1 "{date.isoformat()}" "Dockyard {version}" "User Commands"',
        ".SH NAME",
        "dockyard \\- build, test, deliver and deploy Docker images from git repositories",
        ".SH SYNOPSIS",
        ".B dockyard",
        ".br",
        ".B dockyard",
        "\\fICOMMAND\\fR [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        roff(parser.description or ""),
        ".PP",
        "The window and the commands share one engine and one store: a run started in a "
        "terminal shows in the window, an approval given in the window unblocks a command.",
        ".SH OPTIONS",
    ]
    for action in parser._actions:
        if action.option_strings and not isinstance(action, argparse._SubParsersAction):
            out += [".TP", "\\fB" + roff(", ".join(action.option_strings)) + "\\fR"]
            out.append(roff(action.help or ""))
    out.append(".SH COMMANDS")
    for name, summary, sub in commands(parser):
        usage = sub.format_usage().removeprefix("usage: ").strip()
        out += [".SS " + roff(name), roff(summary[:1].upper() + summary[1:]) + ".", ".PP"]
        out += [".nf", roff(usage), ".fi"]
        nested = commands(sub)
        for _, nested_summary, nested_parser in nested:
            nested_usage = nested_parser.format_usage().removeprefix("usage: ").strip()
            out += [".TP", "\\fB" + roff(nested_usage) + "\\fR", roff(nested_summary)]
    out.append(".SH ENVIRONMENT")
    for variable, text in ENVIRONMENT.items():
        out += [".TP", f"\\fB{roff(variable)}\\fR", roff(text)]
    out.append(".SH EXIT STATUS")
    for code, text in EXIT_STATUS.items():
        out += [".TP", code, roff(text)]
    out += [
        ".SH FILES",
        ".TP",
        "\\fI/usr/share/doc/dockyard/\\fR",
        "The README: pipelines (dockyard.yml), environments, approvals and rollback.",
        ".SH SEE ALSO",
        "\\fBdocker\\fR(1), \\fBgit\\fR(1)",
    ]
    return "\n".join(out) + "\n"


def main() -> int:
    output, version = Path(sys.argv[1]), sys.argv[2]
    # reproducible builds: the date of the last commit when the build gives one
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = datetime.datetime.now(datetime.UTC)
    date = datetime.datetime.fromtimestamp(int(epoch), datetime.UTC) if epoch else now
    output.write_text(manpage(version, date.date()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
