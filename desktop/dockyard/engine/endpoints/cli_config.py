"""A private Docker CLI configuration carrying Dockyard's registry logins, for the CLI runs
that hand logins on (``docker stack deploy --with-registry-auth``: Swarm keeps each
service's login for its tasks' pulls).

The docker CLI reads logins only from its own configuration, so for images in registries
with a Dockyard login, the user's ``config.json`` is copied as it is (``auths``,
``credsStore``, ``credHelpers``, proxies, …) with an ``auths`` entry per such registry and a
``credHelpers`` entry of ``""`` for it, which makes the CLI read that registry's login from
the file rather than from a credential store. Every other registry keeps the user's login,
helper or none. The file is 0600 in a 0700 folder the caller removes; nothing of it is
logged.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dockyard.engine.endpoints.registry_auth import (
    DOCKER_HUB,
    HUB_SERVER,
    dockyard_login,
    registry_of,
    user_config_folder,
)

log = logging.getLogger("dockyard.docker")

FOLDER = "docker-config"


def config_with_logins(images: Iterable[str], folder: Path) -> dict[str, str]:
    """Write the private configuration into ``folder`` when a registry of ``images`` has a
    Dockyard login; returns ``DOCKER_CONFIG`` pointing at it, or nothing (the user's own
    configuration then serves as it is)."""
    logins = {}
    for host in sorted({registry_of(image) for image in images if image}):
        login = dockyard_login(host)
        if login is not None:
            logins[HUB_SERVER if host == DOCKER_HUB else host] = login
    if not logins:
        return {}
    own = user_config_folder()
    config = _read(own / "config.json")
    auths = dict(_mapping(config.get("auths")))
    helpers = dict(_mapping(config.get("credHelpers")))
    for key, login in logins.items():
        token = f"{login['username']}:{login['password']}".encode()
        auths[key] = {"auth": base64.b64encode(token).decode()}
        helpers[key] = ""  # the file's entry, not credsStore, answers for this registry
    config |= {"auths": auths, "credHelpers": helpers}
    # Contexts stay beside the user's config (the endpoint comes as DOCKER_HOST); CLI
    # plugins there are still found.
    config.pop("currentContext", None)
    plugins = [str(p) for p in config.get("cliPluginsExtraDirs") or [] if isinstance(p, str)]
    config["cliPluginsExtraDirs"] = [*plugins, str(own / "cli-plugins")]
    private = folder / FOLDER
    private.mkdir(mode=0o700)
    descriptor = os.open(private / "config.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(config, file)
    return {"DOCKER_CONFIG": str(private)}


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring the Docker CLI's configuration %s (%s)", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
