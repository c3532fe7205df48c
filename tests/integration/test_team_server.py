"""What the team ledger's server enforces, whatever a client sends (issue 10).

Each test gets a database of its own on the suite's PostgreSQL server and members whose
names are unique to it (roles are cluster-wide). The statements are the ones a modified
client could send directly: the server must refuse or correct them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from dockyard.store import team
from dockyard.store.audit import team_chain_hash
from testbed.postgres import PostgresServer

pytestmark = pytest.mark.postgres

PASSWORD = "correct horse battery"


@dataclass
class TeamDb:
    server: PostgresServer
    name: str
    suffix: str

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.server.dsn(dbname=self.name), autocommit=True)

    def member(self, who: str) -> psycopg.Connection:
        return psycopg.connect(
            self.server.dsn(user=self.role(who), password=PASSWORD, dbname=self.name),
            autocommit=True,
        )

    def role(self, who: str) -> str:
        return f"{who}_{self.suffix}"


@pytest.fixture
def team_db(postgres_server: PostgresServer) -> Iterator[TeamDb]:
    suffix = uuid.uuid4().hex[:8]
    db = TeamDb(postgres_server, f"team_{suffix}", suffix)
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {db.name}")
    with db.admin() as connection:
        assert team.init_schema(connection) == (0, team.NEWEST)
        for who in ("alice", "bob", "carol"):
            team.add_member(connection, db.role(who), PASSWORD)
        team.protect(connection, "production", required=1)
        team.grant_approval(connection, db.role("bob"), "production")
        team.grant_approval(connection, db.role("alice"), "production")
    yield db
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as connection:
        connection.execute(f"DROP DATABASE {db.name} WITH (FORCE)")
        for who in ("alice", "bob", "carol"):
            connection.execute(f"DROP ROLE IF EXISTS {db.role(who)}")


def _request(connection: psycopg.Connection, *, claimed_by: str = "someone@else") -> int:
    row = connection.execute(
        "INSERT INTO dockyard.approval_requests (repo, environment, run_id, digest, image,"
        " config_fingerprint, requested_by, created, status)"
        " VALUES ('git@example.test:shop/web.git', 'production', 'run1', 'sha256:aa', 'img',"
        " 'fp1', %s, '2026-11-29T09:00:00.000000+00:00', 'approved') RETURNING id, requested_by,"
        " status",
        (claimed_by,),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _approve(connection: psycopg.Connection, request: int, claimed: str = "x") -> str:
    row = connection.execute(
        "INSERT INTO dockyard.approvals (request_id, approver, comment, at, digest,"
        " config_fingerprint) VALUES (%s, %s, 'ok', 'then', 'sha256:aa', 'fp1')"
        " RETURNING approver",
        (request, claimed),
    ).fetchone()
    assert row is not None
    return str(row[0])


def test_init_is_idempotent_and_a_second_run_changes_nothing(team_db: TeamDb) -> None:
    with team_db.admin() as connection:
        assert team.init_schema(connection) == (team.NEWEST, team.NEWEST)
        assert team.check_schema(connection) == team.NEWEST


def test_the_requester_is_who_the_server_says_not_what_the_client_sends(
    team_db: TeamDb,
) -> None:
    with team_db.member("alice") as alice:
        request = _request(alice, claimed_by=team_db.role("bob"))
        row = alice.execute(
            "SELECT requested_by, status FROM dockyard.approval_requests WHERE id = %s",
            (request,),
        ).fetchone()
    assert row == (team_db.role("alice"), "pending")


def test_the_requester_cannot_approve_a_protected_environment_even_with_a_forged_name(
    team_db: TeamDb,
) -> None:
    with team_db.member("alice") as alice:
        request = _request(alice)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="cannot approve"):
            _approve(alice, request, claimed=team_db.role("bob"))


def test_a_member_without_the_right_cannot_approve(team_db: TeamDb) -> None:
    with team_db.member("alice") as alice:
        request = _request(alice)
    refused = pytest.raises(psycopg.errors.InsufficientPrivilege, match="may not approve")
    with team_db.member("carol") as carol, refused:
        _approve(carol, request)


def test_an_approval_is_recorded_as_its_true_role_and_only_then_resolves_the_request(
    team_db: TeamDb,
) -> None:
    with team_db.member("alice") as alice:
        request = _request(alice)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="needs 1 approval"):
            alice.execute(
                "UPDATE dockyard.approval_requests SET status = 'approved' WHERE id = %s",
                (request,),
            )
    with team_db.member("bob") as bob:
        assert _approve(bob, request, claimed=team_db.role("carol")) == team_db.role("bob")
        bob.execute(
            "UPDATE dockyard.approval_requests SET status = 'approved', resolved_by = 'x'"
            " WHERE id = %s",
            (request,),
        )
        row = bob.execute(
            "SELECT status, resolved_by FROM dockyard.approval_requests WHERE id = %s",
            (request,),
        ).fetchone()
    assert row == ("approved", team_db.role("bob"))


def test_a_deployment_to_a_protected_environment_needs_its_gate(team_db: TeamDb) -> None:
    insert = (
        "INSERT INTO dockyard.deployments (repo, environment, digest, image, status, started,"
        " deployed_by, rollback) VALUES ('git@example.test:shop/web.git', 'production', %s,"
        " 'img', 'deploying', 'now', 'someone', %s) RETURNING deployed_by"
    )
    with team_db.member("alice") as alice:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="no approved request"):
            alice.execute(insert, ("sha256:aa", 0))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only to a release"):
            alice.execute(insert, ("sha256:bb", 1))
        request = _request(alice)
    with team_db.member("bob") as bob:
        _approve(bob, request)
        bob.execute(
            "UPDATE dockyard.approval_requests SET status = 'approved' WHERE id = %s", (request,)
        )
    with team_db.member("alice") as alice:
        row = alice.execute(insert, ("sha256:aa", 0)).fetchone()
    assert row == (team_db.role("alice"),)


def test_members_cannot_change_the_audit_trail_and_the_chain_verifies(team_db: TeamDb) -> None:
    with team_db.member("carol") as carol:
        for action in ("approve", "rollback"):
            carol.execute(
                "SELECT * FROM dockyard.audit_append(%s, 'repo', 'production', '{}', 'os', 'h')",
                (action,),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            carol.execute("UPDATE dockyard.audit SET actor = 'nobody'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            carol.execute("DELETE FROM dockyard.audit")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            carol.execute(
                "INSERT INTO dockyard.audit VALUES (99, 'at', 'bob', 'os', 'h', 'approve', '',"
                " '', '{}', 'x', 'y')"
            )
        rows = carol.execute(
            "SELECT seq, at, actor, os_user, host, action, repo, environment, details,"
            " prev_hash, hash FROM dockyard.audit ORDER BY seq"
        ).fetchall()
    assert [row[2] for row in rows] == [team_db.role("carol")] * 2
    previous = "0" * 64
    for seq, at, actor, os_user, host, action, repo, env, details, prev_hash, digest in rows:
        assert prev_hash == previous
        assert digest == team_chain_hash(
            seq=seq, at=at, actor=actor, os_user=os_user, host=host, action=action,
            repo=repo, environment=env, details=details, prev_hash=prev_hash,
        )  # fmt: skip
        previous = digest


def test_members_do_not_change_who_may_approve(team_db: TeamDb) -> None:
    with team_db.member("carol") as carol:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            carol.execute(
                "INSERT INTO dockyard.approvers (member, environment) VALUES (%s, 'production')",
                (team_db.role("carol"),),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            carol.execute("DELETE FROM dockyard.protected")


def test_member_list_names_rights(team_db: TeamDb) -> None:
    with team_db.admin() as connection:
        listed = {m.name: m for m in team.members(connection)}
    assert listed[team_db.role("bob")].approves == ("production",)
    assert listed[team_db.role("carol")].approves == ()
