"""``dockyard team import``: a local history moves into the team ledger once, with its
original names kept and visibly imported; members cannot use the import to forge names;
the local ledger is untouched. Real PostgreSQL, git and keyring; the CLI as users run it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dockyard.core.model import utcnow
from dockyard.store import team
from dockyard.store.audit import AuditLog
from dockyard.store.database import open_database
from dockyard.store.logs import stage_log_path
from dockyard.store.repositories import RepositoryStore
from testbed.cli import run_dockyard
from testbed.history import make_history_repo, record_history
from testbed.postgres import PostgresServer
from testbed.teamdb import TeamDatabase, team_database

pytestmark = [pytest.mark.postgres, pytest.mark.keyring]


@pytest.fixture
def team_db(postgres_server: PostgresServer) -> Iterator[TeamDatabase]:
    with team_database(postgres_server) as made:
        admin = f"admin_{made.name}"
        with made.admin() as owner:
            team.add_member(owner, admin, made.password(admin), admin=True)
        try:
            yield made
        finally:
            with psycopg.connect(postgres_server.dsn(), autocommit=True) as su:
                su.execute(f"DROP DATABASE IF EXISTS {made.name} WITH (FORCE)")
                su.execute(f"DROP ROLE IF EXISTS {admin}")


def _local_history(home: Path, repo_path: Path) -> dict[str, int]:
    """A small history of ``repo_path`` in ``home``'s local ledger, with a stage log and
    audit entries by the person who worked alone."""
    releases = make_history_repo(repo_path, utcnow(), 6, 10)
    subprocess.run(
        ["git", "-C", str(repo_path), "remote", "add", "origin", "https://git.example.test/shop.git"],
        check=True,
    )  # fmt: skip
    db = open_database(home)
    RepositoryStore(db).add(str(repo_path))
    deployments = record_history(db, str(repo_path), releases)
    connection = db.connect()
    run_id = connection.execute("SELECT id FROM runs ORDER BY created LIMIT 1").fetchone()[0]
    connection.execute(
        "INSERT INTO stages (run_id, position, name, status) VALUES (?, 0, 'build', 'succeeded')",
        (run_id,),
    )
    log = stage_log_path(home, run_id, "build")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("Step 1/2 : FROM busybox:stable\nbuilt\n")
    audit = AuditLog(db)
    audit.append("deploy", actor="solo@example.test", repo=str(repo_path), environment="staging")
    audit.append(
        "approve", actor="solo@example.test", repo=str(repo_path), environment="production"
    )
    runs = connection.execute("SELECT count(*) FROM runs").fetchone()[0]
    db.close()
    return {"runs": runs, "deployments": deployments, "run_with_log": run_id}  # type: ignore[dict-item]


def test_import_once_keeps_names_marks_them_imported_and_leaves_the_local_ledger(
    tmp_path: Path, team_db: TeamDatabase
) -> None:
    home = tmp_path / "home"
    made = _local_history(home, tmp_path / "shop")
    admin = f"admin_{team_db.name}"

    # A member who is not a team admin cannot import (and so cannot forge names with it).
    dev_home = tmp_path / "dev-home"
    team_db.connect_home(dev_home, team_db.developer)
    (dev_home / "dockyard.db").unlink(missing_ok=True)
    _copy_ledger(home, dev_home)
    refused = run_dockyard(dev_home, "team", "import")
    assert refused.returncode == 2, refused.stderr
    assert "is not a team admin" in refused.stderr and "Traceback" not in refused.stderr
    member_dsn = team_db.server.dsn(
        user=team_db.developer, password=team_db.password(team_db.developer), dbname=team_db.name
    )
    with (
        psycopg.connect(member_dsn) as member,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        member.execute("SELECT dockyard.import_rows('runs', '[]', '{}')")

    team_db.connect_home(home, admin)
    imported = run_dockyard(home, "team", "import")
    assert imported.returncode == 0, imported.stderr
    assert f"{made['runs']} runs" in imported.stdout
    assert "2 audit entries appended as imported" in imported.stdout

    again = run_dockyard(home, "team", "import")
    assert again.returncode == 2
    assert "already holds an imported history" in again.stderr

    with team_db.admin() as owner:
        repos = owner.execute("SELECT location FROM dockyard.repositories").fetchall()
        assert repos == [("https://git.example.test/shop.git",)]  # known by its origin
        deployed_by = owner.execute(
            "SELECT DISTINCT deployed_by FROM dockyard.deployments"
        ).fetchall()
        assert deployed_by == [("dev@example.test",)]  # the original name, kept
        count = owner.execute("SELECT count(*) FROM dockyard.deployments").fetchone()
        assert count == (made["deployments"],)
        listed = owner.execute(
            "SELECT table_name, count(*) FROM dockyard.imported GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert ("runs", made["runs"]) in listed and ("deployments", made["deployments"]) in listed
        entries = owner.execute(
            "SELECT action, actor, details FROM dockyard.audit ORDER BY seq"
        ).fetchall()
    # Audit entries are the server's, by the admin who imported, marked with the original.
    assert [e[0] for e in entries] == ["deploy", "approve", "team-import"]
    assert all(actor == admin for _a, actor, _d in entries)
    first = json.loads(entries[0][2])
    assert first["imported"] is True and first["original_actor"] == "solo@example.test"
    assert first["original_seq"] == 1 and first["original_at"]

    # Another member reads the imported history and its log; the chain verifies.
    rm_home = tmp_path / "rm-home"
    team_db.connect_home(rm_home, team_db.release_manager)
    runs = run_dockyard(rm_home, "runs", "https://git.example.test/shop.git", "--json")
    assert runs.returncode == 0, runs.stderr
    assert len(json.loads(runs.stdout)) == made["runs"]
    log = run_dockyard(rm_home, "logs", str(made["run_with_log"]), "--stage", "build")
    assert log.returncode == 0, log.stderr
    assert "built" in log.stdout
    verified = run_dockyard(rm_home, "audit", "verify")
    assert verified.returncode == 0, verified.stderr

    # The local ledger is untouched.
    local = open_database(home)
    try:
        assert local.connect().execute("SELECT count(*) FROM runs").fetchone()[0] == made["runs"]
    finally:
        local.close()


def _copy_ledger(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    src = open_database(source)
    try:
        src.connect().execute(f"VACUUM INTO '{target / 'dockyard.db'}'")
    finally:
        src.close()
