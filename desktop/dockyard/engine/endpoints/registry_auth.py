"""Registry credentials for pushes and pulls: Dockyard's logins, then the Docker CLI's.

A password is read once (``dockyard registry login``) into the OS keyring and handed to the
daemon per push/pull as ``auth_config``; it is never written to Dockyard's database or
logs, only the registry's name and user go to this machine's database (``store/machine.py``;
an older ``registry-logins.json`` is moved in on first use).
Without a Dockyard login, the Docker CLI's own (``~/.docker/config.json`` or
``$DOCKER_CONFIG``, with its credential helpers) is used, else none: the keyring is needed
only for a registry that has a Dockyard login (docs/headless.md).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from dockyard.core.errors import InfrastructureError, UserInputError
from dockyard.core.redaction import remember_secret
from dockyard.engine import keyring_store
from dockyard.engine.home import dockyard_home
from dockyard.store.database import machine_database
from dockyard.store.machine import MachineSettings

log = logging.getLogger("dockyard.docker")

DOCKER_HUB = "docker.io"
HUB_SERVER = "https://index.docker.io/v1/"  # Docker Hub's name in logins (CLI config, daemon)
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
# Where a login came from, for the sentence when the registry refuses it.
DOCKYARD_LOGIN = "dockyard"
DOCKER_CLI_LOGIN = "docker"
LOGIN_INDEX = "registry-logins.json"  # before the database kept them; imported on first use


class RegistryAuth(dict[str, str]):
    """An ``auth_config`` for docker-py that remembers whose login it is."""

    def __init__(self, values: dict[str, str], source: str) -> None:
        super().__init__(values)
        self.source = source


def registry_of(image_name: str) -> str:
    """The registry host of an image name: ``localhost:5000/shop/web`` → ``localhost:5000``.
    As Docker reads a name: its first part names a registry when it has a dot or a colon,
    or is ``localhost``; else the image is Docker Hub's."""
    first, slash, _ = image_name.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        return DOCKER_HUB
    return normalize_registry(first)


def user_config_folder() -> Path:
    """Where the docker CLI finds its configuration: ``$DOCKER_CONFIG``, else ``~/.docker``."""
    return Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")


def normalize_registry(registry: str) -> str:
    host = registry.strip().lower()
    for prefix in ("https://", "http://"):
        host = host.removeprefix(prefix)
    host = host.split("/", 1)[0]
    return DOCKER_HUB if host in _HUB_ALIASES or not host else host


def store_login(registry: str, username: str, password: str) -> str:
    """Keep the credentials for ``registry``; returns the normalised registry name."""
    host = normalize_registry(registry)
    if not username or not password:
        raise UserInputError("Both a user name and a password are needed; nothing was stored.")
    remember_secret(password)
    value = json.dumps({"username": username, "password": password})
    keyring_store.write(keyring_store.REGISTRY, host, value)
    with _login_index() as index:
        index.put_registry_logins({host: username})
    log.info("registry credentials stored for %s (user %s)", host, username)
    return host


def forget_login(registry: str) -> bool:
    """Remove the stored credentials; False when there were none."""
    host = normalize_registry(registry)
    forgotten = keyring_store.delete(keyring_store.REGISTRY, host)
    with _login_index() as index:
        index.remove_registry_login(host)
    return forgotten


def dockyard_logins() -> dict[str, str]:
    """Registries with a Dockyard login on this machine (host -> user); no secrets."""
    with _login_index() as index:
        return index.registry_logins()


@contextlib.contextmanager
def _login_index() -> Iterator[MachineSettings]:
    """This machine's list of Dockyard logins, an older ``registry-logins.json`` moved in
    first (else a login forgotten since would come back from it)."""
    with machine_database(dockyard_home()) as db:
        settings = MachineSettings(db)
        _import_login_index(settings)
        yield settings


def _import_login_index(settings: MachineSettings) -> None:
    path = dockyard_home() / LOGIN_INDEX
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        log.warning("ignoring %s (%s)", path, exc)  # the keyring keeps the logins themselves
        data = {}
    if isinstance(data, dict):
        logins = {str(host): str(user) for host, user in data.items()}
        settings.put_registry_logins(logins, replace=False)
    with contextlib.suppress(FileNotFoundError):
        path.replace(path.with_name(LOGIN_INDEX + ".imported"))


