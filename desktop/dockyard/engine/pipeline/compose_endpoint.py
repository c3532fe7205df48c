"""The environment that points the compose CLI at an endpoint.

``docker compose`` reads ``DOCKER_HOST``, ``DOCKER_TLS_VERIFY`` and ``DOCKER_CERT_PATH``; the
last must be a folder with ``ca.pem``, ``cert.pem`` and ``key.pem``, so files with other
names are linked into a private folder of that shape.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

from dockyard.core.errors import UserInputError
from dockyard.engine.endpoints.registry import CONNECT_TIMEOUT, Endpoint, resolve, validate_url
from dockyard.engine.endpoints.sshtunnel import SshTunnel, ssh_command

CERT_NAMES = {"tls_ca": "ca.pem", "tls_cert": "cert.pem", "tls_key": "key.pem"}

_lock = threading.Lock()
_cert_root: Path | None = None
_tunnels: dict[Endpoint, SshTunnel] = {}


def _private_root() -> Path:
    global _cert_root
    if _cert_root is None:
        _cert_root = Path(tempfile.mkdtemp(prefix="dockyard-compose-"))
        _cert_root.chmod(0o700)
        atexit.register(shutil.rmtree, _cert_root, True)
    return _cert_root


def cert_folder(endpoint: Endpoint) -> Path:
    """A folder holding the endpoint's TLS files as ca.pem / cert.pem / key.pem."""
    files = {name: getattr(endpoint, attr) for attr, name in CERT_NAMES.items()}
    folders = {Path(path).parent for path in files.values()}
    if len(folders) == 1 and all(Path(path).name == name for name, path in files.items()):
        return folders.pop()
    digest = hashlib.sha256("\0".join(files.values()).encode()).hexdigest()[:16]
    with _lock:
        folder = _private_root() / digest
        if not folder.exists():
            folder.mkdir(mode=0o700)
            for name, path in files.items():
                os.symlink(os.path.abspath(path), folder / name)
    return folder


def _ssh_tunnel(endpoint: Endpoint) -> SshTunnel:
    # Dockyard-only ssh settings (identity, known_hosts, config file) cannot be handed to the
    # docker CLI, so compose goes through our tunnel, kept for the life of the process.
    with _lock:
        tunnel = _tunnels.get(endpoint)
        if tunnel is None:
            tunnel = SshTunnel(
                ssh_command(
                    endpoint.url,
                    connect_timeout=CONNECT_TIMEOUT,
                    config=endpoint.ssh_config,
                    identity=endpoint.ssh_identity,
                    known_hosts=endpoint.ssh_known_hosts,
                )
            )
            _tunnels[endpoint] = tunnel
            atexit.register(tunnel.close)
    return tunnel


def compose_environment(endpoint: Endpoint) -> dict[str, str]:
    """``DOCKER_HOST`` (and TLS variables) for a compose subprocess on this endpoint.

    Merge it over ``os.environ``; it replaces any DOCKER_* variables the user had.
    """
    resolved = resolve(endpoint)
    validate_url(resolved)
    env = {"DOCKER_HOST": resolved.url, "DOCKER_TLS_VERIFY": "", "DOCKER_CERT_PATH": ""}
    if resolved.url.startswith("tcp://") and resolved.uses_tls:
        if not (resolved.tls_ca and resolved.tls_cert and resolved.tls_key):
            raise UserInputError(
                f"Endpoint {endpoint.name!r} needs a TLS CA, certificate and key for compose."
            )
        if b"ENCRYPTED" in Path(resolved.tls_key).read_bytes()[:4096]:
            raise UserInputError(
                f"The compose CLI cannot use the encrypted TLS key of endpoint "
                f"{endpoint.name!r}; use a key without a passphrase for compose tests."
            )
        env["DOCKER_TLS_VERIFY"] = "1"
        env["DOCKER_CERT_PATH"] = str(cert_folder(resolved))
        # The Python docker-compose (v1) talks through requests, whose per-request
        # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE would replace the endpoint's CA; empty = unset.
        env["REQUESTS_CA_BUNDLE"] = env["CURL_CA_BUNDLE"] = ""
    elif resolved.url.startswith("ssh://") and (
        resolved.ssh_config or resolved.ssh_identity or resolved.ssh_known_hosts
    ):
        env["DOCKER_HOST"] = _ssh_tunnel(resolved).url
    return env
