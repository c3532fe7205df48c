"""The compose file of ``mode: stack``: which service is the app, and what Swarm is given.

The file is recorded with each release (``StackFile`` in the snapshot), so a rollback
deploys the very file that release ran with, without git. Because only that file is
recorded, it may not name files beside it. The app service is pinned to the release's
digest and gets the environment's configuration; every other service runs as written, its
image by the digest recorded for its tag (``pins``).
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from dockyard.core.errors import UserInputError
from dockyard.core.pipeline_file import BuildConfig, HealthcheckConfig
from dockyard.engine.deploy import labels as L
from dockyard.engine.deploy.deploy_cli import IMAGE_VARIABLE
from dockyard.engine.deploy.spec import DeploymentRequest
from dockyard.engine.deploy.stack_diff import apply_pins

# Swarm needs 3.x; 3.8 has everything set here (rollback_config, start_period, named volumes).
if TYPE_CHECKING:
    import docker.types

VERSION = "3.8"
FILE_MODE = 0o444


def load_stack(content: str, source: str, *, swarm: bool = True) -> dict[str, Any]:
    """The file as plain data, refused in one sentence when it could not be deployed as
    recorded (by ``docker stack deploy`` when ``swarm``, else by compose)."""
    try:
        document = YAML(typ="safe").load(content)
    except YAMLError as exc:
        raise UserInputError(f"{source} is not valid YAML: {exc}") from None
    services = document.get("services") if isinstance(document, dict) else None
    if not isinstance(services, dict) or not services:
        raise UserInputError(
            f"{source} is not a compose file Swarm can deploy: it needs a services: mapping."
        )
    version = str(document.get("version") or VERSION)
    if swarm and not version.startswith("3"):
        raise UserInputError(
            f"{source} says version: {version}, which docker stack deploy does not take; "
            "use version 3.x or leave version out."
        )
    for name, spec in services.items():
        if not isinstance(spec, dict):
            raise UserInputError(f"{source}: service {name} is not a mapping.")
        if "env_file" in spec:
            raise _beside(source, f"service {name} has env_file")
    for kind in ("configs", "secrets"):
        for name, spec in (document.get(kind) or {}).items():
            if isinstance(spec, dict) and "file" in spec:
                raise _beside(source, f"{kind[:-1]} {name} is read from a file")
    return document


def _beside(source: str, what: str) -> UserInputError:
    return UserInputError(
        f"{source}: {what} beside it, but a stack is deployed from the file alone, as "
        "recorded with the release; put the values in the file, or give the app service "
        "env_file, configs or secrets in its environment in dockyard.yml."
    )


def app_service(
    document: Mapping[str, Any],
    source: str,
    environment: str,
    named: str | None,
    build: BuildConfig | None,
) -> str:
    """The service that runs the released image: named, else found (docs/deployment.md)."""
    services: dict[str, Any] = dict(document["services"])
    if named is not None:
        if named not in services:
            raise UserInputError(
                f"Environment {environment!r} names service {named!r}, which {source} does "
                f"not have; it has: {', '.join(services)}."
            )
        return named
    by_image = [n for n, s in services.items() if IMAGE_VARIABLE in str(s.get("image", ""))]
    by_build = [n for n, s in services.items() if build and _builds(s, source, build)]
    for found in (by_image, by_build, list(services)):
        if len(found) == 1:
            return str(found[0])
    raise UserInputError(
        f"{source} has several services ({', '.join(services)}) and Dockyard cannot tell "
        f"which runs the released image; name it with service: in environments."
        f"{environment} of dockyard.yml, or give it image: ${{{IMAGE_VARIABLE}}}."
    )


def _builds(spec: Mapping[str, Any], source: str, build: BuildConfig) -> bool:
    """Whether the service's ``build:`` is the pipeline's own (the same context and file)."""
    value = spec.get("build")
    if value is None:
        return False
    if isinstance(value, dict):
        context = str(value.get("context", "."))
        dockerfile = str(value.get("dockerfile", "Dockerfile"))
    else:
        context, dockerfile = str(value), "Dockerfile"
    folder = posixpath.dirname(source)
    ours = posixpath.normpath(build.context)
    return posixpath.normpath(posixpath.join(folder, context)) == ours and posixpath.normpath(
        dockerfile
    ) == posixpath.normpath(build.dockerfile)


def stack_document(
    request: DeploymentRequest,
    secrets: list[docker.types.SecretReference],
    configs: list[docker.types.ConfigReference],
    monitor: float,
) -> str:
    """The file ``docker stack deploy`` is given: the recorded one, its app service pinned to
    the digest with the environment's configuration; as YAML text."""
    snapshot = request.snapshot
    assert snapshot.stack is not None
    document = load_stack(snapshot.stack.content, snapshot.stack.source)
    document["version"] = max(str(document.get("version") or VERSION), VERSION, key=_version)
    apply_pins(document["services"], snapshot.stack.pins)
    app: dict[str, Any] = document["services"][snapshot.stack.service]
    app.pop("build", None)
    app["image"] = request.image
    if snapshot.command is not None:
        app["command"] = list(snapshot.command)
    app["environment"] = {**_mapping(app.get("environment")), **snapshot.env}
    labels = L.labels_for(request)
    # On the task containers too, so the event watcher and the update watch see them.
    app["labels"] = {**_mapping(app.get("labels")), **labels}
    deploy = app.setdefault("deploy", {})
    dependents = ",".join(sorted(set(document["services"]) - {snapshot.stack.service}))
    deploy["labels"] = {**_mapping(deploy.get("labels")), **labels, L.DEPENDENTS: dependents}
    deploy["replicas"] = snapshot.replicas
    seconds = f"{monitor:g}s"
    deploy["update_config"] = {
        "parallelism": 1, "order": "start-first", "failure_action": "rollback", "monitor": seconds
    }  # fmt: skip
    deploy["rollback_config"] = {
        "parallelism": 1, "order": "start-first", "failure_action": "pause", "monitor": seconds
    }  # fmt: skip
    app["stop_grace_period"] = f"{snapshot.grace:g}s"
    if snapshot.healthcheck is not None:
        app["healthcheck"] = _healthcheck(snapshot.healthcheck)
    app["ports"] = [*(app.get("ports") or []), *snapshot.ports]
    _add_volumes(document, app, snapshot.volumes)
    _add_files(document, app, "secrets", [(s["SecretName"], s["File"]["Name"]) for s in secrets])
    _add_files(document, app, "configs", [(c["ConfigName"], c["File"]["Name"]) for c in configs])
    return dump(document)


