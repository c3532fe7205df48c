"""Docker plumbing shared by both deployers: errors, image pulls, ports, mounts, file archives."""

from __future__ import annotations

import io
import re
import tarfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import docker
import docker.errors
import docker.types
import requests.exceptions

from dockyard.core.errors import DockyardError, InfrastructureError, UserInputError
from dockyard.engine.endpoints.daemon_reader import refused, unanswered
from dockyard.engine.endpoints.registry_auth import (
    is_login_refusal,
    login_refused_message,
    registry_auth,
)
from dockyard.engine.events import wait_or_cancel as wait_or_cancel  # the deployers' import

_PORT = re.compile(
    r"(?:(?:(?P<ip>\d{1,3}(?:\.\d{1,3}){3}):)?(?P<published>\d+):)?(?P<target>\d+)(?:/(?P<proto>tcp|udp))?"
)


@contextmanager
def docker_errors(action: str) -> Iterator[None]:
    """Turn what docker-py raises into one clear sentence (InfrastructureError), worded
    as ``daemon_errors`` words what a reader raises."""
    try:
        yield
    except DockyardError:
        raise
    except docker.errors.APIError as exc:
        raise refused(action, str(exc.explanation or exc), str(exc)) from exc
    except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
        raise unanswered(action, exc, str(exc)) from exc


def ensure_image(client: docker.DockerClient, image: str, log: Callable[[str], None]) -> None:
    """Pull ``name@digest`` unless the daemon has it already (rollback works offline)."""
    if _present(client, image):
        return
    if "@" not in image and ":" not in image.rsplit("/", 1)[-1]:
        raise UserInputError(
            f"The image {image} is not on this Docker host and has no registry name; set "
            "image: in dockyard.yml to a registry repository so other hosts can pull it."
        )
    log(f"Pulling {image}")
    # Looked up only now: a host that has the image deploys without the keyring.
    auth = registry_auth(image)
    try:
        for chunk in client.api.pull(image, stream=True, decode=True, auth_config=auth):
            if "error" in chunk:
                raise docker.errors.APIError(str(chunk["error"]))
    except docker.errors.APIError as exc:
        if is_login_refusal(str(exc.explanation or exc)):
            raise InfrastructureError(login_refused_message(image, auth, "pull")) from exc
        raise InfrastructureError(
            f"Could not pull {image}: {exc.explanation or exc}; check that the registry is "
            "reachable from the Docker host and that it is logged in there."
        ) from exc


def check_pull_login(client: docker.DockerClient, image: str) -> None:
    """Refuse in one sentence an image the host lacks and its registry will not serve with
    the login Dockyard has for it (or without one): Swarm's tasks would only fail with
    "No such image". Any other answer is left to the pull itself."""
    if _present(client, image):
        return
    auth = registry_auth(image)
    try:
        client.api.inspect_distribution(image, auth_config=auth)
    except docker.errors.APIError as exc:
        if is_login_refusal(str(exc.explanation or exc)):
            raise InfrastructureError(login_refused_message(image, auth, "pull")) from exc
    except requests.exceptions.RequestException:
        pass


def _present(client: docker.DockerClient, image: str) -> bool:
    try:
        client.images.get(image)
        return True
    except docker.errors.ImageNotFound:
        return False
    except docker.errors.APIError as exc:
        if exc.status_code != 404:
            raise
        return False


def parse_port(spec: str) -> tuple[str | None, int | None, int, str]:
    """``"127.0.0.1:8080:80/tcp"`` -> (address, published, target, protocol)."""
    match = _PORT.fullmatch(spec.strip())
    if not match:
        raise UserInputError(f"Port {spec!r} is not like 8080:80; fix ports in dockyard.yml.")
    published = match.group("published")
    return (
        match.group("ip"),
        int(published) if published else None,
        int(match.group("target")),
        match.group("proto") or "tcp",
    )


def container_ports(specs: tuple[str, ...]) -> dict[str, list[Any]]:
    """docker-py's ``ports=`` for containers: ``{"80/tcp": [("127.0.0.1", 8080)]}``."""
    ports: dict[str, list[Any]] = {}
    for spec in specs:
        address, published, target, proto = parse_port(spec)
        binding: Any = (address, published) if address else published
        ports.setdefault(f"{target}/{proto}", []).append(binding)
    return ports


def service_ports(specs: tuple[str, ...]) -> list[dict[str, Any]]:
    """The Swarm endpoint spec's ports (published through the ingress routing mesh)."""
    ports = []
    for spec in specs:
        _, published, target, proto = parse_port(spec)
        port: dict[str, Any] = {"TargetPort": target, "Protocol": proto, "PublishMode": "ingress"}
        if published is not None:
            port["PublishedPort"] = published
        ports.append(port)
    return ports


def mounts(specs: tuple[str, ...]) -> list[docker.types.Mount]:
    """``data:/var/lib/app:ro`` as a Mount; a relative host path cannot be deployed."""
    result = []
    for spec in specs:
        source = spec.split(":")[0] if spec.count(":") else ""
        if source.startswith("."):
            raise UserInputError(
                f"Volume {spec!r} names a path relative to the repository, which does not "
                "exist on the Docker host; use a named volume or an absolute host path."
            )
        try:
            result.append(docker.types.Mount.parse_mount_string(spec))
        except docker.errors.InvalidArgument as exc:
            raise UserInputError(f"Volume {spec!r} is not valid: {exc}.") from exc
    return result


def healthcheck_spec(health: Any) -> dict[str, Any] | None:
    """Docker's HealthConfig (nanoseconds) from a HealthcheckConfig, or None."""
    if health is None:
        return None
    return {
        "test": list(health.test),
        "interval": int(health.interval * 1e9),
        "timeout": int(health.timeout * 1e9),
        "retries": int(health.retries),
        "start_period": int(health.start_period * 1e9),
    }


def files_archive(files: Mapping[str, tuple[bytes, int]]) -> bytes:
    """A tar of absolute container paths -> (content, mode), for ``put_archive("/")``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size = len(content)
            info.mode = mode
            info.mtime = int(time.time())
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
