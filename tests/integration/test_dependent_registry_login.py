"""A dependent service whose image is in another registry that wants a login (stack mode and
container mode with ``compose:``): pinned, pulled and run with Dockyard's login for it.

The app's image goes to the open registry; the dependent ("cache") is pushed to the real
``docker-registry`` with htpasswd authentication and removed from the daemon, so its pin
must come from that registry and Swarm or compose must pull it. The user's Docker CLI
config has no login for it (empty, or a credential store that knows nothing).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from dockyard.core.locations import normalise_location
from dockyard.engine.deploy import resource_name
from dockyard.engine.deploy.deployers import deployer_for
from dockyard.engine.endpoints.registry_auth import forget_login
from dockyard.store.database import open_database
from dockyard.store.ledger import SqliteReleaseLedger
from integration.deploy_images import APP_V2, CACHE, DEPLOY_FILE, push_image
from testbed.cli import Cli, bytes_under, environment, outcomes, remove_images
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import GitRepo, make_app_repo
from testbed.registry import AUTH_USER, LocalRegistry

pytestmark = [pytest.mark.docker, pytest.mark.keyring]

PIPELINE = """\
image: {image}
environments:
  production:
    mode: {mode}
    compose: compose.deploy.yml
    auto: true
    healthcheck: {{test: "wget -q -O /dev/null http://127.0.0.1/", interval: 1s, retries: 5}}
    grace: 1s
"""
# A credential store as Docker Desktop or pass sets one up, which has no login at all.
EMPTY_STORE = """\
#!/bin/sh
case "$1" in
  get) cat >/dev/null; echo "credentials not found in native keychain"; exit 1 ;;
  list) echo "{}" ;;
  *) cat >/dev/null ;;
esac
"""


@pytest.fixture
def no_docker_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's Docker CLI config: an empty folder, no login for any registry."""
    folder = tmp_path / "docker-config"
    folder.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    return folder


@dataclass(frozen=True)
class Dependents:
    """Two images of the dependent in the registry that wants a login; the daemon has none."""

    name: str
    first: str  # digest of name:1
    second: str  # digest of name:2


@pytest.fixture
def dependents(docker_daemon: PrivateDaemon, auth_registry: LocalRegistry) -> Iterator[Dependents]:
    """Pushed, then removed from the daemon; no Dockyard login for the registry outlives
    the test."""
    assert auth_registry.auth is not None
    client = docker_daemon.client()
    name = f"{auth_registry.host}/deps/cache"
    first, second = (
        push_image(client, auth_registry.host, tag, f"{CACHE}RUN echo {tag} > /data/version\n",
                   "deps/cache", auth_registry.auth)
        for tag in ("1", "2")
    )  # fmt: skip
    assert first.digest != second.digest
    remove_images(client, name)
    forget_login(auth_registry.host)
    yield Dependents(name, first.digest, second.digest)
    forget_login(auth_registry.host)
    remove_images(client, name)
    client.close()


def release_repo(tmp_path: Path, registry: LocalRegistry, mode: str, cache: Dependents) -> GitRepo:
    """v1.0.0 names the dependent by tag (pinned when requested), v1.1.0 by the second
    image's digest (deployed as written)."""
    image = f"{registry.host}/deps/web-{mode}"
    git_repo = make_app_repo(tmp_path / "web", dockyard_yml=PIPELINE.format(image=image, mode=mode))
    git_repo.commit(
        "deploy file", {"compose.deploy.yml": DEPLOY_FILE.format(cache=f"{cache.name}:1")}
    )
    git_repo.tag("v1.0.0")
    by_digest = DEPLOY_FILE.format(cache=f"{cache.name}@{cache.second}")
    git_repo.commit("cache 2", {"compose.deploy.yml": by_digest, "app.sh": APP_V2})
    git_repo.tag("v1.1.0")
    return git_repo


def one_sentence(stderr: str) -> str:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("dockyard: ")]
    assert len(errors) == 1, stderr
    return errors[0].removeprefix("dockyard: ")


def needs_login(host: str, image: str) -> str:
    return (
        f"The registry {host} requires a login to pull {image}; run 'dockyard registry login "
        f"{host} --username USER' with the password on standard input, then try again."
    )


