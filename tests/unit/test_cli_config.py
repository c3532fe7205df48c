"""The private Docker CLI config a stack deployment hands its registry logins through: the
user's config as it is, plus Dockyard's logins, which no credential store may shadow."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from dockyard.engine.endpoints import cli_config

LOGINS = {"registry.example.com": {"username": "ci", "password": "s3cret-pw"}}


@pytest.fixture
def user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "user-docker"
    folder.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    # The keyring's answer (pure logic here; the integration tests use the real keyring).
    monkeypatch.setattr(cli_config, "dockyard_login", LOGINS.get)
    return folder


def test_the_users_config_is_kept_and_dockyards_login_added_past_its_credential_store(
    tmp_path: Path, user_config: Path
) -> None:
    own = {
        "auths": {
            "other.example.com": {"auth": "b3RoZXI6cHc="},
            "registry.example.com": {"auth": "c3RhbGU6b2xk"},  # a stale docker login
        },
        "credsStore": "desktop",
        "credHelpers": {"gcr.io": "gcloud", "registry.example.com": "pass"},
        "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
        "currentContext": "remote",
    }
    (user_config / "config.json").write_text(json.dumps(own))
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    images = ["registry.example.com/shop/cache@sha256:" + "a" * 64, "other.example.com/web:1"]

    env = cli_config.config_with_logins(images, deploy)

    private = Path(env["DOCKER_CONFIG"])
    assert private.parent == deploy
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert stat.S_IMODE((private / "config.json").stat().st_mode) == 0o600
    written = json.loads((private / "config.json").read_text())
    token = base64.b64decode(written["auths"]["registry.example.com"]["auth"]).decode()
    assert token == "ci:s3cret-pw"
    assert written["auths"]["other.example.com"] == own["auths"]["other.example.com"]
    assert written["credsStore"] == "desktop" and written["proxies"] == own["proxies"]
    # "" sends the CLI to the file's entry rather than to credsStore or a helper.
    assert written["credHelpers"] == {"gcr.io": "gcloud", "registry.example.com": ""}
    assert "currentContext" not in written  # DOCKER_HOST names the endpoint
    assert written["cliPluginsExtraDirs"] == [str(user_config / "cli-plugins")]
    assert json.loads((user_config / "config.json").read_text()) == own


def test_without_a_dockyard_login_the_users_config_serves_as_it_is(
    tmp_path: Path, user_config: Path
) -> None:
    assert cli_config.config_with_logins(["other.example.com/web:1", ""], tmp_path) == {}
    assert list(tmp_path.iterdir()) == [user_config]


def test_docker_hub_logins_go_under_the_name_the_cli_looks_them_up_by(
    tmp_path: Path, user_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        cli_config, "dockyard_login", {"docker.io": {"username": "u", "password": "p"}}.get
    )
    env = cli_config.config_with_logins(["redis:7", "library/alpine@sha256:" + "b" * 64], tmp_path)
    written = json.loads((Path(env["DOCKER_CONFIG"]) / "config.json").read_text())
    assert set(written["auths"]) == {"https://index.docker.io/v1/"}
