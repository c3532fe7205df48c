"""``dockyard status`` and ``runs`` read the team ledger through the light client
(store/pg_wire.py) and never import psycopg: the same output as psycopg's for the same
ledger, the same sentences for a refused login and a server that is down, TLS with
``verify-full``, and psycopg for what a command writes. The suite's PostgreSQL server
(and one with TLS of its own), the real keyring and command."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from benchmarks.scale import commit_pipeline
from dockyard.core.errors import DockyardError, LedgerUnreachable, UserInputError
from dockyard.core.model import utcnow
from dockyard.engine import keyring_store
from dockyard.engine.team import open_team_ledger, open_team_reader, parse_server
from dockyard.store import team as team_schema
from dockyard.store.database import open_database
from dockyard.store.pg import PgDatabase
from dockyard.store.pg_reading import PgReadingDatabase
from dockyard.store.pg_wire import Unsupported, WireError, WireSession, settings_for
from dockyard.store.repositories import RepositoryStore
from integration.remote.pki import CertificateAuthority
from testbed.cli import modules_imported_by, run_dockyard
from testbed.history import add_runs, copy_to_team, make_history_repo, record_history
from testbed.postgres import PostgresServer, start_postgres
from testbed.teamdb import TeamDatabase

pytestmark = [pytest.mark.postgres, pytest.mark.keyring]

PIN_REASON = "Zmrazeno do auditu — čeká na Ünïcode 🚢"


def _command_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "DOCKYARD_HOME": str(home), "DOCKER_HOST": "unix:///nonexistent"}
    env.pop("DOCKYARD_USER", None)
    return env


def _through_psycopg(light: Path, home: Path) -> None:
    """``home``: ``light``'s login with a URL option the light client leaves to psycopg."""
    settings = json.loads((light / "team.json").read_text())
    home.mkdir()
    (home / "team.json").write_text(json.dumps({"url": settings["url"] + " keepalives=1"}))


@pytest.fixture
def released(tmp_path: Path, team: TeamDatabase) -> str:
    """A repository with weeks of releases, approvals, rollbacks and a pin in the team
    ledger (rows written as the history has them, identity rules off)."""
    clone = tmp_path / "shop"
    releases = make_history_repo(clone, utcnow(), 12, 20)
    head = commit_pipeline(clone)
    subprocess.run(["git", "-C", str(clone), "remote", "add", "origin", str(clone)], check=True)
    local = open_database(tmp_path / "local")
    RepositoryStore(local).add(str(clone))
    record_history(local, str(clone), releases)
    add_runs(local, str(clone), 40, head)
    with team.admin() as owner:
        copy_to_team(local, owner)
        owner.execute("SET session_replication_role = replica")
        owner.execute(
            "INSERT INTO dockyard.pins (repo, environment, pinned_by, reason, since)"
            " VALUES (%s, 'production', %s, %s, '2025-03-30T01:30:00+01:00')",
            (str(clone), team.release_manager, PIN_REASON),
        )
    local.close()
    return str(clone)


def test_status_reads_the_same_through_either_client_and_only_psycopgs_imports_it(
    tmp_path: Path, team: TeamDatabase, released: str
) -> None:
    light, heavy = tmp_path / "light", tmp_path / "heavy"
    team.connect_home(light, team.developer)
    _through_psycopg(light, heavy)
    said = {}
    for home in (light, heavy):
        code, printed, modules = modules_imported_by(_command_env(home), "status", released)
        assert code == 0, printed
        said[home] = printed, "psycopg" in modules
        code, printed, modules = modules_imported_by(
            _command_env(home), "status", released, "--json"
        )
        assert code == 0, printed
        said[home] += (json.loads(printed),)
    assert said[light][1] is False and said[heavy][1] is True  # the import graph
    assert said[light][0] == said[heavy][0]  # the text, line for line
    assert said[light][2] == said[heavy][2]  # the JSON
    production = next(e for e in said[light][2]["environments"] if e["name"] == "production")
    assert production["pin"]["reason"] == PIN_REASON
    assert production["release"]["deployed_by"]  # rows with NULLs (finished, error) and not
    assert f"PINNED by {team.release_manager}: {PIN_REASON}" in said[light][0]


