"""``dockyard team``: connect, init, members, protect, status — the real command against the
suite's PostgreSQL server, passwords through the real keyring."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from testbed.cli import run_dockyard
from testbed.postgres import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.keyring]


@pytest.fixture
def team_database(postgres_server: PostgresServer) -> Iterator[str]:
    name = f"cli_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    yield name
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as connection:
        connection.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _url(server: PostgresServer, database: str, user: str | None = None) -> str:
    return server.url(user=user, database=database)


def test_a_team_is_set_up_from_the_command_line(
    tmp_path: Path, postgres_server: PostgresServer, team_database: str
) -> None:
    admin_home = tmp_path / "admin"
    url = _url(postgres_server, team_database)
    joined = run_dockyard(admin_home, "team", "connect", url, stdin=postgres_server.password)
    assert joined.returncode == 0, joined.stderr
    assert "dockyard team init" in joined.stdout  # the schema is missing: say what to do

    for _ in range(2):  # idempotent
        init = run_dockyard(admin_home, "team", "init")
        assert init.returncode == 0, init.stderr
    assert "up to date" in init.stdout

    bob = f"bob_{team_database}"
    added = run_dockyard(
        admin_home, "team", "member", "add", bob, "--approve", "production", stdin="pw-bob"
    )
    assert added.returncode == 0, added.stderr
    protected = run_dockyard(admin_home, "team", "protect", "production", "--required", "1")
    assert protected.returncode == 0, protected.stderr

    listed = run_dockyard(admin_home, "team", "member", "list", "--json")
    assert {"name": bob, "admin": False, "approves": ["production"]} in json.loads(listed.stdout)

    bob_home = tmp_path / "bob"
    bob_url = _url(postgres_server, team_database, user=bob)
    assert run_dockyard(bob_home, "team", "connect", bob_url, stdin="pw-bob").returncode == 0
    # The password is in the keyring now: status logs in without it.
    status = run_dockyard(bob_home, "team", "status", "--json", user="someone@else")
    assert status.returncode == 0, status.stderr
    reported = json.loads(status.stdout)
    assert reported["me"] == bob  # the server's word, not DOCKYARD_USER
    assert reported["approves"] == ["production"]
    assert reported["reachable"] is True

    # Bob is no admin: the server refuses him adding members.
    refused = run_dockyard(bob_home, "team", "member", "add", "eve_x", stdin="pw")
    assert refused.returncode == 2
    assert "team admin" in refused.stderr
    assert "Traceback" not in refused.stderr

    removed = run_dockyard(admin_home, "team", "member", "remove", bob)
    assert removed.returncode == 0, removed.stderr
    assert run_dockyard(bob_home, "team", "disconnect").returncode == 0
    assert not (bob_home / "team.json").exists()


def test_a_wrong_password_is_exit_2_and_an_unreachable_server_exit_3(
    tmp_path: Path, postgres_server: PostgresServer, team_database: str
) -> None:
    url = _url(postgres_server, team_database)
    wrong = run_dockyard(tmp_path, "team", "connect", url, stdin="not the password")
    assert wrong.returncode == 2
    assert "refused the login" in wrong.stderr
    assert not (tmp_path / "team.json").exists()

    closed = postgres_server.url(database=team_database).replace(f":{postgres_server.port}/", ":1/")
    unreachable = run_dockyard(tmp_path, "team", "connect", closed, stdin="x")
    assert unreachable.returncode == 3
    assert "unreachable" in unreachable.stderr
    assert len(unreachable.stderr.strip().splitlines()) == 1


def test_a_server_on_another_machine_needs_verified_tls(tmp_path: Path) -> None:
    # Refused before any connection is tried: no traffic leaves this machine.
    plain = run_dockyard(
        tmp_path, "team", "connect", "postgresql://bob@db.example.test/dockyard", stdin="pw"
    )
    assert plain.returncode == 2
    assert "sslmode=verify-full" in plain.stderr


def test_endpoints_stay_with_the_machine_in_team_mode(
    tmp_path: Path, postgres_server: PostgresServer, team_database: str
) -> None:
    home = tmp_path / "dev"
    url = _url(postgres_server, team_database)
    assert (
        run_dockyard(home, "team", "connect", url, stdin=postgres_server.password).returncode == 0
    )
    assert run_dockyard(home, "team", "init").returncode == 0
    added = run_dockyard(home, "hosts", "add", "edge", "ssh://ops@127.0.0.1:1")
    assert added.returncode == 0, added.stderr
    assert "edge\tssh://ops@127.0.0.1:1" in run_dockyard(home, "hosts", "list").stdout

    # Another machine of the same team does not see this machine's daemons.
    other = tmp_path / "other"
    assert (
        run_dockyard(other, "team", "connect", url, stdin=postgres_server.password).returncode == 0
    )
    assert "edge" not in run_dockyard(other, "hosts", "list").stdout
    assert run_dockyard(home, "team", "disconnect").returncode == 0
    assert "edge" in run_dockyard(home, "hosts", "list").stdout
