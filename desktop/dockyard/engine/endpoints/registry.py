"""Named Docker endpoints: where they are, checked, and why one cannot be reached.

``local`` is what the user's ``docker`` CLI would use: ``DOCKER_HOST`` (with
``DOCKER_TLS_VERIFY`` / ``DOCKER_CERT_PATH``), else the current Docker context, else the
default socket. The clients that talk to them are in ``client`` (Docker's SDK) and
``daemon_reader`` (a local socket, read without the SDK); this module imports neither.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from dockyard.core.errors import InfrastructureError, UserInputError
from dockyard.engine.endpoints.contexts import current_context_endpoint
from dockyard.engine.endpoints.errors import explain, explain_ssh
from dockyard.engine.endpoints.record import Endpoint
from dockyard.store.database import machine_database
from dockyard.store.machine import ENDPOINT_FIELDS, MachineSettings

log = logging.getLogger("dockyard.docker")

CONNECT_TIMEOUT = 10  # connecting is always quick or hopeless
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# What an endpoint may be called (docs/remote-daemons.md): safe in files, menus and shells.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,62}")  # as Docker context names


@dataclass(frozen=True)
class EndpointStatus:
    name: str
    ok: bool
    message: str  # "Docker 20.10.24, swarm manager, linux/x86_64" or the reason it failed
    version: str = ""
    swarm_role: str = ""  # "manager" | "worker" | "" (not in a swarm)
    platform: str = ""  # "linux/x86_64"
    url: str = ""  # where it was reached (for local: what DOCKER_HOST / the context said)


LOCAL = Endpoint(name="local")
# Where endpoints were kept before they moved into the database; imported on first use.
HOSTS_FILE = "hosts.json"


class EndpointRegistry:
    """This machine's endpoints (its local database: ``store/machine.py``), plus ``local``.

    Only names, URLs and file paths are kept; a TLS key passphrase lives in the keyring.
    An older Dockyard's ``hosts.json`` is imported on first use, then renamed
    ``hosts.json.imported``.
    """

    def __init__(self, home: Path) -> None:
        self.home = home

    def _load(self) -> dict[str, Endpoint]:
        with machine_database(self.home) as db:
            settings = MachineSettings(db)
            self._import_hosts_file(settings)
            saved = settings.endpoints()
        return {name: Endpoint(name=name, **entry) for name, entry in saved.items()}

    def _save(self, endpoint: Endpoint) -> None:
        entry = {key: value for key, value in asdict(endpoint).items() if key != "name"}
        with machine_database(self.home) as db:
            MachineSettings(db).put_endpoints({endpoint.name: entry}, replace=True)

    def _import_hosts_file(self, settings: MachineSettings) -> None:
        path = self.home / HOSTS_FILE
        if not path.exists():
            return
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return  # another process imported it just now
        except (OSError, ValueError) as exc:
            raise UserInputError(f"{path} is not valid JSON ({exc}); fix or remove it.") from exc
        if not isinstance(raw, dict):
            raise UserInputError(f"{path} does not list endpoints by name; fix or remove it.")
        settings.put_endpoints(
            {
                str(name): {k: str(v) for k, v in entry.items() if k in ENDPOINT_FIELDS}
                for name, entry in raw.items()
                if isinstance(entry, dict)
            },
            replace=False,  # what is in the database already was saved after the file
        )
        with contextlib.suppress(FileNotFoundError):
            path.replace(path.with_name(HOSTS_FILE + ".imported"))
        log.info("endpoints of %s moved into the database", path)

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

    def add(self, endpoint: Endpoint, *, replace: bool = False) -> None:
        """Save ``endpoint``; one of the same name is replaced only when ``replace`` says so."""
        if endpoint.name == "local":
            raise UserInputError("'local' is built in (it follows DOCKER_HOST); pick another name.")
        validate_name(endpoint.name)
        validate_files(endpoint)
        validate_url(endpoint)
        endpoints = self._load()
        existing = endpoints.get(endpoint.name)
        if existing is not None and existing != endpoint and not replace:
            raise UserInputError(
                f"A Docker endpoint named {endpoint.name!r} already exists "
                f"({existing.display_url}); pick another name, or replace it "
                "(dockyard hosts add --replace, or 'Replace an endpoint of the same name' "
                "in Settings)."
            )
        self._save(endpoint)

    def remove(self, name: str) -> None:
        self._load()  # an older hosts.json is imported first: its endpoints count
        with machine_database(self.home) as db:
            removed = MachineSettings(db).remove_endpoint(name)
        if not removed:
            raise UserInputError(f"There is no Docker endpoint named {name!r}.")


def validate_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise UserInputError(
            f"{name!r} cannot name a Docker endpoint: use letters, digits, '.', '_', '+' and '-', "
            "starting with a letter or digit, at most 63 characters."
        )


def validate_files(endpoint: Endpoint) -> None:
    """The TLS and SSH files an endpoint names exist, and the client certificate has its key."""
    if bool(endpoint.tls_cert) != bool(endpoint.tls_key):
        raise UserInputError(
            "Give the TLS client certificate and its key together (--tls-cert and --tls-key)."
        )
    if (endpoint.tls_ca or endpoint.tls_cert) and not endpoint.url.startswith("tcp://"):
        raise UserInputError(f"TLS files apply to tcp:// URLs only, not to {endpoint.url}.")
    files = (
        ("TLS CA", endpoint.tls_ca), ("TLS certificate", endpoint.tls_cert),
        ("TLS key", endpoint.tls_key), ("SSH identity", endpoint.ssh_identity),
        ("SSH known_hosts", endpoint.ssh_known_hosts), ("SSH config", endpoint.ssh_config),
    )  # fmt: skip
    for what, path in files:
        if path and not Path(path).expanduser().is_file():
            raise UserInputError(f"The {what} file {path} does not exist; give an existing file.")


def validate_url(endpoint: Endpoint) -> None:
    url = endpoint.url
    if not url.startswith(("unix://", "tcp://", "ssh://", "npipe://")):
        raise UserInputError(
            f"Docker endpoint URL {url!r} must start with unix://, tcp:// or ssh://."
        )
    if url.startswith("tcp://"):
        host = urlsplit(url).hostname or ""
        tls = endpoint.tls_ca and endpoint.tls_cert and endpoint.tls_key
        if not tls and host not in LOOPBACK:
            raise UserInputError(
                f"Refusing plain tcp:// to {host}: anyone who can reach an unauthenticated "
                "Docker socket is root on that host; give --tls-ca, --tls-cert and --tls-key "
                "or use ssh://."
            )
    if url.startswith("ssh://") and not urlsplit(url).hostname:
        raise UserInputError(f"Docker endpoint URL {url!r} names no host: use ssh://user@host.")


def resolve(endpoint: Endpoint) -> Endpoint:
    """The endpoint with a concrete URL: ``local`` becomes what the docker CLI would use."""
    if endpoint.url:
        return endpoint
    host = os.environ.get("DOCKER_HOST", "")
    if host:
        cert_path = os.environ.get("DOCKER_CERT_PATH", "")
        # As the docker CLI: DOCKER_TLS_VERIFY set to anything but "" turns TLS on.
        if cert_path or os.environ.get("DOCKER_TLS_VERIFY", ""):
            folder = Path(cert_path or Path.home() / ".docker")
            return replace(
                endpoint,
                url=host,
                tls_ca=str(folder / "ca.pem"),
                tls_cert=str(folder / "cert.pem"),
                tls_key=str(folder / "key.pem"),
            )
        return replace(endpoint, url=host)
    current = current_context_endpoint()
    if current is not None:
        return replace(current, name=endpoint.name)
    return replace(endpoint, url=DEFAULT_SOCKET)


def probe(endpoint: Endpoint) -> None:
    """Fail early, within the connect timeout and with a plain reason, on a dead address.

    docker-py's unix transport also leaks the socket of a failed connect; our probe closes it.
    """
    parts = urlsplit(endpoint.url)
    try:
        if parts.scheme == "unix":
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(CONNECT_TIMEOUT)
                sock.connect(parts.path)
        elif parts.scheme == "tcp" and parts.hostname:
            address = (parts.hostname, parts.port or 2375)
            socket.create_connection(address, timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise unreachable(endpoint, exc) from exc


def unreachable(
    endpoint: Endpoint, exc: BaseException, *, ssh_error: str = ""
) -> InfrastructureError:
    """The one-sentence error for an endpoint that could not be used."""
    resolved = endpoint if endpoint.url else safe_resolve(endpoint)
    url = resolved.url or endpoint.display_url
    if ssh_error:
        reason = explain_ssh(url, ssh_error)
    else:
        reason = explain(url, exc, ca=resolved.tls_ca, timeout=CONNECT_TIMEOUT)
    return InfrastructureError(
        f"Docker endpoint {endpoint.name!r} ({url}) is unreachable: {reason}.",
        details=f"{exc}\n{ssh_error}".strip(),
    )


def safe_resolve(endpoint: Endpoint) -> Endpoint:
    try:
        return resolve(endpoint)
    except Exception:  # noqa: BLE001 - only used to word an error message
        return endpoint
