"""Docker contexts as endpoints, `local` following the docker CLI, compose variables,
registry credentials in the keyring."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from dockyard.engine.endpoints.client import check_endpoint
from dockyard.engine.endpoints.contexts import import_contexts
from dockyard.engine.endpoints.registry import LOCAL, Endpoint, EndpointRegistry
from dockyard.engine.endpoints.registry_auth import DOCKER_CLI_LOGIN, forget_login, registry_auth
from dockyard.engine.pipeline.compose_endpoint import compose_environment
from testbed.cli import run_dockyard as dockyard

from .conftest import TlsDaemon
from .pki import RemotePKI

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_user_ssh")]


def docker_cli(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def docker_config(monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = Path(os.environ["DOCKER_CONFIG"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text("{}")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    return folder


def test_import_contexts_and_local_follows_the_current_one(
    tls_daemon: TlsDaemon, pki: RemotePKI, docker_config: Path, dockyard_home: Path
) -> None:
    docker_cli(
        "context", "create", "buildbox",
        "--docker",
        f"host={tls_daemon.url},ca={pki.ca},cert={pki.client.cert},key={pki.client.key}",
    )  # fmt: skip
    docker_cli("context", "create", "jump", "--docker", "host=ssh://deploy@127.0.0.1:1")
    registry = EndpointRegistry(dockyard_home)
    results = {r.name: r.outcome for r in import_contexts(registry)}
    assert results == {"buildbox": "added", "jump": "added"}
    assert {r.outcome for r in import_contexts(registry)} == {"unchanged"}
    imported = registry.get("buildbox")
    assert imported.url == tls_daemon.url and imported.context == "buildbox"
    assert check_endpoint(imported).ok

    # With DOCKER_HOST unset, `local` is the docker CLI's current context.
    docker_cli("context", "use", "buildbox")
    status = check_endpoint(LOCAL)
    assert status.ok, status.message
    assert status.url == tls_daemon.url


def test_local_follows_docker_host_with_tls_variables(
    tls_daemon: TlsDaemon, pki: RemotePKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = compose_environment(pki.endpoint("tls", tls_daemon.url))
    cert_dir = Path(env["DOCKER_CERT_PATH"])
    assert sorted(p.name for p in cert_dir.iterdir()) == ["ca.pem", "cert.pem", "key.pem"]
    assert env["DOCKER_HOST"] == tls_daemon.url and env["DOCKER_TLS_VERIFY"] == "1"
    # The docker CLI (and so compose) reaches the daemon with exactly these variables.
    assert docker_cli("version", "--format", "{{.Server.Os}}", env=env) == "linux"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    status = check_endpoint(LOCAL)
    assert status.ok, status.message
    assert status.url == tls_daemon.url


def test_compose_environment_of_a_unix_endpoint(tls_daemon: TlsDaemon) -> None:
    env = compose_environment(Endpoint(name="sock", url=tls_daemon.unix_url))
    assert env == {
        "DOCKER_HOST": tls_daemon.unix_url,
        "DOCKER_TLS_VERIFY": "",
        "DOCKER_CERT_PATH": "",
    }


def test_registry_login_keeps_the_password_in_the_keyring_only(dockyard_home: Path) -> None:
    registry = f"registry-{uuid.uuid4().hex[:6]}.example.test:5000"
    password = f"pw-{uuid.uuid4().hex}"
    assert registry_auth(f"{registry}/shop/web") is None
    result = dockyard(
        dockyard_home, "registry", "login", registry, "--username", "ci", stdin=password
    )
    try:
        assert result.returncode == 0, result.stderr
        assert password not in result.stdout + result.stderr
        auth = registry_auth(f"{registry}/shop/web:1.0")
        assert auth == {"username": "ci", "password": password, "serveraddress": registry}
        for path in dockyard_home.rglob("*"):
            if path.is_file():
                assert password.encode() not in path.read_bytes(), path
    finally:
        forget_login(registry)
    assert registry_auth(f"{registry}/shop/web") is None


def test_without_a_dockyard_login_the_docker_clis_is_used(docker_config: Path) -> None:
    # No keyring entry: the Docker CLI's config.json login for that registry, else none.
    (docker_config / "config.json").write_text(
        json.dumps({"auths": {"cfg.example.test": {"auth": "dXNlcjpwdw=="}}})
    )
    auth = registry_auth("cfg.example.test/app")
    assert auth is not None and auth.source == DOCKER_CLI_LOGIN
    assert (auth["username"], auth["password"]) == ("user", "pw")
    assert registry_auth("other.example.test/app") is None
