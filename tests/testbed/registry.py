"""Debian's ``docker-registry`` on a free loopback port, storage in a temp folder.

With ``auth``, the registry demands HTTP basic authentication (htpasswd, bcrypt): plain
HTTP is enough, since the daemon allows insecure registries on 127.0.0.1.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from .ports import free_port, wait_for_port

CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""

AUTH_USER = "dockyard-ci"  # whom start_auth_registry's registry lets in
AUTH_CONFIG = """\
auth:
  htpasswd:
    realm: dockyard-test
    path: {root}/htpasswd
"""


@dataclass
class LocalRegistry:
    host: str  # "127.0.0.1:PORT", usable as an image name prefix
    root: Path
    process: subprocess.Popen[bytes]
    auth: tuple[str, str] | None = None  # (user, password) the registry demands

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def start_registry(auth: tuple[str, str] | None = None) -> LocalRegistry:
    """Start a registry; with ``auth`` = (user, password) it refuses anonymous access."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError("docker-registry is not installed: make test installs it")
    root = Path(tempfile.mkdtemp(prefix="dyr-"))
    port = free_port()
    config = root / "config.yml"
    text = CONFIG.format(root=root, port=port)
    if auth is not None:
        user, password = auth
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
        (root / "htpasswd").write_text(f"{user}:{hashed}\n")
        text += AUTH_CONFIG.format(root=root)
    config.write_text(text)
    with (root / "registry.log").open("wb") as log:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    if not wait_for_port(port):
        process.kill()
        raise RuntimeError(f"docker-registry did not listen on 127.0.0.1:{port}")
    return LocalRegistry(host=f"127.0.0.1:{port}", root=root, process=process, auth=auth)


def start_auth_registry() -> LocalRegistry:
    """A registry that lets in ``AUTH_USER`` with a random password only."""
    return start_registry(auth=(AUTH_USER, f"pw-{uuid.uuid4().hex}"))
