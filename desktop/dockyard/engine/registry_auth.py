"""Registry credentials from the OS keyring, for pushes and pulls.

A password is read once (``dockyard registry login``) into the keyring and handed to the
daemon per push/pull as ``auth_config``; it is never written to Dockyard's database or
logs. Without a keyring entry, docker-py falls back to the user's ``~/.docker/config.json``
(and its credential helpers), as the docker CLI would.
"""

from __future__ import annotations

import json
import logging

import docker.auth
import keyring
import keyring.errors

from dockyard.core.errors import InfrastructureError, UserInputError

log = logging.getLogger("dockyard.docker")

# Apart from deployment secrets and endpoint passphrases.
REGISTRY_SERVICE = "dockyard-registry"
DOCKER_HUB = "docker.io"
_HUB_ALIASES = {"index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
# What the daemon reports when a registry refuses a push or pull for want of a (right)
# login: no credentials, wrong ones (distribution's UNAUTHORIZED), or no permission.
_REFUSALS = (
    "no basic auth credentials",
    "unauthorized",
    "authentication required",
    "denied: ",
    "access to the resource is denied",
    "may require 'docker login'",
)


def registry_of(image_name: str) -> str:
    """The registry host of an image name: ``localhost:5000/shop/web`` → ``localhost:5000``."""
    registry, _ = docker.auth.resolve_repository_name(image_name)
    return normalize_registry(registry)


def normalize_registry(registry: str) -> str:
    host = registry.strip().lower()
    for prefix in ("https://", "http://"):
        host = host.removeprefix(prefix)
    host = host.split("/", 1)[0]
    return DOCKER_HUB if host in _HUB_ALIASES or not host else host


def _unavailable(exc: Exception) -> InfrastructureError:
    return InfrastructureError(
        f"The OS keyring is not available ({exc}); unlock or start your keyring "
        "(Secret Service, e.g. gnome-keyring) and try again."
    )


def store_login(registry: str, username: str, password: str) -> str:
    """Keep the credentials for ``registry``; returns the normalised registry name."""
    host = normalize_registry(registry)
    if not username or not password:
        raise UserInputError("Both a user name and a password are needed; nothing was stored.")
    value = json.dumps({"username": username, "password": password})
    try:
        keyring.set_password(REGISTRY_SERVICE, host, value)
    except (keyring.errors.KeyringError, RuntimeError) as exc:
        raise _unavailable(exc) from exc
    log.info("registry credentials stored for %s (user %s)", host, username)
    return host


def forget_login(registry: str) -> bool:
    """Remove the stored credentials; False when there were none."""
    try:
        keyring.delete_password(REGISTRY_SERVICE, normalize_registry(registry))
    except keyring.errors.PasswordDeleteError:
        return False
    except (keyring.errors.KeyringError, RuntimeError) as exc:
        raise _unavailable(exc) from exc
    return True


def stored_login(registry: str) -> dict[str, str] | None:
    host = normalize_registry(registry)
    try:
        value = keyring.get_password(REGISTRY_SERVICE, host)
    except (keyring.errors.KeyringError, RuntimeError) as exc:
        raise _unavailable(exc) from exc
    if value is None:
        return None
    data = json.loads(value)
    return {"username": str(data["username"]), "password": str(data["password"])}


def registry_auth(image_name: str) -> dict[str, str] | None:
    """``auth_config`` for pushing or pulling ``image_name``; None = let docker-py decide.

    docker-py uses ``~/.docker/config.json`` (and credential helpers) when no auth_config
    is given, so returning None keeps the user's ``docker login`` working.
    """
    host = registry_of(image_name)
    found = stored_login(host)
    if found is None:
        return None
    server = "https://index.docker.io/v1/" if host == DOCKER_HUB else host
    return {**found, "serveraddress": server}


def is_login_refusal(detail: str) -> bool:
    """Whether a daemon's push/pull error means the registry wants a (different) login."""
    text = detail.lower()
    return any(marker in text for marker in _REFUSALS)


def login_refused_message(image_name: str, auth: dict[str, str] | None, action: str) -> str:
    """One sentence for a registry that refused to ``action`` ("push", "pull") an image.

    ``auth`` is what :func:`registry_auth` gave for the image: None means no login was
    stored in the keyring, so the sentence says how to store one.
    """
    host = registry_of(image_name)
    if auth is None:
        return (
            f"The registry {host} requires a login to {action} {image_name}; run "
            f"'dockyard registry login {host} --username USER' with the password on "
            "standard input, then try again."
        )
    user = auth["username"]
    return (
        f"The registry {host} refused the stored login of {user} to {action} {image_name} "
        f"(wrong password, or no {action} permission); run 'dockyard registry login {host} "
        f"--username {user}' with the right password on standard input, then try again."
    )
