"""Registry credentials from the keyring, against a registry that refuses anonymous access.

The registry is the real ``docker-registry`` with htpasswd (bcrypt) authentication; the
login is stored with ``dockyard registry login`` as a user would, in the real keyring of
the test's Secret Service, and handed to the real daemon per push and pull.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from dockyard.engine.deploy.deployers import deployer_for
from dockyard.engine.endpoints.registry_auth import forget_login
from testbed.cli import remove_images
from testbed.cli import run_dockyard as dockyard
from testbed.gitrepos import GitRepo, make_app_repo
from testbed.registry import AUTH_USER as USER
from testbed.registry import LocalRegistry

pytestmark = [pytest.mark.docker, pytest.mark.keyring]


@pytest.fixture
def login_cleanup(auth_registry: LocalRegistry) -> Iterator[None]:
    """Whatever a test stores for the registry is forgotten afterwards."""
    forget_login(auth_registry.host)
    yield
    forget_login(auth_registry.host)


def password_of(registry: LocalRegistry) -> str:
    assert registry.auth is not None
    return registry.auth[1]


def registry_get(
    registry: LocalRegistry, path: str, *, credentials: tuple[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """GET ``path`` on the registry's HTTP API: (status, headers, body)."""
    request = urllib.request.Request(f"http://{registry.host}{path}")
    request.add_header(
        "Accept",
        "application/vnd.docker.distribution.manifest.v2+json, "
        "application/vnd.oci.image.manifest.v1+json",
    )
    if credentials is not None:
        token = base64.b64encode(":".join(credentials).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def repositories(registry: LocalRegistry) -> list[str]:
    """The repositories the registry holds anything of (read with the right login)."""
    status, _, body = registry_get(registry, "/v2/_catalog", credentials=registry.auth)
    assert status == 200, body
    return sorted(json.loads(body)["repositories"] or [])


def pushed_tags(registry: LocalRegistry, name: str) -> list[str]:
    """The tags of repository ``name`` in the registry (read with the right login)."""
    status, _, body = registry_get(registry, f"/v2/{name}/tags/list", credentials=registry.auth)
    assert status == 200, body
    return sorted(json.loads(body)["tags"] or [])


def login(home: Path, registry: LocalRegistry, password: str) -> None:
    result = dockyard(
        home, "registry", "login", registry.host, "--username", USER, stdin=password + "\n"
    )
    assert result.returncode == 0, result.stderr
    assert password not in result.stdout + result.stderr


def app(tmp_path: Path, registry: LocalRegistry, name: str, extra: str = "") -> GitRepo:
    yml = f"image: {registry.host}/shop/{name}\n{extra}"
    return make_app_repo(tmp_path / name, dockyard_yml=yml)


def one_sentence(stderr: str) -> str:
    """The single error line the CLI printed (stage progress lines are indented)."""
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("dockyard: ")]
    assert len(errors) == 1, stderr
    return errors[0].removeprefix("dockyard: ")


def test_the_test_registry_refuses_anonymous_access(auth_registry: LocalRegistry) -> None:
    status, headers, _ = registry_get(auth_registry, "/v2/")
    assert status == 401
    assert headers["Www-Authenticate"] == 'Basic realm="dockyard-test"'
    assert registry_get(auth_registry, "/v2/", credentials=(USER, "wrong"))[0] == 401
    assert auth_registry.auth is not None
    assert registry_get(auth_registry, "/v2/", credentials=auth_registry.auth)[0] == 200


@pytest.mark.usefixtures("login_cleanup")
def test_push_without_a_login_says_to_log_in(
    tmp_path: Path,
    dockyard_home: Path,
    docker_client: docker.DockerClient,
    auth_registry: LocalRegistry,
) -> None:
    repo = app(tmp_path, auth_registry, "nologin")
    try:
        result = dockyard(dockyard_home, "run", str(repo.path), "--json")
        assert result.returncode == 3, result.stderr
        host = auth_registry.host
        assert one_sentence(result.stderr) == (
            f"The registry {host} requires a login to push {host}/shop/nologin; run "
            f"'dockyard registry login {host} --username USER' with the password on "
            "standard input, then try again."
        )
        data = json.loads(result.stdout)
        assert data["status"] == "failed"
        assert {s["name"]: s["status"] for s in data["stages"]}["deliver"] == "failed"
        assert "shop/nologin" not in repositories(auth_registry)
        # The daemon's own words stay in the stage log.
        log = dockyard(dockyard_home, "logs", data["id"], "--stage", "deliver").stdout
        assert "ERROR: no basic auth credentials" in log
    finally:
        remove_images(docker_client, f"{auth_registry.host}/shop/nologin")


