"""The command line starts at once: a command imports only what it needs.

``dockyard --version`` and ``dockyard runs`` must not import Docker's SDK, GitPython,
requests, ruamel or Qt (each costs 0.1-0.3 s before any work). ``status`` is not held to
this: it reads dockyard.yml through git and asks each environment's daemon for drift.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from dockyard.cli import COMMAND_MODULES, build_parser

HEAVY = ("docker", "git", "requests", "ruamel", "PySide6", "keyring", "psycopg")

_PROBE = """
import json, sys
from dockyard.__main__ import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _imported(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    env = {**os.environ, "DOCKYARD_HOME": str(tmp_path / "home"), "DOCKYARD_USER": "t@x"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.splitlines()[-1])
    return result["code"], {name.split(".")[0] for name in result["modules"]}


def test_version_imports_nothing_heavy(tmp_path: Path) -> None:
    code, roots = _imported(tmp_path, "--version")
    assert code == 0
    assert roots.isdisjoint(HEAVY), roots & set(HEAVY)


def test_runs_imports_nothing_heavy(tmp_path: Path) -> None:
    code, roots = _imported(tmp_path, "runs", str(tmp_path))
    assert code == 0
    assert roots.isdisjoint(HEAVY), roots & set(HEAVY)


def test_the_dispatch_table_names_every_command() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) == set(COMMAND_MODULES)


def test_a_command_gets_its_own_options_only_from_its_module() -> None:
    args = build_parser(["runs", "REPO", "--limit", "3"]).parse_args(
        ["runs", "REPO", "--limit", "3"]
    )
    assert (args.command, args.repo, args.limit) == ("runs", "REPO", 3)
