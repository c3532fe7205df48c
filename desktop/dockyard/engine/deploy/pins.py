"""Dependent images pinned by digest: what the approver saw is what runs.

A compose file names its dependents by tag (``redis:7``), which a registry may move at any
time; Swarm would pull whatever the tag points to on a task restart, a rollback or the next
deployment. So when a release's snapshot is made, each dependent's tag is resolved on the
environment's Docker host and recorded (``StackFile.pins``); deployments run the pins.
Snapshots recorded before pins existed have none and deploy as their file says.
"""

from __future__ import annotations

from dataclasses import replace

import docker
import docker.errors
import requests

from dockyard.core.errors import InfrastructureError, UserInputError
from dockyard.engine.deploy.deploy_cli import IMAGE_VARIABLE
from dockyard.engine.deploy.spec import StackFile
from dockyard.engine.deploy.stack_file import load_stack
from dockyard.engine.endpoints.registry_auth import (
    is_login_refusal,
    login_refused_message,
    registry_auth,
)

DOCKER_HUB_PREFIXES = ("docker.io/library/", "docker.io/", "index.docker.io/library/")


def pin_dependents(client: docker.DockerClient, stack: StackFile, environment: str) -> StackFile:
    """The file with each dependent's image resolved to ``name@sha256:…`` on ``client``'s
    host; refused in one sentence naming one that cannot be."""
    document = load_stack(stack.content, stack.source, swarm=False)
    pins = {}
    for name, spec in document["services"].items():
        image = str(spec.get("image") or "")
        if name == stack.service or not image or "@" in image or IMAGE_VARIABLE in image:
            continue  # the release's own digest, or a digest already
        pinned = resolve(client, image)
        if pinned is None:
            raise UserInputError(
                f"The image {image} of service {name} in {stack.source} (environment "
                f"{environment!r}) cannot be resolved to a digest on the environment's Docker "
                "host; push it to a registry that host reaches, or give it by digest "
                "(name@sha256:…), and request the release again."
            )
        pins[str(name)] = pinned
    return replace(stack, pins=pins)


def resolve(client: docker.DockerClient, image: str) -> str | None:
    """``name@sha256:…`` that ``image`` (a tag) points to: the registry's manifest digest
    (asked with the login Dockyard finds for it, its own first), else the host's own copy's
    when the registry cannot be asked; None when neither. A registry that refused the
    login, for an image the host lacks, is said in one sentence."""
    name = repository(image)
    auth = registry_auth(image)
    refused = None
    try:
        found = client.api.inspect_distribution(image, auth_config=auth)
        digest = found["Descriptor"]["digest"]
        return f"{name}@{digest}"
    except docker.errors.APIError as exc:
        if is_login_refusal(str(exc.explanation or exc)):
            refused = InfrastructureError(login_refused_message(image, auth, "pull"))
    except (requests.RequestException, KeyError, TypeError):
        pass
    pinned = _local(client, image, name)
    if pinned is None and refused is not None:
        raise refused
    return pinned


def _local(client: docker.DockerClient, image: str, name: str) -> str | None:
    """The host's own copy's ``name@sha256:…``, if it has one pulled from ``name``."""
    try:
        local = client.images.get(image)
    except (docker.errors.APIError, requests.RequestException):
        return None
    for reference in local.attrs.get("RepoDigests") or []:
        if _short(reference.split("@", 1)[0]) == _short(name):
            return str(reference)
    return None


def repository(image: str) -> str:
    """``registry:5000/app`` of ``registry:5000/app:1``: the name without its tag."""
    head, _, last = image.rpartition("/")
    name = last.split(":", 1)[0]
    return f"{head}/{name}" if head else name


def _short(name: str) -> str:
    for prefix in DOCKER_HUB_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name
