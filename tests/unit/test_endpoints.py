"""Endpoint settings, resolution of `local`, and the wording of connection failures."""

from __future__ import annotations

import json
import ssl
from dataclasses import fields
from pathlib import Path

import pytest
import requests.exceptions

from dockyard.core.errors import UserInputError
from dockyard.engine.endpoints.errors import explain, explain_ssh
from dockyard.engine.endpoints.registry import (
    LOCAL,
    Endpoint,
    EndpointRegistry,
    resolve,
    validate_url,
)
from dockyard.engine.endpoints.registry_auth import registry_of
from dockyard.engine.endpoints.sshtunnel import ssh_command
from dockyard.engine.pipeline.compose_endpoint import cert_folder
from dockyard.store.machine import ENDPOINT_FIELDS
from testbed.endpoints import saved_endpoints


@pytest.fixture(autouse=True)
def clean_docker_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))


@pytest.mark.parametrize(
    "url", ["tcp://10.0.0.5:2375", "tcp://build.example:2375", "tcp://[2001:db8::1]:2375"]
)
def test_plain_tcp_to_another_host_is_refused(url: str) -> None:
    with pytest.raises(UserInputError, match="Refusing plain tcp://"):
        validate_url(Endpoint(name="x", url=url))


@pytest.mark.parametrize(
    "endpoint",
    [
        Endpoint(name="a", url="tcp://127.0.0.1:2375"),
        Endpoint(name="b", url="tcp://build.example:2376", tls_ca="c", tls_cert="d", tls_key="e"),
        Endpoint(name="c", url="ssh://deploy@build.example"),
        Endpoint(name="d", url="unix:///run/docker.sock"),
    ],
)
def test_accepted_urls(endpoint: Endpoint) -> None:
    validate_url(endpoint)


def test_other_schemes_are_refused() -> None:
    with pytest.raises(UserInputError, match="must start with"):
        validate_url(Endpoint(name="x", url="http://build.example"))


def test_local_is_the_default_socket_without_docker_host_or_context() -> None:
    assert resolve(LOCAL).url == "unix:///var/run/docker.sock"


def test_local_follows_docker_host_and_cert_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://build.example:2376")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", "/certs")
    resolved = resolve(LOCAL)
    assert (resolved.url, resolved.tls_ca, resolved.tls_cert, resolved.tls_key) == (
        "tcp://build.example:2376",
        "/certs/ca.pem",
        "/certs/cert.pem",
        "/certs/key.pem",
    )
    assert resolved.name == "local"


def test_registry_keeps_paths_only(tmp_path: Path) -> None:
    registry = EndpointRegistry(tmp_path)
    key = tmp_path / "id"
    key.write_text("a key\n")
    registry.add(Endpoint(name="prod", url="ssh://ops@prod.example", ssh_identity=str(key)))
    assert saved_endpoints(tmp_path) == {
        "prod": {"url": "ssh://ops@prod.example", "ssh_identity": str(key)}
    }
    assert registry.get("prod").ssh_identity == str(key)
    with pytest.raises(UserInputError, match="Unknown Docker endpoint 'staging'"):
        registry.get("staging")


def test_every_endpoint_setting_has_its_column() -> None:
    assert set(ENDPOINT_FIELDS) == {f.name for f in fields(Endpoint)} - {"name"}


def test_an_older_hosts_json_is_moved_into_the_database_unknown_keys_ignored(
    tmp_path: Path,
) -> None:
    old = {
        "prod": {"url": "ssh://ops@prod.example", "from_a_newer_version": True},
        "edge": {"url": "tcp://127.0.0.1:2375", "context": "edge"},
    }
    (tmp_path / "hosts.json").write_text(json.dumps(old))
    registry = EndpointRegistry(tmp_path)
    assert [e.name for e in registry.list()] == ["local", "edge", "prod"]
    assert registry.get("edge").context == "edge"
    assert not (tmp_path / "hosts.json").exists()
    assert json.loads((tmp_path / "hosts.json.imported").read_text()) == old
    registry.remove("prod")
    assert [e.name for e in EndpointRegistry(tmp_path).list()] == ["local", "edge"]


def test_a_damaged_hosts_json_is_said_and_kept(tmp_path: Path) -> None:
    (tmp_path / "hosts.json").write_text("{not json")
    with pytest.raises(UserInputError, match=r"hosts\.json is not valid JSON"):
        EndpointRegistry(tmp_path).list()
    assert (tmp_path / "hosts.json").read_text() == "{not json"


def test_wrong_server_name_is_explained() -> None:
    error = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch"
    )
    wrapped = requests.exceptions.SSLError(error)
    message = explain("tcp://10.1.2.3:2376", wrapped)
    assert message.startswith("the daemon's certificate is not valid for 10.1.2.3")


def test_refused_client_certificate_is_explained() -> None:
    error = ssl.SSLError(1, "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca")
    assert explain("tcp://h:2376", error).startswith("the daemon refused the client certificate")


def test_timeout_and_refusal_are_explained() -> None:
    assert "did not answer within 10 s" in explain("tcp://h:2376", TimeoutError(), timeout=10)
    assert "connection refused" in explain("tcp://h:2376", ConnectionRefusedError(111, "x"))


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        ("Host key verification failed.", "the host key of prod.example is not in known_hosts"),
        ("ops@prod.example: Permission denied (publickey).", "refused every SSH key offered"),
        ("ssh: connect to host prod.example port 22: Connection timed out", "did not answer"),
        ("bash: line 1: docker: command not found", "the docker CLI is missing"),
    ],
)
def test_ssh_failures_are_explained(stderr: str, expected: str) -> None:
    assert expected in explain_ssh("ssh://ops@prod.example", stderr)


def test_ssh_command_uses_the_endpoint_files() -> None:
    command = ssh_command(
        "ssh://ops@prod.example",
        connect_timeout=10,
        config="/c",
        identity="/id",
        known_hosts="/kh",
    )
    assert command[:3] == ["ssh", "-F", "/c"]
    assert "ConnectTimeout=10" in command
    assert command[command.index("-i") + 1] == "/id"
    assert "UserKnownHostsFile=/kh" in command
    assert "-p" not in command


@pytest.mark.parametrize(
    ("image", "registry"),
    [
        ("localhost:5000/shop/web", "localhost:5000"),
        ("shop/web", "docker.io"),
        ("nginx", "docker.io"),
        ("Registry.Example.com/a/b:1", "registry.example.com"),
        ("index.docker.io/library/nginx", "docker.io"),
    ],
)
def test_registry_of_an_image(image: str, registry: str) -> None:
    assert registry_of(image) == registry


def test_cert_folder_links_files_with_other_names(tmp_path: Path) -> None:
    for name in ("root.crt", "me.crt", "me.key"):
        (tmp_path / name).write_text(name)
    endpoint = Endpoint(
        name="x",
        url="tcp://h:2376",
        tls_ca=str(tmp_path / "root.crt"),
        tls_cert=str(tmp_path / "me.crt"),
        tls_key=str(tmp_path / "me.key"),
    )
    folder = cert_folder(endpoint)
    assert (folder / "ca.pem").read_text() == "root.crt"
    assert (folder / "key.pem").read_text() == "me.key"
    assert folder.stat().st_mode & 0o077 == 0
    named = tmp_path / "named"
    named.mkdir()
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (named / name).write_text(name)
    same = Endpoint(
        name="y",
        url="tcp://h:2376",
        tls_ca=str(named / "ca.pem"),
        tls_cert=str(named / "cert.pem"),
        tls_key=str(named / "key.pem"),
    )
    assert cert_folder(same) == named
