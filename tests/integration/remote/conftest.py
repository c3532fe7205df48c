"""Real remote transports on this machine: a TLS dockerd, sshd, a blackholed address.

All traffic goes to 127.0.0.1 or into a network namespace these fixtures create. Nothing
here reads or writes the user's ~/.ssh or ~/.docker.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testbed.baseimage import ensure_busybox
from testbed.dockerd import NoDaemon, PrivateDaemon, start_daemon
from testbed.ports import free_port, wait_for_port

from .pki import RemotePKI, make_pki

pytestmark = pytest.mark.docker


@pytest.fixture(scope="package")
def pki(tmp_path_factory: pytest.TempPathFactory) -> RemotePKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


@dataclass
class TlsDaemon:
    daemon: PrivateDaemon
    port: int

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    @property
    def unix_url(self) -> str:
        return self.daemon.url


@pytest.fixture(scope="package")
def tls_daemon(pki: RemotePKI) -> Iterator[TlsDaemon]:
    """A private dockerd (no Swarm) on a unix socket and on 127.0.0.1 with --tlsverify."""
    port = free_port()
    tls_args = [
        "--tlsverify",
        "--tlscacert", str(pki.ca),
        "--tlscert", str(pki.server.cert),
        "--tlskey", str(pki.server.key),
        "--host", f"tcp://127.0.0.1:{port}",
    ]  # fmt: skip
    try:
        daemon = start_daemon(tls_args, swarm=False)
    except NoDaemon as exc:
        pytest.fail(f"No TLS Docker daemon for the remote tests: {exc}", pytrace=False)
    try:
        client = daemon.client()
        ensure_busybox(client)
        client.close()
        yield TlsDaemon(daemon, port)
    finally:
        daemon.stop()


@pytest.fixture
def wrong_name_server(pki: RemotePKI) -> Iterator[int]:
    """A TLS server on 127.0.0.1 whose certificate names only example.invalid."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.wrong_name_server.cert, pki.wrong_name_server.key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with (
                contextlib.suppress(OSError, ssl.SSLError),
                context.wrap_socket(conn, server_side=True) as tls,
            ):
                tls.recv(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    thread.join(timeout=10)


@dataclass
class SshServer:
    port: int
    client_key: Path
    known_hosts: Path  # holds the server's host key for [127.0.0.1]:port
    empty_known_hosts: Path
    config: Path  # an ssh_config that keeps ssh away from the user's ~/.ssh

    @property
    def url(self) -> str:
        return f"ssh://root@127.0.0.1:{self.port}"


def _keygen(path: Path, comment: str) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path.with_suffix(".pub").read_text().strip()


@pytest.fixture(scope="package")
def sshd(tls_daemon: TlsDaemon, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """OpenSSH's sshd on a free 127.0.0.1 port; its sessions reach the TLS daemon's socket."""
    if shutil.which("ssh") is None or not Path("/usr/sbin/sshd").exists():
        pytest.fail("openssh-server and openssh-client are needed for the ssh tests")
    folder = tmp_path_factory.mktemp("sshd")
    host_public = _keygen(folder / "host_key", "dockyard-test-host")
    client_public = _keygen(folder / "client_key", "dockyard-test-client")
    authorized = folder / "authorized_keys"
    authorized.write_text(client_public + "\n")
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"""\
Port {port}
ListenAddress 127.0.0.1
HostKey {folder / "host_key"}
PidFile {folder / "sshd.pid"}
AuthorizedKeysFile {authorized}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitUserRC no
PermitUserEnvironment no
SetEnv DOCKER_HOST={tls_daemon.unix_url}
"""
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    log = folder / "sshd.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], stdout=out, stderr=out
        )
    try:
        if not wait_for_port(port):
            pytest.fail(f"sshd did not start: {log.read_text(errors='replace')}")
        known_hosts = folder / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{port} {host_public}\n")
        empty = folder / "empty_known_hosts"
        empty.write_text("")
        client_config = folder / "ssh_config"
        client_config.write_text(
            f"""\
Host *
  UserKnownHostsFile {empty}
  GlobalKnownHostsFile /dev/null
  IdentitiesOnly yes
  IdentityAgent none
"""
        )
        yield SshServer(port, folder / "client_key", known_hosts, empty, client_config)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def no_user_ssh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No agent and a throw-away HOME / DOCKER_CONFIG, so the user's keys never take part."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    (tmp_path / "home").mkdir()


BLACKHOLE_TARGET = "198.18.77.6"  # routed only into the namespace below, which drops it


@pytest.fixture
def blackholed_address() -> Iterator[str]:
    """An address whose packets vanish: routed into our own netns, dropped there."""
    name = f"dyk-bh-{os.getpid()}"
    host_if, ns_if = f"dykh{os.getpid() % 100000}", f"dykn{os.getpid() % 100000}"

    def ip(*args: str, netns: bool = False) -> None:
        cmd = ["ip", "netns", "exec", name, "ip", *args] if netns else ["ip", *args]
        subprocess.run(cmd, check=True, capture_output=True)

    try:
        ip("netns", "add", name)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot create a network namespace here: {exc.stderr!r}")
    try:
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        ip("link", "set", ns_if, "netns", name)
        ip("addr", "add", "198.18.77.1/30", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("addr", "add", "198.18.77.2/30", "dev", ns_if, netns=True)
        ip("link", "set", ns_if, "up", netns=True)
        ip("link", "set", "lo", "up", netns=True)
        ip("route", "add", "198.18.77.4/30", "via", "198.18.77.2", "dev", host_if)
        # Forwarding on, so the namespace silently drops (blackhole) instead of answering
        # "host unreachable".
        subprocess.run(
            ["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
            check=True,
            capture_output=True,
        )
        ip("route", "add", "blackhole", "198.18.77.4/30", netns=True)
        yield BLACKHOLE_TARGET
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
