"""Debian's ``docker-registry`` on a free loopback port, storage in a temp folder."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

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


@dataclass
class LocalRegistry:
    host: str  # "127.0.0.1:PORT", usable as an image name prefix
    root: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def start_registry() -> LocalRegistry:
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError("docker-registry is not installed: make test installs it")
    root = Path(tempfile.mkdtemp(prefix="dyr-"))
    port = free_port()
    config = root / "config.yml"
    config.write_text(CONFIG.format(root=root, port=port))
    with (root / "registry.log").open("wb") as log:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    if not wait_for_port(port):
        process.kill()
        raise RuntimeError(f"docker-registry did not listen on 127.0.0.1:{port}")
    return LocalRegistry(host=f"127.0.0.1:{port}", root=root, process=process)
