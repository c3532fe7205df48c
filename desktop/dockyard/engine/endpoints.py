"""Named Docker endpoints and the clients that talk to them.

``local`` is what the user's ``docker`` CLI would use: ``DOCKER_HOST`` (with
``DOCKER_TLS_VERIFY`` / ``DOCKER_CERT_PATH``), else the current Docker context, else the
default socket. Each worker opens its own client: docker-py does not promise that one
client is safe across threads.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions

from dockyard.core.errors import InfrastructureError, UserInputError
from dockyard.engine.streaming import CancellableAPIClient

log = logging.getLogger("dockyard.docker")

# Long operations (build, push, pull) must not die at docker-py's default 60 s read timeout.
LONG_TIMEOUT = 3600
PING_TIMEOUT = 10


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str = ""  # "" for local: resolved from the environment / context
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""

    @property
    def display_url(self) -> str:
        return self.url or os.environ.get("DOCKER_HOST", "") or "default context"


@dataclass(frozen=True)
class EndpointStatus:
    name: str
    ok: bool
    message: str  # "Docker 20.10.24, swarm manager, linux/x86_64" or the reason it failed
    version: str = ""
    swarm_role: str = ""  # "manager" | "worker" | "" (not in a swarm)


LOCAL = Endpoint(name="local")


class EndpointRegistry:
    """The endpoints named in ``DOCKYARD_HOME/hosts.json``, plus ``local``."""

    def __init__(self, home: Path) -> None:
        self.path = home / "hosts.json"

    def _load(self) -> dict[str, Endpoint]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise UserInputError(
                f"{self.path} is not valid JSON ({exc}); fix or remove it."
            ) from exc
        return {name: Endpoint(name=name, **fields) for name, fields in raw.items()}

    def _save(self, endpoints: dict[str, Endpoint]) -> None:
        data = {
            name: {k: v for k, v in asdict(e).items() if k != "name"}
            for name, e in endpoints.items()
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        tmp.replace(self.path)

    def list(self) -> list[Endpoint]:
        return [LOCAL, *sorted(self._load().values(), key=lambda e: e.name)]

    def get(self, name: str) -> Endpoint:
        if name == "local":
            return LOCAL
        endpoints = self._load()
        if name not in endpoints:
            known = ", ".join(e.name for e in self.list())
            raise UserInputError(
                f"Unknown Docker endpoint {name!r} (known: {known}); "
                f"add it with: dockyard hosts add {name} URL"
            )
        return endpoints[name]

    def add(self, endpoint: Endpoint) -> None:
        if endpoint.name == "local":
            raise UserInputError("'local' is built in (it follows DOCKER_HOST); pick another name.")
        validate_url(endpoint)
        endpoints = self._load()
        endpoints[endpoint.name] = endpoint
        self._save(endpoints)

    def remove(self, name: str) -> None:
        endpoints = self._load()
        if name not in endpoints:
            raise UserInputError(f"There is no Docker endpoint named {name!r}.")
        del endpoints[name]
        self._save(endpoints)


def validate_url(endpoint: Endpoint) -> None:
    url = endpoint.url
    if not url.startswith(("unix://", "tcp://", "ssh://", "npipe://")):
        raise UserInputError(
            f"Docker endpoint URL {url!r} must start with unix://, tcp:// or ssh://."
        )
    if url.startswith("tcp://"):
        host = url[len("tcp://") :].rsplit(":", 1)[0].strip("[]")
        tls = endpoint.tls_ca and endpoint.tls_cert and endpoint.tls_key
        if not tls and host not in ("127.0.0.1", "localhost", "::1"):
            raise UserInputError(
                f"Refusing plain tcp:// to {host}: anyone who can reach an unauthenticated "
                "Docker socket is root on that host; give --tls-ca, --tls-cert and --tls-key "
                "or use ssh://."
            )


def client_kwargs(endpoint: Endpoint, timeout: int) -> dict[str, Any]:
    """Connection settings for docker-py, as the docker CLI would use them for ``local``."""
    if not endpoint.url:
        kwargs: dict[str, Any] = docker.utils.kwargs_from_env()
        kwargs.setdefault("base_url", docker.constants.DEFAULT_UNIX_SOCKET)
    else:
        kwargs = {"base_url": endpoint.url}
        if endpoint.tls_cert:
            kwargs["tls"] = docker.tls.TLSConfig(
                client_cert=(endpoint.tls_cert, endpoint.tls_key),
                ca_cert=endpoint.tls_ca or None,
                verify=endpoint.tls_ca or True,
            )
    kwargs["timeout"] = timeout
    return kwargs


def open_client(endpoint: Endpoint = LOCAL, *, timeout: int = LONG_TIMEOUT) -> docker.DockerClient:
    """A new client for this endpoint; the caller owns (and closes) it.

    Its low-level API can abort streamed work (build, push) from another thread:
    ``client.api.abort_streams()``.
    """
    kwargs = client_kwargs(endpoint, timeout)
    _probe_unix_socket(endpoint, str(kwargs["base_url"]))
    try:
        client = docker.DockerClient.__new__(docker.DockerClient)
        client.api = CancellableAPIClient(**kwargs)
        return client
    except docker.errors.DockerException as exc:
        raise unreachable(endpoint, exc) from exc


def _probe_unix_socket(endpoint: Endpoint, url: str) -> None:
    """Fail early and cleanly on a dead unix socket.

    docker-py's unix transport leaks the socket of a failed connect; a probe of our own
    closes it and gives a plainer reason.
    """
    if not url.startswith(("unix://", "http+unix://")):
        return
    path = url.split("://", 1)[1]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(PING_TIMEOUT)
        try:
            sock.connect(path)
        except OSError as exc:
            reason = (
                "no Docker socket there" if isinstance(exc, FileNotFoundError) else exc.strerror
            )
            raise unreachable(endpoint, OSError(f"{reason} ({path})")) from exc


def unreachable(endpoint: Endpoint, exc: BaseException) -> InfrastructureError:
    reason = str(exc)
    if isinstance(exc, requests.exceptions.SSLError) or "CERTIFICATE" in reason.upper():
        hint = "check the endpoint's TLS CA, certificate and key"
    elif isinstance(exc, requests.exceptions.Timeout):
        hint = "the host did not answer in time; check the address and the network"
    else:
        hint = "start Docker there, or fix the endpoint in dockyard hosts"
    return InfrastructureError(
        f"Docker endpoint {endpoint.name!r} ({endpoint.display_url}) is unreachable: "
        f"{_short(reason)}; {hint}.",
        details=reason,
    )


def _short(reason: str) -> str:
    first = reason.strip().splitlines()[0] if reason.strip() else "no answer"
    return first if len(first) <= 200 else first[:197] + "…"


def check_endpoint(endpoint: Endpoint) -> EndpointStatus:
    """Ping, version, Swarm role and platform; never raises."""
    try:
        client = open_client(endpoint, timeout=PING_TIMEOUT)
        try:
            client.ping()
            info = client.info()
            version = client.version()
        finally:
            client.close()
    except InfrastructureError as exc:
        return EndpointStatus(endpoint.name, False, exc.message)
    except Exception as exc:  # noqa: BLE001 - any failure here means "unreachable"
        return EndpointStatus(endpoint.name, False, unreachable(endpoint, exc).message)
    swarm = info.get("Swarm", {})
    role = ""
    if swarm.get("LocalNodeState") == "active":
        role = "manager" if swarm.get("ControlAvailable") else "worker"
    platform = f"{version.get('Os', '?')}/{version.get('Arch', '?')}"
    server = version.get("Version", "?")
    swarm_text = f"swarm {role}" if role else "not in a swarm"
    return EndpointStatus(
        endpoint.name,
        True,
        f"Docker {server}, {swarm_text}, {platform}",
        version=server,
        swarm_role=role,
    )
