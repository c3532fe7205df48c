"""Swarm secrets and configs, one immutable version per content.

Swarm secrets and configs cannot change; a new value gets a new object whose name ends in
10 hex digits of the sha256 of its keyed fingerprint (secrets: nothing guessable from the
value alone) or of its content (configs). A version no service uses any more is removed
after the deployment settled.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from typing import Any

import docker
import docker.errors
import docker.types

from dockyard.core.errors import UserInputError
from dockyard.engine.deploy import labels as L
from dockyard.engine.deploy.dockerops import docker_errors
from dockyard.engine.deploy.spec import DeploymentRequest, LogFn

MAX_NAME = 64
_UNSAFE = re.compile(r"[^a-zA-Z0-9]+")


def object_name(service: str, what: str, version: str) -> str:
    """``<service>-<what>-<version>``, shortened to Swarm's 64 characters."""
    slug = _UNSAFE.sub("-", what).strip("-")[:24].strip("-") or "file"
    suffix = f"-{slug}-{version[:10]}"
    return service[: MAX_NAME - len(suffix)] + suffix


def ensure_secrets(
    client: docker.DockerClient, request: DeploymentRequest, service: str, log: LogFn
) -> list[docker.types.SecretReference]:
    """A version that exists is used without its value (putting back an earlier release
    needs none); one to create needs it."""
    references = []
    for secret in sorted(request.snapshot.secrets):
        mark = request.snapshot.secrets[secret]
        name = object_name(service, secret, hashlib.sha256(mark.encode()).hexdigest())
        value = request.secret_values.get(secret)
        object_id = _existing(client.secrets, name)
        if object_id is None and value is None:
            raise UserInputError(
                f"Secret {secret!r} has no value for {request.environment}; set it with: "
                f"dockyard secret set {request.repo} {request.environment} {secret}"
            )
        if object_id is None:
            labels = {**_owner(request), L.SECRET_NAME: secret}
            object_id = _create(client.secrets, name, (value or "").encode(), labels, log)
        references.append(
            docker.types.SecretReference(object_id, name, filename=secret, mode=0o444)
        )
    return references


def ensure_configs(
    client: docker.DockerClient, request: DeploymentRequest, service: str, log: LogFn
) -> list[docker.types.ConfigReference]:
    references = []
    for target, file in sorted(request.snapshot.configs.items()):
        name = object_name(service, target.rsplit("/", 1)[-1], file.sha256)
        labels = {**_owner(request), L.CONFIG_TARGET: target}
        object_id = _existing(client.configs, name) or _create(
            client.configs, name, file.content.encode(), labels, log
        )
        references.append(
            docker.types.ConfigReference(object_id, name, filename=target, mode=0o444)
        )
    return references


def remove_unused(client: docker.DockerClient, repo: str, environment: str, log: LogFn) -> None:
    """Remove this environment's secret and config versions that no service refers to."""
    with docker_errors("list services"):
        services = client.services.list()
    in_use: set[str] = set()
    for service in services:
        container = service.attrs["Spec"].get("TaskTemplate", {}).get("ContainerSpec", {})
        in_use.update(s["SecretID"] for s in container.get("Secrets") or [])
        in_use.update(c["ConfigID"] for c in container.get("Configs") or [])
    for kind, collection in (("secret", client.secrets), ("config", client.configs)):
        with docker_errors(f"list {kind}s"):
            found = collection.list(filters=L.selector(repo, environment))
        for item in found:
            if item.id in in_use:
                continue
            try:
                item.remove()
                log(f"Removed the unused {kind} version {item.name}")
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:  # still referenced by a task shutting down
                log(f"Kept {kind} {item.name}: {exc.explanation or exc}")


def remove_all(client: docker.DockerClient, repo: str, environment: str) -> None:
    for collection in (client.secrets, client.configs):
        with docker_errors("remove Swarm secrets and configs"):
            for item in collection.list(filters=L.selector(repo, environment)):
                with contextlib.suppress(docker.errors.NotFound):
                    item.remove()


def _owner(request: DeploymentRequest) -> dict[str, str]:
    return {L.REPO: request.repo, L.ENVIRONMENT: request.environment, L.MANAGED: "true"}


def _existing(collection: Any, name: str) -> str | None:
    """The id of the version called ``name``, if there is one."""
    with docker_errors(f"look up {name}"):
        # The name filter matches prefixes too: compare exactly.
        for item in collection.list(filters={"name": name}):
            if item.name == name:
                return str(item.id)
    return None


def _create(collection: Any, name: str, data: bytes, labels: dict[str, str], log: LogFn) -> str:
    with docker_errors(f"create {name}"):
        created = collection.create(name=name, data=data, labels=labels)
    log(f"Created {name}")
    return str(created.id)
