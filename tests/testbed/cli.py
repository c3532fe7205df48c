"""The real ``dockyard`` command as a subprocess, and cleanup of the images runs leave."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import docker


def run_dockyard(
    home: Path,
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    user: str | None = "dev@example.test",
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """``python -m dockyard ARGS`` with DOCKYARD_HOME (and DOCKYARD_USER) set."""
    environment = {**(os.environ if env is None else env), "DOCKYARD_HOME": str(home)}
    if user is not None:
        environment["DOCKYARD_USER"] = user
    return subprocess.run(
        [sys.executable, "-m", "dockyard", *args],
        capture_output=True,
        text=True,
        env=environment,
        input=stdin,
        timeout=timeout,
        check=False,
    )


def remove_images(client: docker.DockerClient, *prefixes: str) -> None:
    """Remove every tag that starts with one of ``prefixes`` (``name:`` or ``name@``)."""
    for image in client.images.list():
        for tag in image.tags:
            if tag.startswith(prefixes):
                client.images.remove(tag, force=True)
