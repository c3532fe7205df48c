"""The real parts the suite stands on: daemon, base image, registry, keyring."""

from __future__ import annotations

import uuid

import docker
import pytest

from dockyard.engine.secrets import SecretStore
from testbed.dockerd import PrivateDaemon
from testbed.postgres import PostgresServer
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker


def test_builds_an_image_and_runs_a_container(docker_client: docker.DockerClient) -> None:
    output = docker_client.containers.run(
        "busybox:stable",
        ["sh", "-c", "echo hello from $(uname -s)"],
        remove=True,
        labels={"dockyard.test": "1"},
    )
    assert output.decode().strip() == "hello from Linux"


def test_swarm_is_initialised_on_the_test_daemon(swarm_daemon: PrivateDaemon) -> None:
    client = swarm_daemon.client()
    try:
        assert client.info()["Swarm"]["ControlAvailable"] is True
    finally:
        client.close()


def test_pushes_to_the_registry(
    docker_client: docker.DockerClient, registry: LocalRegistry
) -> None:
    name = f"{registry.host}/testbed/busybox"
    image = docker_client.images.get("busybox:stable")
    image.tag(name, tag="t1")
    try:
        lines = list(docker_client.api.push(name, tag="t1", stream=True, decode=True))
        digests = [line["aux"]["Digest"] for line in lines if "aux" in line]
        assert digests and digests[0].startswith("sha256:")
        data = docker_client.images.get_registry_data(f"{name}:t1")
        assert data.id == digests[0]
    finally:
        docker_client.images.remove(f"{name}:t1")


@pytest.mark.keyring
def test_writes_and_reads_a_keyring_secret() -> None:
    store = SecretStore(service=f"dockyard-test-{uuid.uuid4().hex[:8]}")
    store.set("repo", "production", "db_password", "s3cr3t-value")
    try:
        assert store.get("repo", "production", "db_password") == "s3cr3t-value"
    finally:
        store.delete("repo", "production", "db_password")


@pytest.mark.postgres
def test_postgres_takes_logins_only_with_the_right_password(
    postgres_server: PostgresServer,
) -> None:
    import psycopg

    with psycopg.connect(postgres_server.dsn()) as connection:
        method = connection.execute("SHOW password_encryption").fetchone()
        who = connection.execute("SELECT session_user").fetchone()
    assert method == ("scram-sha-256",)
    assert who == (postgres_server.superuser,)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres_server.dsn(password="wrong")).close()