def released_with_the_login_only(
    cli: Cli, repo: str, registry: LocalRegistry, cache: Dependents
) -> None:
    """v1.0.0 is refused when requested without a login, then deployed with it, its
    dependent pinned from the registry; v1.1.0, whose dependent the host lacks, fails to
    deploy once the login is gone, in one sentence naming that image."""
    host = registry.host
    assert registry.auth is not None
    password = registry.auth[1]

    refused = cli("run", repo, "--ref", "v1.0.0")
    assert refused.returncode == 3, refused.stderr
    assert one_sentence(refused.stderr) == needs_login(host, f"{cache.name}:1")

    login = cli("registry", "login", host, "--username", AUTH_USER, stdin=password)
    assert login.returncode == 0, login.stderr
    deployed = cli("run", repo, "--ref", "v1.0.0", "--json")
    assert deployed.returncode == 0, deployed.stderr
    assert outcomes(json.loads(deployed.stdout)) == {"production": "deployed"}
    # Pinned with the login, from the registry: the daemon had no copy to read it from.
    with closing(open_database(cli.home)) as db:
        current = SqliteReleaseLedger(db).current_deployment(repo, "production")
    assert current is not None
    assert current.config["stack"]["pins"] == {"cache": f"{cache.name}@{cache.first}"}  # type: ignore[index]

    forget_login(host)
    failed = cli("run", repo, "--ref", "v1.1.0")
    assert failed.returncode == 3, failed.stderr
    second = f"{cache.name}@{cache.second}"
    assert one_sentence(failed.stderr) == needs_login(host, second)
    latest = environment(cli.json("status", repo), "production")["latest"]
    assert (latest["status"], latest["error"]) == ("failed", needs_login(host, second))

    for shown in (refused, deployed, failed):
        assert password not in shown.stdout + shown.stderr
    assert password.encode() not in bytes_under(cli.home)


def test_a_stack_pulls_a_dependent_from_a_registry_with_a_dockyard_login(
    tmp_path: Path,
    dockyard_home: Path,
    swarm_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    auth_registry: LocalRegistry,
    dependents: Dependents,
    no_docker_login: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The user's Docker CLI asks a credential store, which has no login at all: Dockyard's
    # must reach Swarm past it.
    helpers = tmp_path / "bin"
    helpers.mkdir()
    (helpers / "docker-credential-dytest").write_text(EMPTY_STORE)
    (helpers / "docker-credential-dytest").chmod(0o755)
    monkeypatch.setenv("PATH", f"{helpers}{os.pathsep}{os.environ['PATH']}")
    (no_docker_login / "config.json").write_text(json.dumps({"credsStore": "dytest"}))
    repo = normalise_location(str(release_repo(tmp_path, registry, "stack", dependents).path))
    stack = resource_name(repo, "production")
    try:
        released_with_the_login_only(
            Cli(dockyard_home, swarm_daemon), repo, auth_registry, dependents
        )
        # v1.0.0's dependent runs, pulled by Swarm with the login; v1.1.0 changed nothing.
        pinned = f"{dependents.name}@{dependents.first}"
        cache = docker_client.services.get(f"{stack}_cache")
        assert cache.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == pinned
        assert any(t["Status"]["State"] == "running" for t in cache.tasks())
        assert docker_client.images.get(pinned)
        # The user's config is as it was; the private copy went with its folder.
        assert json.loads((no_docker_login / "config.json").read_text()) == {"credsStore": "dytest"}
    finally:
        deployer_for("stack", docker_client).remove(repo, "production")
        remove_images(docker_client, f"{registry.host}/deps/web-stack")


def test_container_mode_pulls_a_dependent_from_a_registry_with_a_dockyard_login(
    tmp_path: Path,
    dockyard_home: Path,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    auth_registry: LocalRegistry,
    dependents: Dependents,
    no_docker_login: Path,
) -> None:
    repo = normalise_location(str(release_repo(tmp_path, registry, "container", dependents).path))
    project = resource_name(repo, "production")
    try:
        released_with_the_login_only(
            Cli(dockyard_home, docker_daemon), repo, auth_registry, dependents
        )
        (cache,) = docker_client.containers.list(
            filters={"label": f"com.docker.compose.project={project}"}
        )
        assert cache.labels["com.docker.compose.service"] == "cache"
        assert cache.attrs["Config"]["Image"] == f"{dependents.name}@{dependents.first}"
        assert cache.status == "running"
        assert not (no_docker_login / "config.json").exists()  # nothing written there
    finally:
        deployer_for("container", docker_client).remove(repo, "production")
        remove_images(docker_client, f"{registry.host}/deps/web-container")