def service_images(text: str, image: str) -> dict[str, str]:
    """Each service of a file ``stack_document`` made, with the image it runs ("" if none),
    ``${DOCKYARD_IMAGE}`` being ``image``."""
    services = YAML(typ="safe").load(text)["services"]
    return {
        str(name): str(spec.get("image") or "")
        .replace(f"${{{IMAGE_VARIABLE}}}", image)
        .replace(f"${IMAGE_VARIABLE}", image)
        for name, spec in services.items()
    }


def dump(document: Mapping[str, Any]) -> str:
    out = io.StringIO()
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    yaml.dump(dict(document), out)
    return out.getvalue()


def at_least(document: dict[str, Any], minimum: str) -> None:
    """Raise the file's ``version`` to ``minimum`` of its major version, when it has one."""
    version = str(document.get("version") or "")
    if version and _version(version) < _version(minimum):
        document["version"] = minimum


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def _mapping(value: Any) -> dict[str, str]:
    """Compose's ``KEY=value`` list form or a mapping, as a mapping."""
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    pairs = (str(item).partition("=") for item in value or [])
    return {key: text for key, _, text in pairs}


def _healthcheck(health: HealthcheckConfig) -> dict[str, Any]:
    if health.test[0] == "NONE":
        return {"disable": True}
    return {
        "test": list(health.test),
        "interval": f"{health.interval:g}s",
        "timeout": f"{health.timeout:g}s",
        "retries": health.retries,
        "start_period": f"{health.start_period:g}s",
    }


def _add_volumes(document: dict[str, Any], app: dict[str, Any], volumes: tuple[str, ...]) -> None:
    """Named volumes keep their own name, as in service mode (not ``<stack>_data``)."""
    declared = document.setdefault("volumes", {}) or {}
    document["volumes"] = declared
    for volume in volumes:
        source = volume.split(":", 1)[0]
        if ":" in volume and not source.startswith("/"):
            declared.setdefault(source, {"name": source})
    app["volumes"] = [*(app.get("volumes") or []), *volumes]
    if not declared:
        del document["volumes"]


def _add_files(
    document: dict[str, Any], app: dict[str, Any], kind: str, references: list[tuple[str, str]]
) -> None:
    """The versioned Swarm objects Dockyard made, as external ones of the file."""
    top = document.setdefault(kind, {}) or {}
    document[kind] = top
    listed = list(app.get(kind) or [])
    for index, (name, target) in enumerate(references):
        key = f"dockyard-{kind[:-1]}-{index}"
        top[key] = {"external": True, "name": name}
        listed.append({"source": key, "target": target, "mode": FILE_MODE})
    if listed:
        app[kind] = listed
    if not top:
        del document[kind]