def test_the_light_client_reads_values_as_psycopg_does(team: TeamDatabase) -> None:
    query = (
        "SELECT ?::text AS said, NULL::text AS nothing, NULL::int8 AS no_number,"
        " 42::int8 AS big, -7::int2 AS small, 2147483648 AS huge, ? AS echoed_number,"
        " true AS yes, false AS no, 1.5::float8 AS half, 'žluťoučký kůň 🚢'::text AS horse,"
        " '2025-03-30 01:30:00+01'::timestamptz AS at, '2025-03-30 01:30:00'::timestamp AS wall,"
        " session_user AS who, 'x'::name AS named, ?::text IS NULL AS null_parameter"
    )
    parameters = ("ünï ✓ '; DROP TABLE x; --", 2**40, None)
    wire = team.server.wire_session(team.name)({"TimeZone": "Asia/Kolkata"})
    try:
        row = wire.execute(query, parameters).fetchone()
        assert row is not None
        with psycopg.connect(
            team.server.dsn(dbname=team.name, options="-c TimeZone=Asia/Kolkata")
        ) as pg:
            expected = pg.execute(query.replace("?", "%s"), parameters).fetchone()
        assert tuple(row) == expected
        assert [type(v) for v in row] == [type(v) for v in expected]
        assert row["at"].isoformat() == expected[11].isoformat() == "2025-03-30T06:00:00+05:30"
        assert row["said"] == parameters[0] and row["null_parameter"] is True
    finally:
        wire.close()


def test_what_the_light_client_does_not_read_psycopg_reads(
    tmp_path: Path, team: TeamDatabase
) -> None:
    team.connect_home(tmp_path, team.developer)
    ledger = open_team_reader(tmp_path)
    try:
        assert isinstance(ledger, PgReadingDatabase)
        wire = team.server.wire_session(team.name)({})
        with pytest.raises(Unsupported):
            wire.execute("SELECT 1.5::numeric")
        assert wire.execute("SELECT 1").fetchone()[0] == 1  # still in step with the server
        wire.close()
        row = ledger.connect().execute("SELECT 1.5::numeric, '{\"a\": 1}'::jsonb").fetchone()
        assert tuple(row) == (Decimal("1.5"), {"a": 1})  # psycopg's types
    finally:
        ledger.close()


def test_a_run_left_running_is_settled_through_psycopg_and_its_sessions_are_named(
    tmp_path: Path, team: TeamDatabase
) -> None:
    repo = "https://git.example.test/shop.git"
    team.connect_home(tmp_path, team.developer)
    with team.admin() as owner:  # a run whose process (on this host) is gone
        owner.execute(
            "INSERT INTO dockyard.runs (id, repo, ref, status, created, owner_host, owner_pid,"
            " owner_started) VALUES ('r1', %s, 'main', 'running', %s, %s, 999999, 'gone')",
            (repo, utcnow().isoformat(), os.uname().nodename),
        )
    ledger = open_team_reader(tmp_path)
    try:
        with team.admin() as admin:
            named = admin.execute(
                "SELECT application_name FROM pg_stat_activity WHERE datname = %s AND usename = %s",
                (team.name, team.developer),
            ).fetchall()
        assert named == [("dockyard",)]  # the light client's session names itself
    finally:
        ledger.close()
    code, printed, modules = modules_imported_by(_command_env(tmp_path), "runs", repo, "--json")
    assert code == 0, printed
    assert [run["status"] for run in json.loads(printed)] == ["interrupted"]
    assert "psycopg" in modules  # the write went through psycopg


def _refusals(home: Path) -> tuple[DockyardError, DockyardError]:
    """What opening ``home``'s ledger says through the light client and through psycopg."""
    refused = []
    for opening in (open_team_reader, open_team_ledger):
        with pytest.raises(DockyardError) as caught:
            opening(home).close()
        refused.append(caught.value)
    return refused[0], refused[1]


