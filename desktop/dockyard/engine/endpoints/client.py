"""Docker SDK clients for named endpoints: TLS, ssh tunnels and timeouts set on purpose.

Each worker opens its own client: docker-py does not promise that one client is safe
across threads. Every connection must be made within ``CONNECT_TIMEOUT`` (so an
unreachable host answers within 10 s), while reads may take as long as the caller's
``timeout`` (builds and pushes run for minutes; docker-py's default of 60 s would kill them).
What only reads a local socket needs no SDK: ``daemon_reader``.
"""

from __future__ import annotations

from typing import Any

import docker
import docker.errors
import requests.adapters

from dockyard.core.errors import InfrastructureError, UserInputError
from dockyard.engine.endpoints.record import Endpoint
from dockyard.engine.endpoints.registry import (
    CONNECT_TIMEOUT,
    LOCAL,
    EndpointStatus,
    probe,
    resolve,
    safe_resolve,
    unreachable,
    validate_url,
)
from dockyard.engine.endpoints.sshtunnel import SshTunnel, ssh_command
from dockyard.engine.endpoints.streaming import CancellableAPIClient
from dockyard.engine.endpoints.tls import ssl_context_for

# Long operations (build, push, pull) must not die at docker-py's default 60 s read timeout.
LONG_TIMEOUT = 3600
PING_TIMEOUT = 10


def client_kwargs(endpoint: Endpoint, timeout: int) -> dict[str, Any]:
    """Connection settings for docker-py (TLS material is applied by ``open_client``)."""
    resolved = resolve(endpoint)
    kwargs: dict[str, Any] = {"base_url": resolved.url, "timeout": timeout}
    if resolved.url.startswith("tcp://") and resolved.uses_tls:
        kwargs["tls"] = True  # https://; the verifying SSL context is mounted by open_client
    return kwargs


class EndpointAPIClient(CancellableAPIClient):
    """An API client with a short connect timeout, optional TLS context and ssh tunnel."""

    def __init__(
        self,
        *,
        endpoint: Endpoint,
        tunnel: SshTunnel | None = None,
        setup_timeout: float = PING_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        work_timeout = kwargs.pop("timeout")
        # A fixed version here: the constructor would otherwise ask the daemon before the
        # TLS context is mounted and with the long timeout.
        super().__init__(version=docker.constants.DEFAULT_DOCKER_API_VERSION, **kwargs)
        self.tunnel = tunnel
        if kwargs.get("tls"):
            context, ca = ssl_context_for(endpoint)
            self.mount("https://", _TLSAdapter(context))
            self.verify = ca or True
        self.timeout = setup_timeout
        try:
            self._version = self._retrieve_server_version()
        except BaseException:
            self.close()
            raise
        self.timeout = work_timeout

    def _set_request_timeout(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        # requests takes (connect, read): connecting is always quick or hopeless, while a
        # build passes timeout=None (wait for ever) and a push the client's long timeout.
        timeout = kwargs.get("timeout", self.timeout)
        if not isinstance(timeout, tuple):
            kwargs["timeout"] = (
                CONNECT_TIMEOUT if timeout is None else min(CONNECT_TIMEOUT, timeout),
                timeout,
            )
        return kwargs

    def close(self) -> None:
        super().close()
        if self.tunnel is not None:
            self.tunnel.close()
            self.tunnel = None


class _TLSAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter with our SSL context (CA, client certificate, key passphrase)."""

    def __init__(self, context: Any) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


def open_client(endpoint: Endpoint = LOCAL, *, timeout: int = LONG_TIMEOUT) -> docker.DockerClient:
    """A new client for this endpoint; the caller owns (and closes) it.

    Connecting fails within ``CONNECT_TIMEOUT`` s with one clear sentence; ``timeout`` is
    the read timeout of later calls. Its low-level API can abort streamed work (build,
    push) from another thread: ``client.api.abort_streams()``.
    """
    resolved = resolve(endpoint)
    validate_url(resolved)
    kwargs = client_kwargs(resolved, timeout)
    url = resolved.url
    tunnel: SshTunnel | None = None
    setup_timeout: float = min(PING_TIMEOUT, timeout)
    if url.startswith("ssh://"):
        command = ssh_command(
            url,
            connect_timeout=CONNECT_TIMEOUT,
            config=resolved.ssh_config,
            identity=resolved.ssh_identity,
            known_hosts=resolved.ssh_known_hosts,
        )
        tunnel = SshTunnel(command)
        kwargs["base_url"] = tunnel.url
        # ssh's own ConnectTimeout must fire first, so its reason reaches the user.
        setup_timeout = PING_TIMEOUT + CONNECT_TIMEOUT
    else:
        probe(resolved)
    try:
        api = EndpointAPIClient(
            endpoint=resolved, tunnel=tunnel, setup_timeout=setup_timeout, **kwargs
        )
    except (UserInputError, InfrastructureError):
        if tunnel is not None:
            tunnel.close()
        raise
    except Exception as exc:
        ssh_error = tunnel.last_error if tunnel is not None else ""
        if tunnel is not None:
            tunnel.close()
        raise unreachable(resolved, exc, ssh_error=ssh_error) from exc
    client = docker.DockerClient.__new__(docker.DockerClient)
    client.api = api
    return client


def check_endpoint(endpoint: Endpoint) -> EndpointStatus:
    """Ping, version, Swarm role and platform; never raises."""
    url = safe_resolve(endpoint).url
    try:
        client = open_client(endpoint, timeout=PING_TIMEOUT)
        try:
            client.ping()
            info = client.info()
            version = client.version()
        finally:
            client.close()
    except (InfrastructureError, UserInputError) as exc:
        return EndpointStatus(endpoint.name, False, exc.message, url=url)
    except Exception as exc:  # noqa: BLE001 - any failure here means "unreachable"
        return EndpointStatus(endpoint.name, False, unreachable(endpoint, exc).message, url=url)
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
        platform=platform,
        url=url,
    )
