"""The command line starts at once: a command imports only what it needs.

``dockyard --version`` and ``dockyard runs`` must not import Docker's SDK, GitPython,
requests, ruamel or Qt (each costs 0.1-0.3 s before any work). ``status`` parses
dockyard.yml (ruamel) and asks each environment's daemon for drift, a local one through
its socket without Docker's SDK (tests/integration/test_status_reader.py asks a real
one); it reads a commit's dockyard.yml through GitPython only once
(engine/pipelinecache.py) and never imports the pipeline runner, the deployers, the
release service (deployments), Qt or team mode's PostgreSQL client. ``run`` loads its
modules without Docker's SDK, and on a local daemon never needs it
(tests/integration/test_cli_pipeline.py runs one; engine/pipeline/sdkclient.py).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from dockyard.cli import COMMAND_MODULES, build_parser
from dockyard.core.model import Run, RunStatus, utcnow
from dockyard.store.database import open_database
from dockyard.store.repositories import RepositoryStore
from dockyard.store.runs import RunStore
from testbed.cli import modules_imported_by
from testbed.gitrepos import make_app_repo

HEAVY = ("docker", "git", "requests", "ruamel", "PySide6", "keyring", "psycopg")


def _loaded(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    env = env or {**os.environ, "DOCKYARD_HOME": str(tmp_path / "home"), "DOCKYARD_USER": "t@x"}
    code, _printed, modules = modules_imported_by(env, *args)
    return code, modules


def _imported(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    code, modules = _loaded(tmp_path, *args)
    return code, {name.split(".")[0] for name in modules}


def test_version_imports_nothing_heavy(tmp_path: Path) -> None:
    code, roots = _imported(tmp_path, "--version")
    assert code == 0
    assert roots.isdisjoint(HEAVY), roots & set(HEAVY)


def test_runs_imports_nothing_heavy(tmp_path: Path) -> None:
    code, roots = _imported(tmp_path, "runs", str(tmp_path))
    assert code == 0
    assert roots.isdisjoint(HEAVY), roots & set(HEAVY)


def test_run_loads_its_modules_without_docker_s_sdk(tmp_path: Path) -> None:
    # A folder that is no repository: the run fails at its checkout, before any build.
    code, _printed, modules = modules_imported_by(
        {**os.environ, "DOCKYARD_HOME": str(tmp_path / "home"), "DOCKYARD_USER": "t@x"},
        "run",
        str(tmp_path),
    )
    assert code == 2
    assert "dockyard.engine.pipeline.runner" in modules
    assert "dockyard.engine.pipeline.deliver" in modules
    roots = {name.split(".")[0] for name in modules}
    assert roots.isdisjoint({"docker", "requests", "urllib3", "PySide6", "psycopg"}), roots
    # the release service (its deployers use the SDK) only for a run with environments
    assert "dockyard.engine.release.service" not in modules


def test_status_reads_a_commit_through_git_once_and_never_imports_the_deployers_or_qt(
    tmp_path: Path,
) -> None:
    repo = make_app_repo(tmp_path / "app", dockyard_yml="environments:\n  staging: {}\n")
    home = tmp_path / "home"
    db = open_database(home)
    location = RepositoryStore(db).add(str(repo.path)).location
    now = utcnow()
    RunStore(db).create(
        Run("20250101T000000-000001", location, "main", repo.head, RunStatus.SUCCEEDED, now)
    )
    db.close()
    env = {**os.environ, "DOCKYARD_HOME": str(home), "DOCKER_HOST": "unix:///nonexistent.sock"}
    env.pop("DOCKYARD_USER", None)  # who acts comes from git's settings then, not GitPython
    first, _modules = _loaded(tmp_path, "status", str(repo.path), env=env)
    code, modules = _loaded(tmp_path, "status", str(repo.path), "--json", env=env)
    assert (first, code) == (0, 0)
    roots = {name.split(".")[0] for name in modules}
    assert roots.isdisjoint({"git", "gitdb", "PySide6", "psycopg"}), roots
    # a local socket is read without Docker's SDK, also when nothing listens there
    assert roots.isdisjoint({"docker", "requests", "urllib3"}), roots
    assert "dockyard.engine.deploy.deployers" not in modules
    assert "dockyard.engine.pipeline.runner" not in modules
    # status reads through the status helpers, not the release service that deploys
    assert "dockyard.engine.release.service" not in modules
    assert "dockyard.engine.release.deploying" not in modules
    assert "dockyard.engine.pipeline.teststage" not in modules  # recovery needs its name only


def test_a_command_closes_its_ledger_as_it_ends(tmp_path: Path) -> None:
    # The exit leaves the interpreter's last collections out (__main__): the ledger is
    # closed on purpose, and SQLite folds its write-ahead log back into the file.
    home = tmp_path / "home"
    db = open_database(home)
    RepositoryStore(db).add(str(tmp_path))
    db.close()
    code, _modules = _loaded(tmp_path, "runs", str(tmp_path))
    assert code == 0
    assert sorted(p.name for p in home.glob("dockyard.db*")) == ["dockyard.db"]


def test_the_dispatch_table_names_every_command() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) == set(COMMAND_MODULES)


def test_a_command_gets_its_own_options_only_from_its_module() -> None:
    args = build_parser(["runs", "REPO", "--limit", "3"]).parse_args(
        ["runs", "REPO", "--limit", "3"]
    )
    assert (args.command, args.repo, args.limit) == ("runs", "REPO", 3)
