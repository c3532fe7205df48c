"""A ledger command in team mode logs in while its own module loads (issue 10): one login
serves the whole command, and every refusal of that early login is still one sentence
with its exit code — a down server, a changed password, a schema this Dockyard does not
know. The suite's PostgreSQL server and keyring, the real command."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.store.team import NEWEST
from testbed.cli import modules_imported_by, run_dockyard
from testbed.teamdb import TeamDatabase

pytestmark = [pytest.mark.postgres, pytest.mark.keyring]

REPO = "https://git.example.test/shop.git"  # a URL is its own key: no clone needed


def _logins_of(command: Callable[[], object], team: TeamDatabase) -> int:
    """How many sessions ``command`` opened on the team database, counted by the server
    (each when it ends) from a session of the test's own that stays open meanwhile."""
    with team.admin() as watching:

        def ended() -> int:
            for _ in range(100):
                row = watching.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchone()
                if row is not None and row[0] == 0:
                    counted = watching.execute(
                        "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
                    ).fetchone()
                    assert counted is not None
                    return int(counted[0])
                time.sleep(0.05)
            raise AssertionError("sessions are still open on the team database")

        before = ended()
        command()
        return ended() - before


def test_status_logs_in_once(tmp_path: Path, team: TeamDatabase) -> None:
    home = tmp_path / "dev"
    team.connect_home(home, team.developer)
    done: list[subprocess.CompletedProcess[str]] = []
    logins = _logins_of(lambda: done.append(run_dockyard(home, "status", REPO, user=None)), team)
    assert done[0].returncode == 0, done[0].stderr
    assert REPO in done[0].stdout
    # The login that checked the schema, on a thread of its own, serves the reads too.
    assert logins == 1


@pytest.mark.parametrize("command", ["status", "runs"])
def test_a_reading_command_loads_no_psycopg_keyring_library_cipher_or_package_metadata(
    tmp_path: Path, team: TeamDatabase, command: str
) -> None:
    # The password is read over D-Bus alone, the ledger through the light client
    # (store/pg_wire.py): each of them cost every such command 10-75 ms.
    home = tmp_path / "dev"
    team.connect_home(home, team.developer)
    env = {**os.environ, "DOCKYARD_HOME": str(home)}
    env.pop("DOCKYARD_USER", None)
    code, printed, modules = modules_imported_by(env, command, REPO, "--json")
    assert code == 0 and printed.strip().startswith(("{", "[")), printed
    assert "dockyard.store.pg_wire" in modules  # the team ledger was read
    loaded = modules | {name.split(".")[0] for name in modules}
    unwanted = {"psycopg", "keyring", "secretstorage", "cryptography", "importlib.metadata"}
    assert not unwanted & loaded, unwanted & loaded
    if command == "status":
        assert json.loads(printed)["repo"] == REPO


def test_a_writing_command_imports_psycopg_while_its_module_loads(
    tmp_path: Path, team: TeamDatabase
) -> None:
    home = tmp_path / "dev"
    team.connect_home(home, team.developer)
    env = {**os.environ, "DOCKYARD_HOME": str(home)}
    env.pop("DOCKYARD_USER", None)
    code, printed, modules = modules_imported_by(env, "unpin", REPO, "production")
    assert code == 2, printed  # nothing pinned there
    assert "psycopg" in modules


def test_the_early_login_refused_is_said_once(tmp_path: Path, team: TeamDatabase) -> None:
    home = tmp_path / "dev"
    team.connect_home(home, team.developer)
    with team.admin() as admin:  # the password changed since this home connected
        admin.execute(f"ALTER ROLE {team.developer} PASSWORD 'changed-meanwhile'")
    refused = run_dockyard(home, "status", REPO, user=None)
    assert refused.returncode == 2, refused.stderr
    assert "refused the login" in refused.stderr
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr


def test_an_old_schema_is_said_before_any_read(tmp_path: Path, team: TeamDatabase) -> None:
    home = tmp_path / "dev"
    team.connect_home(home, team.developer)
    with team.admin() as admin:
        admin.execute(
            "UPDATE dockyard.meta SET value = %s WHERE key = 'schema_version'", (str(NEWEST - 1),)
        )
    old = run_dockyard(home, "runs", REPO, user=None)
    assert old.returncode == 2, old.stderr
    assert f"schema is version {NEWEST - 1}; this Dockyard needs {NEWEST}" in old.stderr
    assert old.stderr.count("\n") == 1 and "Traceback" not in old.stderr


def test_a_server_that_went_away_is_exit_3_in_one_sentence(
    tmp_path: Path, team: TeamDatabase
) -> None:
    home = tmp_path / "dev"
    team.connect_home(home, team.developer)
    settings = json.loads((home / "team.json").read_text())
    port = f"port={team.server.port}"
    assert port in settings["url"]
    settings["url"] = settings["url"].replace(port, "port=1")  # nothing listens there
    (home / "team.json").write_text(json.dumps(settings))
    away = run_dockyard(home, "status", REPO, user=None)
    assert away.returncode == 3, away.stderr
    assert "is unreachable" in away.stderr
    assert away.stderr.count("\n") == 1 and "Traceback" not in away.stderr
