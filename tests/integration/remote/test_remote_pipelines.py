"""Whole pipelines on remote endpoints: build and deploy over TLS, across hosts, over SSH.

Every run goes through the real ``dockyard`` command. The TLS and SSH endpoints reach the
TLS test daemon; ``local`` is the session daemon. An image built on one daemon reaches
another only through the test registry, by digest.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from dockyard.engine.deploy.deployers import deployer_for
from testbed.cli import run_dockyard as dockyard
from testbed.gitrepos import GitRepo, make_app_repo
from testbed.registry import LocalRegistry

from .conftest import SshServer, TlsDaemon
from .pki import RemotePKI

pytestmark = pytest.mark.docker


@pytest.fixture
def tls_client(tls_daemon: TlsDaemon) -> Iterator[docker.DockerClient]:
    """A client on the TLS daemon; the test fails if it leaves containers or networks."""
    client = tls_daemon.daemon.client()
    before = _objects(client)
    yield client
    leaked = {kind: ids - before[kind] for kind, ids in _objects(client).items()}
    client.close()
    leaked = {kind: ids for kind, ids in leaked.items() if ids}
    if leaked:
        pytest.fail(f"the test left objects on the TLS daemon: {leaked}", pytrace=False)


def _objects(client: docker.DockerClient) -> dict[str, set[str]]:
    return {
        "containers": {c.id for c in client.containers.list(all=True)},
        "networks": {n.id for n in client.networks.list() if n.name != "dockyard"},
        "volumes": {v.id for v in client.volumes.list()},
    }


def add_tls_endpoint(home: Path, daemon: TlsDaemon, pki: RemotePKI) -> None:
    added = dockyard(
        home,
        "hosts", "add", "tls", daemon.url,
        "--tls-ca", str(pki.ca),
        "--tls-cert", str(pki.client.cert),
        "--tls-key", str(pki.client.key),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


@pytest.fixture
def app_with(tmp_path: Path) -> Iterator[Callable[[str, str], GitRepo]]:
    """Makes app repositories with a given dockyard.yml; closes their git processes."""
    made: list[GitRepo] = []

    def make(name: str, yml: str) -> GitRepo:
        made.append(make_app_repo(tmp_path / name, dockyard_yml=yml))
        return made[-1]

    yield make
    for repo in made:
        repo.repo.close()


def pipeline_yml(image: str | None, build_host: str, env_host: str) -> str:
    lines = [f"image: {image}"] if image else []
    lines += [
        "build:",
        f"  host: {build_host}",
        "environments:",
        "  staging:",
        f"    host: {env_host}",
        "    mode: container",
        "    auto: true",
        "    grace: 1s",
    ]
    return "\n".join(lines) + "\n"


def run_json(home: Path, repo: GitRepo) -> dict[str, Any]:
    result = dockyard(home, "run", str(repo.path), "--json")
    data: dict[str, Any] = json.loads(result.stdout)
    if result.returncode != 0:  # show every stage's log: the run happened in a subprocess
        stages = [s["name"] for s in data["stages"]]
        logs = [dockyard(home, "logs", data["id"], "--stage", name).stdout for name in stages]
        pytest.fail(f"{result.stderr}\n" + "\n".join(logs), pytrace=False)
    return data


def deployed_containers(client: docker.DockerClient, repo: GitRepo) -> list[Any]:
    return client.containers.list(all=True, filters={"label": f"dockyard.repo={repo.path}"})


def clean_daemon(client: docker.DockerClient, repo: GitRepo, image_name: str) -> None:
    """What a run leaves on a daemon on purpose: the deployed container and its image."""
    for container in deployed_containers(client, repo):
        container.remove(force=True, v=True)
    remove_repo_images(client, image_name)


def remove_repo_images(client: docker.DockerClient, name: str) -> None:
    """Images tagged ``name:…`` or pulled as ``name@digest`` (those have no tag at all)."""
    for image in client.images.list():
        references = [*image.tags, *image.attrs.get("RepoDigests", [])]
        if any(ref.startswith((f"{name}:", f"{name}@")) for ref in references):
            client.images.remove(image.id, force=True)


def assert_runs_digest(client: docker.DockerClient, repo: GitRepo, reference: str) -> None:
    containers = deployed_containers(client, repo)
    assert [c.status for c in containers] == ["running"]
    container = containers[0]
    assert container.attrs["Config"]["Image"] == reference
    assert container.labels["dockyard.environment"] == "staging"
    # The image the container runs is the one the registry holds under that digest.
    assert reference in client.images.get(container.image.id).attrs["RepoDigests"]


def test_build_test_and_deploy_all_through_the_tls_endpoint(
    app_with: Callable[[str, str], GitRepo],
    dockyard_home: Path,
    tls_daemon: TlsDaemon,
    pki: RemotePKI,
    registry: LocalRegistry,
    docker_client: docker.DockerClient,
    tls_client: docker.DockerClient,
) -> None:
    add_tls_endpoint(dockyard_home, tls_daemon, pki)
    name = f"{registry.host}/remote/tls-{uuid.uuid4().hex[:8]}"
    repo = app_with("tlsapp", pipeline_yml(name, "tls", "tls"))
    try:
        data = run_json(dockyard_home, repo)
        assert data["status"] == "succeeded"
        # The compose test used the image only the TLS daemon had (built there, pushed
        # after the test): it passed, so compose ran on the TLS daemon.
        assert [(s["name"], s["status"]) for s in data["stages"][:4]] == [
            ("checkout", "succeeded"),
            ("build", "succeeded"),
            ("test", "succeeded"),
            ("deliver", "succeeded"),
        ]
        digest = data["image"]["digest"]
        deployments = [(d["environment"], d["status"], d["digest"]) for d in data["deployments"]]
        assert deployments == [("staging", "deployed", digest)]
        assert_runs_digest(tls_client, repo, f"{name}@{digest}")
        assert deployed_containers(docker_client, repo) == []
        assert not [i for i in docker_client.images.list() if any(name in t for t in i.tags)]
        logs = dockyard(dockyard_home, "logs", data["id"], "--stage", "test").stdout
        assert "tests passed" in logs
    finally:
        clean_daemon(tls_client, repo, name)


def test_image_built_locally_reaches_the_tls_host_by_digest(
    app_with: Callable[[str, str], GitRepo],
    dockyard_home: Path,
    tls_daemon: TlsDaemon,
    pki: RemotePKI,
    registry: LocalRegistry,
    docker_client: docker.DockerClient,
    tls_client: docker.DockerClient,
) -> None:
    add_tls_endpoint(dockyard_home, tls_daemon, pki)
    name = f"{registry.host}/remote/cross-{uuid.uuid4().hex[:8]}"
    repo = app_with("crossapp", pipeline_yml(name, "local", "tls"))
    try:
        data = run_json(dockyard_home, repo)
        assert data["status"] == "succeeded", data
        digest = data["image"]["digest"]
        assert data["deployments"][0]["status"] == "deployed"
        assert_runs_digest(tls_client, repo, f"{name}@{digest}")
        assert deployed_containers(docker_client, repo) == []
        deploy_log = dockyard(dockyard_home, "logs", data["id"], "--stage", "deploy-staging")
        assert f"Pulling {name}@{digest}" in deploy_log.stdout
    finally:
        clean_daemon(tls_client, repo, name)
        remove_repo_images(docker_client, name)


def test_another_deploy_host_without_a_registry_fails_before_building(
    app_with: Callable[[str, str], GitRepo],
    dockyard_home: Path,
    tls_daemon: TlsDaemon,
    pki: RemotePKI,
    docker_client: docker.DockerClient,
    tls_client: docker.DockerClient,
) -> None:
    add_tls_endpoint(dockyard_home, tls_daemon, pki)
    repo = app_with("noregistry", pipeline_yml(None, "local", "tls"))
    result = dockyard(dockyard_home, "run", str(repo.path), "--json")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "dockyard: Environment 'staging' deploys on host 'tls' but images are built on 'local' and "
        "dockyard.yml has no image: registry to carry them; set image: to a registry "
        "repository (or build.host to the same host)."
    )
    data = json.loads(result.stdout)
    assert data["status"] == "failed"
    assert {s["name"]: s["status"] for s in data["stages"]}["build"] == "skipped"
    assert data["deployments"] == []


def test_deployment_over_ssh(
    app_with: Callable[[str, str], GitRepo],
    dockyard_home: Path,
    sshd: SshServer,
    registry: LocalRegistry,
    docker_client: docker.DockerClient,
    tls_client: docker.DockerClient,
    no_user_ssh: None,
) -> None:
    added = dockyard(
        dockyard_home,
        "hosts", "add", "edge", sshd.url,
        "--ssh-identity", str(sshd.client_key),
        "--ssh-known-hosts", str(sshd.known_hosts),
        "--ssh-config", str(sshd.config),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    name = f"{registry.host}/remote/ssh-{uuid.uuid4().hex[:8]}"
    repo = app_with("sshapp", pipeline_yml(name, "local", "edge"))
    try:
        data = run_json(dockyard_home, repo)
        assert data["status"] == "succeeded", data
        digest = data["image"]["digest"]
        assert data["deployments"][0]["status"] == "deployed"
        # sshd's sessions reach the TLS daemon's socket: that is where it must run.
        assert_runs_digest(tls_client, repo, f"{name}@{digest}")
        assert deployed_containers(docker_client, repo) == []
        status = json.loads(dockyard(dockyard_home, "status", str(repo.path), "--json").stdout)
        staging = status["environments"][0]
        assert staging["release"]["digest"] == digest and staging["drift"] is None
    finally:
        clean_daemon(tls_client, repo, name)
        remove_repo_images(docker_client, name)


def test_swarm_service_pulls_an_image_built_on_the_tls_host(
    app_with: Callable[[str, str], GitRepo],
    dockyard_home: Path,
    tls_daemon: TlsDaemon,
    pki: RemotePKI,
    registry: LocalRegistry,
    swarm_daemon: object,
    docker_client: docker.DockerClient,
    tls_client: docker.DockerClient,
) -> None:
    add_tls_endpoint(dockyard_home, tls_daemon, pki)
    name = f"{registry.host}/remote/swarm-{uuid.uuid4().hex[:8]}"
    yml = pipeline_yml(name, "tls", "local").replace("mode: container", "mode: service")
    repo = app_with("swarmapp", yml)
    try:
        data = run_json(dockyard_home, repo)
        digest = data["image"]["digest"]
        assert [d["status"] for d in data["deployments"]] == ["deployed"]
        services = docker_client.services.list(filters={"label": f"dockyard.repo={repo.path}"})
        assert len(services) == 1
        spec = services[0].attrs["Spec"]["TaskTemplate"]["ContainerSpec"]
        assert spec["Image"] == f"{name}@{digest}"
        # The local daemon never built it: its task pulled it from the registry.
        pulled = docker_client.images.get(f"{name}@{digest}")
        assert f"{name}@{digest}" in pulled.attrs["RepoDigests"]
        assert not any(tag.startswith(f"{name}:") for tag in pulled.tags)
    finally:
        deployer_for("service", docker_client).remove(str(repo.path), "staging")
        remove_repo_images(docker_client, name)
        clean_daemon(tls_client, repo, name)
