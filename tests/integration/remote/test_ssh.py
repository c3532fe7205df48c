"""ssh:// endpoints through OpenSSH: a real sshd on 127.0.0.1, host keys checked strictly."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest

from dockyard.engine.endpoints.client import check_endpoint, open_client
from dockyard.engine.endpoints.registry import Endpoint
from dockyard.engine.endpoints.sshtunnel import ssh_command
from dockyard.engine.pipeline.compose_endpoint import compose_environment

from .conftest import SshServer

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_user_ssh")]


def ssh_endpoint(server: SshServer, *, known: bool = True) -> Endpoint:
    return Endpoint(
        name="over-ssh",
        url=server.url,
        ssh_config=str(server.config),
        ssh_identity=str(server.client_key),
        ssh_known_hosts=str(server.known_hosts if known else server.empty_known_hosts),
    )


def test_check_over_ssh_reports_the_daemon(sshd: SshServer) -> None:
    status = check_endpoint(ssh_endpoint(sshd))
    assert status.ok, status.message
    assert status.message.startswith("Docker 20.10")
    assert status.url == sshd.url


def test_containers_run_over_ssh(sshd: SshServer) -> None:
    client = open_client(ssh_endpoint(sshd))
    name = f"dyk-ssh-{uuid.uuid4().hex[:8]}"
    try:
        output = client.containers.run(
            "busybox:stable", ["echo", "over ssh"], name=name, remove=True
        )
        assert output == b"over ssh\n"
    finally:
        client.close()
    tunnel_folder = client.api.tunnel
    assert tunnel_folder is None  # closing the client closed its tunnel


def test_unknown_host_key_is_refused(sshd: SshServer) -> None:
    started = time.monotonic()
    status = check_endpoint(ssh_endpoint(sshd, known=False))
    assert not status.ok
    assert "the host key of 127.0.0.1 is not in known_hosts" in status.message
    assert time.monotonic() - started < 10


def test_unknown_key_is_refused_with_a_hint(sshd: SshServer, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    endpoint = Endpoint(
        name="stranger",
        url=sshd.url,
        ssh_config=str(sshd.config),
        ssh_identity=str(stranger),  # a key the server does not know
        ssh_known_hosts=str(sshd.known_hosts),
    )
    status = check_endpoint(endpoint)
    assert not status.ok
    assert "refused every SSH key offered" in status.message


def test_ssh_command_checks_host_keys_strictly() -> None:
    command = ssh_command("ssh://deploy@build.example:2222", connect_timeout=10)
    assert "StrictHostKeyChecking=yes" in command
    assert "BatchMode=yes" in command
    assert command[-3:] == ["--", "build.example", "docker system dial-stdio"]
    assert command[command.index("-p") + 1] == "2222"
    assert command[command.index("-l") + 1] == "deploy"


def test_compose_environment_for_ssh_goes_through_a_working_tunnel(sshd: SshServer) -> None:
    env = compose_environment(ssh_endpoint(sshd))
    assert env["DOCKER_HOST"].startswith("unix://")
    client = open_client(Endpoint(name="via-tunnel", url=env["DOCKER_HOST"]))
    try:
        assert client.ping()
    finally:
        client.close()