@pytest.mark.usefixtures("login_cleanup")
def test_wrong_password_says_so_and_pushes_nothing(
    tmp_path: Path,
    dockyard_home: Path,
    docker_client: docker.DockerClient,
    auth_registry: LocalRegistry,
) -> None:
    login(dockyard_home, auth_registry, "not-the-password")
    repo = app(tmp_path, auth_registry, "wrongpw")
    try:
        result = dockyard(dockyard_home, "run", str(repo.path), "--json")
        assert result.returncode == 3, result.stderr
        host = auth_registry.host
        assert one_sentence(result.stderr) == (
            f"The registry {host} refused the stored login of {USER} to push "
            f"{host}/shop/wrongpw (wrong password, or no push permission); run 'dockyard "
            f"registry login {host} --username {USER}' with the right password on standard "
            "input, then try again."
        )
        assert "not-the-password" not in result.stdout + result.stderr
        assert json.loads(result.stdout)["status"] == "failed"
        assert "shop/wrongpw" not in repositories(auth_registry)
    finally:
        remove_images(docker_client, f"{auth_registry.host}/shop/wrongpw")


@pytest.mark.usefixtures("login_cleanup")
def test_after_login_the_pipeline_pushes_and_the_digest_pulls_back(
    tmp_path: Path,
    dockyard_home: Path,
    docker_client: docker.DockerClient,
    auth_registry: LocalRegistry,
) -> None:
    name = f"{auth_registry.host}/shop/withlogin"
    repo = app(tmp_path, auth_registry, "withlogin")
    repo.tag("v1.0.0")
    login(dockyard_home, auth_registry, password_of(auth_registry))
    try:
        result = dockyard(dockyard_home, "run", str(repo.path), "--ref", "v1.0.0", "--json")
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["status"] == "succeeded"
        digest = data["image"]["digest"]
        assert data["image"]["name"] == name and digest.startswith("sha256:")
        assert "shop/withlogin" in repositories(auth_registry)
        assert "v1.0.0" in pushed_tags(auth_registry, "shop/withlogin")

        # The registry serves exactly that digest, to the right login only.
        assert registry_get(auth_registry, f"/v2/shop/withlogin/manifests/{digest}")[0] == 401
        status, headers, _ = registry_get(
            auth_registry, f"/v2/shop/withlogin/manifests/{digest}", credentials=auth_registry.auth
        )
        assert status == 200 and headers["Docker-Content-Digest"] == digest

        # Gone from the daemon, then pulled back by digest with the same credentials.
        remove_images(docker_client, name)
        with pytest.raises(docker.errors.ImageNotFound):
            docker_client.images.get(f"{name}@{digest}")
        auth = {"username": USER, "password": password_of(auth_registry)}
        pulled = docker_client.images.pull(f"{name}@{digest}", auth_config=auth)
        assert pulled.labels["org.opencontainers.image.revision"] == repo.head
        assert f"{name}@{digest}" in pulled.attrs["RepoDigests"]
    finally:
        remove_images(docker_client, name)


@pytest.mark.usefixtures("login_cleanup")
def test_approved_container_deployment_pulls_by_digest_with_the_stored_login(
    tmp_path: Path,
    dockyard_home: Path,
    docker_client: docker.DockerClient,
    auth_registry: LocalRegistry,
) -> None:
    name = f"{auth_registry.host}/shop/deployed"
    repo = app(tmp_path, auth_registry, "deployed", "environments:\n  staging:\n    grace: 1s\n")
    location = str(repo.path)
    lead = "lead@example.test"

    def delivered_but_not_on_the_daemon() -> str:
        """Run up to the approval gate, then drop the image: the deploy must pull it."""
        result = dockyard(dockyard_home, "run", location, "--json")
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["status"] == "awaiting_approval"
        remove_images(docker_client, name)
        with pytest.raises(docker.errors.ImageNotFound):
            docker_client.images.get(f"{name}@{data['image']['digest']}")
        return str(data["image"]["digest"])

    login(dockyard_home, auth_registry, password_of(auth_registry))
    try:
        digest = delivered_but_not_on_the_daemon()
        forget_login(auth_registry.host)
        refused = dockyard(dockyard_home, "approve", location, "staging", user=lead)
        assert refused.returncode == 3, refused.stderr
        assert (
            f"The registry {auth_registry.host} requires a login to pull {name}@{digest}; run "
            f"'dockyard registry login {auth_registry.host}"
        ) in one_sentence(refused.stderr)
        assert not docker_client.containers.list(filters={"label": f"dockyard.repo={location}"})

        login(dockyard_home, auth_registry, password_of(auth_registry))
        digest = delivered_but_not_on_the_daemon()  # a new run, so a new pending release
        approved = dockyard(dockyard_home, "approve", location, "staging", user=lead)
        assert approved.returncode == 0, approved.stderr
        (container,) = docker_client.containers.list(
            filters={"label": [f"dockyard.repo={location}", "dockyard.environment=staging"]}
        )
        assert container.labels["dockyard.digest"] == digest
        pulled = docker_client.images.get(f"{name}@{digest}")
        assert container.image.id == pulled.id
        assert f"{name}@{digest}" in pulled.attrs["RepoDigests"]
    finally:
        deployer_for("container", docker_client).remove(location, "staging")
        remove_images(docker_client, name)
