"""Shared fixtures: the real parts every layer of tests uses.

The Docker daemon, registry and base image are started once per session and only when a
test asks for them, so unit tests stay fast. Nothing here mocks Docker, git or the keyring.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dockyard.store.database import Database, open_database
from testbed.baseimage import ensure_busybox
from testbed.dockerd import NoDaemon, PrivateDaemon, ensure_swarm_gateway, start_daemon
from testbed.gitrepos import GitRepo, make_app_repo
from testbed.postgres import NoPostgres, PostgresServer, start_postgres
from testbed.registry import LocalRegistry, start_registry
from testbed.teamdb import TeamDatabase, team_database


@pytest.fixture(scope="session")
def docker_daemon() -> Iterator[PrivateDaemon]:
    try:
        daemon = start_daemon()
    except NoDaemon as exc:
        pytest.fail(f"No Docker daemon for the integration tests: {exc}", pytrace=False)
    previous = os.environ.get("DOCKER_HOST")
    # The app's "local" endpoint is what the docker CLI would use: point it at ours.
    os.environ["DOCKER_HOST"] = daemon.url
    client = daemon.client()
    ensure_busybox(client)
    client.close()
    yield daemon
    if previous is None:
        os.environ.pop("DOCKER_HOST", None)
    else:
        os.environ["DOCKER_HOST"] = previous
    daemon.stop()


@pytest.fixture(scope="session")
def swarm_daemon(docker_daemon: PrivateDaemon) -> PrivateDaemon:
    if not docker_daemon.swarm:
        pytest.skip("the daemon named by DOCKYARD_TEST_DOCKER_HOST is not a Swarm manager")
    return docker_daemon


@pytest.fixture(scope="module")
def swarm_gateway_bridge(swarm_daemon: PrivateDaemon) -> None:
    """``docker_gwbridge`` made before any leak check looks (it outlives every service); a
    Swarm module asks for it with ``pytest.mark.usefixtures("swarm_gateway_bridge")``."""
    client = swarm_daemon.client()
    try:
        ensure_swarm_gateway(client)
    finally:
        client.close()


def _postgres_or_fail() -> PostgresServer:
    try:
        return start_postgres()
    except NoPostgres as exc:
        pytest.fail(f"No PostgreSQL server for the team tests: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the suite's own (team mode), started on first use."""
    server = _postgres_or_fail()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stoppable_postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of one module's own, for tests that stop and start it (an
    outage): stopping the suite's would fail other tests."""
    server = _postgres_or_fail()
    yield server
    if server.process.poll() is not None:
        server.come_back()  # a test failed while it was away; stop cleans up
    server.stop()


@pytest.fixture
def team(postgres_server: PostgresServer) -> Iterator[TeamDatabase]:
    """A team ledger of the test's own: schema, a developer, a release manager who may
    approve production (protected). Tests that stop the server override it with one on
    ``stoppable_postgres_server``."""
    with team_database(postgres_server) as made:
        yield made


# The team schema's rules (identity stamps, approval guards) are tested on their own in
# tests/integration/test_team_server.py; the store's own tests check that its queries mean
# the same on both engines, so they run on PostgreSQL with those triggers off.
TEAM_RULE_TRIGGERS = {
    "runs": "runs_identity", "deployments": "deployments_identity", "pins": "pins_identity",
    "approval_requests": "approval_requests_guard", "approvals": "approvals_guard",
}  # fmt: skip
TEAM_RULE_TRIGGERS_EXTRA = {"deployments": "deployments_guard"}