def test_a_changed_password_and_a_server_that_is_down_read_as_with_psycopg(
    tmp_path: Path, team: TeamDatabase
) -> None:
    team.connect_home(tmp_path, team.developer)
    with team.admin() as admin:
        admin.execute(f"ALTER ROLE {team.developer} PASSWORD 'changed-meanwhile'")
    light, heavy = _refusals(tmp_path)
    assert isinstance(light, UserInputError) and "refused the login" in light.message
    assert light.message == heavy.message
    refused = run_dockyard(tmp_path, "status", "https://git.example.test/shop.git", user=None)
    assert refused.returncode == 2 and refused.stderr == f"dockyard: {light.message}\n"

    settings = json.loads((tmp_path / "team.json").read_text())
    settings["url"] = settings["url"].replace(f"port={team.server.port}", "port=1")
    (tmp_path / "team.json").write_text(json.dumps(settings))
    light, heavy = _refusals(tmp_path)
    assert isinstance(light, LedgerUnreachable) and "Connection refused" in light.message
    assert light.message == heavy.message


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PostgresServer, Path]]:
    """A PostgreSQL server of its own that speaks TLS, its certificate for ``localhost``
    issued by the CA whose file is returned."""
    folder = tmp_path_factory.mktemp("pg-tls")
    ca = CertificateAuthority(folder, "team")
    issued = ca.issue("pg", server_names=("localhost",))
    server = start_postgres()
    try:
        postgres = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        for path in (issued.cert, issued.key):
            target = server.root / path.name
            target.write_bytes(path.read_bytes())
            target.chmod(0o600)
            if postgres is not None:
                os.chown(target, postgres.pw_uid, postgres.pw_gid)
        with psycopg.connect(server.dsn(), autocommit=True) as admin:
            admin.execute(f"ALTER SYSTEM SET ssl_cert_file = '{server.root / issued.cert.name}'")
            admin.execute(f"ALTER SYSTEM SET ssl_key_file = '{server.root / issued.key.name}'")
            admin.execute("ALTER SYSTEM SET ssl = on")
            admin.execute("SELECT pg_reload_conf()")
            team_schema.init_schema(admin)
        yield server, ca.path
    finally:
        server.stop()


def _tls_home(home: Path, server: PostgresServer, ca: Path, host: str = "localhost") -> Path:
    url = (
        f"postgresql://{server.superuser}@{host}:{server.port}/postgres"
        f"?sslmode=verify-full&sslrootcert={ca}"
    )
    saved, _ = parse_server(url)
    home.mkdir(parents=True)
    (home / "team.json").write_text(json.dumps({"url": saved.url}))
    keyring_store.write(keyring_store.TEAM, saved.keyring_key, server.password)
    return home


def test_verify_full_through_the_light_client(
    tmp_path: Path, tls_server: tuple[PostgresServer, Path]
) -> None:
    server, ca = tls_server
    ledger = open_team_reader(_tls_home(tmp_path / "trusted", server, ca))
    try:
        assert isinstance(ledger, PgReadingDatabase)
        row = (
            ledger.connect()
            .execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetchone()
        )
        assert row is not None and row["ssl"] is True and row["version"].startswith("TLS")
    finally:
        ledger.close()
    params = {"host": "localhost", "port": server.port, "user": server.superuser,
              "dbname": "postgres", "sslmode": "verify-full", "sslrootcert": str(ca)}  # fmt: skip
    for sslmode in ("verify-full", "prefer"):  # prefer (libpq's default): TLS, unverified
        session = WireSession(settings_for({**params, "sslmode": sslmode}, server.password), {})
        try:
            assert session.mechanism == "SCRAM-SHA-256-PLUS"  # the login is bound to the TLS
            row = session.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            assert tuple(row.fetchone()) == (True,)
        finally:
            session.close()

    other_ca = CertificateAuthority(tmp_path, "other").path
    for home in (
        _tls_home(tmp_path / "other-ca", server, other_ca),  # a server this CA did not sign
        _tls_home(tmp_path / "other-name", server, ca, host="127.0.0.1"),  # not its name
    ):
        light, heavy = _refusals(home)
        assert type(light) is type(heavy) is UserInputError
        assert "refused the login" in light.message and "certificate" in light.message


def test_a_server_without_tls_is_refused_when_verify_full_is_asked(
    team: TeamDatabase, tmp_path: Path
) -> None:
    params = {"host": "localhost", "port": team.server.port, "user": team.developer,
              "dbname": team.name, "sslmode": "verify-full",
              "sslrootcert": str(tmp_path)}  # fmt: skip
    with pytest.raises(WireError, match="does not support SSL"):
        WireSession(settings_for(params, team.password(team.developer)), {})


def test_the_light_ledger_reads_what_its_own_transaction_wrote(team: TeamDatabase) -> None:
    label = f"{team.server.superuser}@{team.name}"

    def full() -> PgDatabase:
        return PgDatabase(
            lambda **naming: psycopg.connect(team.server.dsn(dbname=team.name), **naming), label
        )

    ledger = PgReadingDatabase(team.server.wire_session(team.name), full, label)
    try:
        with ledger.transaction() as writing:
            writing.execute("INSERT INTO meta (key, value) VALUES ('probe', ?)", ("written",))
            seen = ledger.connect().execute("SELECT value FROM meta WHERE key = 'probe'")
            assert seen.fetchone()[0] == "written"  # not yet committed: the same session
        stamp = ledger.connect().execute("SELECT now() AS at").fetchone()["at"]
        assert isinstance(stamp, datetime) and stamp.tzinfo is not None
    finally:
        ledger.close()