def stored_login(registry: str) -> dict[str, str] | None:
    host = normalize_registry(registry)
    value = keyring_store.read(keyring_store.REGISTRY, host)
    if value is None:
        return None
    data = json.loads(value)
    remember_secret(str(data["password"]))
    return {"username": str(data["username"]), "password": str(data["password"])}


def registry_auth(image_name: str) -> RegistryAuth | None:
    """``auth_config`` for pushing or pulling ``image_name``; None = anonymous.

    Dockyard's login first (the keyring is opened only when one was made for this
    registry, or when it is there to ask), then the Docker CLI's, then none.
    """
    host = registry_of(image_name)
    found = dockyard_login(host)
    if found is not None:
        server = HUB_SERVER if host == DOCKER_HUB else host
        return RegistryAuth({**found, "serveraddress": server}, DOCKYARD_LOGIN)
    return docker_cli_login(host)


def dockyard_login(host: str) -> dict[str, str] | None:
    """Dockyard's login for the registry ``host`` (normalised), or None."""
    try:
        return stored_login(host)
    except keyring_store.KeyringUnavailable as exc:
        user = dockyard_logins().get(host)
        if user is None:
            log.info("no keyring and no Dockyard login for %s: trying the Docker CLI's", host)
            return None
        raise InfrastructureError(
            f"The login of {user} to {host} is kept in the OS keyring, which is not "
            f"available ({exc.reason}); unlock or start your keyring (see "
            "docs/headless.md) and try again."
        ) from exc


def docker_cli_login(host: str) -> RegistryAuth | None:
    """The Docker CLI's login for ``host`` (config.json, credential helpers), if any."""
    # Where docker-py looks: without any of these files there is no login to read, nor a
    # need of the SDK (0.1 s) to read one.
    configs = (user_config_folder(), Path.home() / ".docker")
    files = [folder / "config.json" for folder in configs] + [Path.home() / ".dockercfg"]
    if not any(path.exists() for path in files):
        return None
    import docker.auth
    import docker.errors

    try:
        config = docker.auth.load_config()
        found = config.resolve_authconfig(None if host == DOCKER_HUB else host)
    except docker.errors.DockerException as exc:
        raise InfrastructureError(
            f"The Docker CLI's credentials for {host} could not be read ({exc}); fix its "
            "credential helper, or run 'dockyard registry login "
            f"{host} --username USER' with the password on standard input."
        ) from exc
    if not found:
        return None
    values = {str(key): str(value) for key, value in found.items() if value}
    for key in ("password", "identitytoken", "registrytoken"):
        if key in values:
            remember_secret(values[key])
    return RegistryAuth(values, DOCKER_CLI_LOGIN)


def is_login_refusal(detail: str) -> bool:
    """Whether a daemon's push/pull error means the registry wants a (different) login."""
    text = detail.lower()
    return any(marker in text for marker in _REFUSALS)


def login_refused_message(image_name: str, auth: dict[str, str] | None, action: str) -> str:
    """One sentence for a registry that refused to ``action`` ("push", "pull") an image.

    ``auth`` is what :func:`registry_auth` gave for the image: None means there was no
    login at all, so the sentence says how to store one.
    """
    host = registry_of(image_name)
    if auth is None:
        return (
            f"The registry {host} requires a login to {action} {image_name}; run "
            f"'dockyard registry login {host} --username USER' with the password on "
            "standard input, then try again."
        )
    user = auth.get("username", "")
    if getattr(auth, "source", DOCKYARD_LOGIN) == DOCKER_CLI_LOGIN:
        return (
            f"The registry {host} refused the Docker CLI's login{f' of {user}' if user else ''} "
            f"to {action} {image_name} (wrong password, or no {action} permission); run "
            f"'docker login {host}' again, or 'dockyard registry login {host} --username "
            "USER' with the password on standard input, then try again."
        )
    return (
        f"The registry {host} refused the stored login of {user} to {action} {image_name} "
        f"(wrong password, or no {action} permission); run 'dockyard registry login {host} "
        f"--username {user}' with the right password on standard input, then try again."
    )