@pytest.fixture(scope="session")
def store_template(postgres_server: PostgresServer) -> str:
    """A database with the team schema, rules off, that each store test copies (fast)."""
    import psycopg

    from dockyard.store import team

    name = "store_template"
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(postgres_server.dsn(dbname=name), autocommit=True) as owner:
        team.init_schema(owner)
        for table, trigger in [*TEAM_RULE_TRIGGERS.items(), *TEAM_RULE_TRIGGERS_EXTRA.items()]:
            owner.execute(f"ALTER TABLE dockyard.{table} DISABLE TRIGGER {trigger}")
    return name


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("postgres-light", marks=pytest.mark.postgres),
    ]
)
def store_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The local ledger's SQLite file, then the team ledger's PostgreSQL database through
    psycopg, then through the light client for reads (``store/pg_reading.py``, as
    ``dockyard status`` reads it) and psycopg for the rest."""
    if request.param == "sqlite":
        database: Database = open_database(tmp_path / "home")
        yield database
        database.close()
        return
    import psycopg

    from dockyard.store.pg import PgDatabase
    from dockyard.store.pg_reading import PgReadingDatabase

    server: PostgresServer = request.getfixturevalue("postgres_server")
    template: str = request.getfixturevalue("store_template")
    name = f"store_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    dsn, label = server.dsn(dbname=name), f"{server.superuser}@{name}"

    def full() -> PgDatabase:
        return PgDatabase(lambda **naming: psycopg.connect(dsn, **naming), label)

    pg: Database = (
        full()
        if request.param == "postgres"
        else PgReadingDatabase(server.wire_session(name), full, label)
    )
    yield pg
    pg.close()
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def registry(docker_daemon: PrivateDaemon) -> Iterator[LocalRegistry]:
    reg = start_registry()
    yield reg
    reg.stop()


def _daemon_objects(daemon: PrivateDaemon) -> dict[str, set[str]]:
    client = daemon.client()
    try:
        objects = {
            # ignore_removed: a container going away meanwhile (a Swarm task) is not kept
            "containers": {c.id for c in client.containers.list(all=True, ignore_removed=True)},
            "networks": {n.id for n in client.networks.list()},
            "volumes": {v.id for v in client.volumes.list()},
            "services": set(),
        }
        if daemon.swarm:
            objects["services"] = {s.id for s in client.services.list()}
            objects["secrets"] = {s.id for s in client.secrets.list()}
            objects["configs"] = {c.id for c in client.configs.list()}
        return objects
    finally:
        client.close()


# Created once on first use and shared, by Swarm (the gateway bridge of published ports)
# and by the container deployer (the network of containers with published ports).
SHARED_NETWORKS = ("docker_gwbridge", "dockyard")


def _shared_networks(daemon: PrivateDaemon) -> set[str]:
    client = daemon.client()
    try:
        return {n.id for n in client.networks.list(names=list(SHARED_NETWORKS))}
    finally:
        client.close()


@pytest.fixture
def docker_client(docker_daemon: PrivateDaemon) -> Iterator[object]:
    """A client on the test daemon; the test fails if it leaves anything behind."""
    before = _daemon_objects(docker_daemon)
    client = docker_daemon.client()
    yield client
    client.close()
    after = _daemon_objects(docker_daemon)
    after["networks"] -= _shared_networks(docker_daemon)
    leaked = {kind: after[kind] - before.get(kind, set()) for kind in after}
    leaked = {kind: ids for kind, ids in leaked.items() if ids}
    if leaked:
        pytest.fail(f"the test left Docker objects behind: {leaked}", pytrace=False)


@pytest.fixture
def dockyard_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dockyard-home"
    home.mkdir()
    monkeypatch.setenv("DOCKYARD_HOME", str(home))
    monkeypatch.setenv("DOCKYARD_USER", "dev@example.test")
    return home


@pytest.fixture
def app_repo(tmp_path: Path) -> GitRepo:
    return make_app_repo(tmp_path / "app")


@pytest.fixture
def git_repo_factory(tmp_path: Path) -> object:
    counter = iter(range(1000))

    def factory(**kwargs: object) -> GitRepo:
        return make_app_repo(tmp_path / f"repo{next(counter)}", **kwargs)  # type: ignore[arg-type]

    return factory
