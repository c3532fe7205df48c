"""Pushes on a machine without an OS keyring (headless, over SSH), as ``docker push`` works.

The keyring is Python keyring's ``fail`` backend, so any attempt to open it fails; the
registries are the real ``docker-registry``, open or with htpasswd authentication, and the
Docker CLI's login is a real ``config.json`` in ``$DOCKER_CONFIG``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import docker
import pytest

from dockyard.engine.endpoints.registry_auth import dockyard_logins
from testbed.cli import remove_images
from testbed.cli import run_dockyard as dockyard
from testbed.gitrepos import GitRepo, make_app_repo
from testbed.registry import AUTH_USER as USER
from testbed.registry import LocalRegistry

pytestmark = pytest.mark.docker

NO_KEYRING = "keyring.backends.fail.Keyring"


def headless_env(docker_config: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": NO_KEYRING}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    if docker_config is not None:
        env["DOCKER_CONFIG"] = str(docker_config)
    return env


def docker_cli_login(folder: Path, registry: LocalRegistry) -> Path:
    """What ``docker login`` writes without a credential helper."""
    assert registry.auth is not None
    token = base64.b64encode(":".join(registry.auth).encode()).decode()
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"auths": {registry.host: {"auth": token}}}))
    return folder


def app(tmp_path: Path, registry: LocalRegistry, name: str) -> GitRepo:
    return make_app_repo(tmp_path / name, dockyard_yml=f"image: {registry.host}/shop/{name}\n")


def delivered(result: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    """The run id and the digest the registry gave, from ``dockyard run --json``."""
    data = json.loads(result.stdout)
    assert data["status"] == "succeeded", result.stderr
    return str(data["id"]), str(data["image"]["digest"])


def test_push_to_an_open_registry_needs_no_keyring(
    tmp_path: Path,
    dockyard_home: Path,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
) -> None:
    repo = app(tmp_path, registry, "headless")
    name = f"{registry.host}/shop/headless"
    try:
        result = dockyard(dockyard_home, "run", str(repo.path), "--json", env=headless_env())
        assert result.returncode == 0, result.stderr
        run_id, digest = delivered(result)
        assert docker_client.images.get_registry_data(f"{name}:{repo.head}").id == digest
        log = dockyard(dockyard_home, "logs", run_id, "--stage", "deliver").stdout
        assert "Registry login: none (anonymous push)" in log
    finally:
        remove_images(docker_client, name)


def test_the_docker_clis_login_pushes_without_a_keyring(
    tmp_path: Path,
    dockyard_home: Path,
    docker_client: docker.DockerClient,
    auth_registry: LocalRegistry,
) -> None:
    config = docker_cli_login(tmp_path / "docker-config", auth_registry)
    repo = app(tmp_path, auth_registry, "clilogin")
    name = f"{auth_registry.host}/shop/clilogin"
    try:
        env = headless_env(config)
        result = dockyard(dockyard_home, "run", str(repo.path), "--json", env=env)
        assert result.returncode == 0, result.stderr
        run_id, digest = delivered(result)
        log = dockyard(dockyard_home, "logs", run_id, "--stage", "deliver").stdout
        assert f"Registry login: the Docker CLI's of {USER}" in log
        assert auth_registry.auth is not None and auth_registry.auth[1] not in log
        assert docker_client.images.get(f"{name}@{digest}") is not None
    finally:
        remove_images(docker_client, name)


def test_a_refused_docker_cli_login_says_whose_it_was(
    tmp_path: Path,
    dockyard_home: Path,
    docker_client: docker.DockerClient,
    auth_registry: LocalRegistry,
) -> None:
    wrong = LocalRegistry(auth_registry.host, auth_registry.root, auth_registry.process)
    wrong.auth = (USER, "not-the-password")
    config = docker_cli_login(tmp_path / "docker-config", wrong)
    repo = app(tmp_path, auth_registry, "wrongcli")
    try:
        result = dockyard(dockyard_home, "run", str(repo.path), env=headless_env(config))
        assert result.returncode == 3, result.stderr
        host = auth_registry.host
        assert (
            f"dockyard: The registry {host} refused the Docker CLI's login of {USER} to push "
            f"{host}/shop/wrongcli" in result.stderr
        )
        assert "Traceback" not in result.stderr
    finally:
        remove_images(docker_client, f"{auth_registry.host}/shop/wrongcli")


def test_a_dockyard_login_without_its_keyring_says_so(
    tmp_path: Path,
    dockyard_home: Path,
    docker_client: docker.DockerClient,
    auth_registry: LocalRegistry,
) -> None:
    """A login made while the keyring worked is not silently replaced by another one."""
    assert auth_registry.auth is not None
    host = auth_registry.host
    login = dockyard(
        dockyard_home, "registry", "login", host, "-u", USER, stdin=auth_registry.auth[1]
    )
    assert login.returncode == 0, login.stderr
    repo = app(tmp_path, auth_registry, "lockedout")
    try:
        result = dockyard(dockyard_home, "run", str(repo.path), env=headless_env())
        assert result.returncode == 3, result.stderr
        assert (
            f"dockyard: The login of {USER} to {host} is kept in the OS keyring, which is "
            "not available" in result.stderr
        )
    finally:
        logout = dockyard(dockyard_home, "registry", "logout", host)
        assert logout.returncode == 0, logout.stderr
        remove_images(docker_client, f"{host}/shop/lockedout")
    assert host not in dockyard_logins()
