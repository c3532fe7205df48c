"""A Docker daemon the tests own.

As root with ``dockerd`` installed, a private daemon is started with its own data root,
exec root and socket, and Swarm is initialised on it. An existing daemon is used only
when ``DOCKYARD_TEST_DOCKER_HOST`` names it, and then nothing on it is changed (no
``swarm init``): tests that need Swarm are skipped there with the reason.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker

from .ports import free_port, free_udp_port


class NoDaemon(RuntimeError):
    pass


@dataclass
class PrivateDaemon:
    url: str
    owned: bool
    swarm: bool
    root: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    tls_port: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.url, timeout=120)

    def stop(self) -> None:
        if not self.owned or self.process is None:
            return
        bridges = self._bridge_interfaces()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.root is not None:
            # Layers under overlay2 may still be mounted for a moment after exit.
            subprocess.run(["umount", "-R", str(self.root / "data")], capture_output=True)
            shutil.rmtree(self.root, ignore_errors=True)
        # dockerd keeps its bridges on exit (its networks outlive it in the data root,
        # which is gone now): left behind they use up the address pools of later daemons.
        for name in bridges if shutil.which("ip") else []:
            subprocess.run(["ip", "link", "delete", name], capture_output=True)

    def _bridge_interfaces(self) -> list[str]:
        """The host interfaces of this daemon's bridge networks."""
        try:
            client = self.client()
            networks = client.api.networks()
            client.close()
        except docker.errors.DockerException:
            return []
        # Only br-<network id>: a named bridge (Swarm's docker_gwbridge) is shared by every
        # daemon on the host, and another one may still be using it.
        return [
            f"br-{network['Id'][:12]}"
            for network in networks
            if network.get("Driver") == "bridge"
            and not (network.get("Options") or {}).get("com.docker.network.bridge.name")
        ]


def _wait_ready(url: str, process: subprocess.Popen[bytes] | None, log: Path | None) -> None:
    deadline = time.monotonic() + 60
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log else ""
            raise NoDaemon(f"the test dockerd exited at start-up:\n{tail}")
        if not url.startswith("unix://") or Path(url[len("unix://") :]).exists():
            # A fixed API version: the default probes the daemon in the constructor.
            client = docker.DockerClient(base_url=url, timeout=5, version="1.41")
            try:
                client.ping()
                return
            except Exception as exc:  # noqa: BLE001 - keep polling until the deadline
                last = exc
            finally:
                client.close()
        time.sleep(0.2)
    raise NoDaemon(f"the test dockerd at {url} did not answer within 60 s ({last})")


def start_daemon(tls_args: list[str] | None = None, *, swarm: bool = True) -> PrivateDaemon:
    """The shared test daemon; ``tls_args`` (extra dockerd flags) always start a private one."""
    existing = os.environ.get("DOCKYARD_TEST_DOCKER_HOST")
    if existing and tls_args is None:
        _wait_ready(existing, None, None)
        client = docker.DockerClient(base_url=existing, timeout=10)
        swarm = client.info().get("Swarm", {}).get("ControlAvailable", False)
        client.close()
        return PrivateDaemon(url=existing, owned=False, swarm=bool(swarm))
    dockerd = shutil.which("dockerd")
    if dockerd is None or os.geteuid() != 0:
        raise NoDaemon(
            "no Docker daemon for the tests: run the suite as root with dockerd installed "
            "(make test installs docker.io), or set DOCKYARD_TEST_DOCKER_HOST to a daemon "
            "the tests may use"
        )
    root = Path(tempfile.mkdtemp(prefix="dyd-", dir="/tmp"))
    sock = root / "docker.sock"
    log = root / "dockerd.log"
    args = [
        dockerd,
        "--data-root", str(root / "data"),
        "--exec-root", str(root / "exec"),
        "--pidfile", str(root / "dockerd.pid"),
        "--host", f"unix://{sock}",
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        # Its own address ranges: networks of another daemon on the host (or bridges left
        # by a killed one) cannot exhaust the few default ones.
        "--default-address-pool", "base=10.210.0.0/16,size=24",
        "--default-address-pool", "base=10.211.0.0/16,size=24",
        "--storage-driver=overlay2",
        *(tls_args or []),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    url = f"unix://{sock}"
    daemon = PrivateDaemon(url=url, owned=True, swarm=False, root=root, process=process)
    try:
        _wait_ready(url, process, log)
        if not swarm:
            return daemon
        client = daemon.client()
        client.swarm.init(
            advertise_addr="127.0.0.1",
            listen_addr=f"127.0.0.1:{free_port()}",
            data_path_port=free_udp_port(),
        )
        client.close()
        daemon.swarm = True
    except Exception:
        daemon.stop()
        raise
    return daemon


def ensure_swarm_gateway(client: docker.DockerClient) -> None:
    """Create ``docker_gwbridge`` as Docker documents it, before a test takes its snapshot.

    The daemon creates it for the first Swarm task with published ports and keeps it
    while the ingress sandbox lives: daemon infrastructure, not something a test leaks.
    """
    if client.networks.list(names=["docker_gwbridge"]):
        return
    client.networks.create(
        "docker_gwbridge",
        driver="bridge",
        options={
            "com.docker.network.bridge.name": "docker_gwbridge",
            "com.docker.network.bridge.enable_icc": "false",
            "com.docker.network.bridge.enable_ip_masquerade": "true",
        },
    )
