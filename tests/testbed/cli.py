"""The real ``dockyard`` command as a subprocess (``run_dockyard``, or ``Cli`` for one home
on one daemon), what its ``--json`` answers are read with, and cleanup of the images runs
leave."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import docker

from .dockerd import PrivateDaemon

DESKTOP = Path(__file__).resolve().parents[2] / "desktop"
DEV = "dev@example.test"
LEAD = "lead@example.test"


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


class Cli:
    """``dockyard`` as a user runs it from a shell: this home, this daemon, a user."""

    def __init__(self, home: Path, daemon: PrivateDaemon) -> None:
        self.home = home
        self.daemon = daemon

    def environ(self, user: str) -> dict[str, str]:
        return dict(
            os.environ,
            DOCKYARD_HOME=str(self.home),
            DOCKYARD_USER=user,
            DOCKER_HOST=self.daemon.url,
            PYTHONPATH=str(DESKTOP),
        )

    def __call__(
        self, *args: str, user: str = DEV, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_dockyard(self.home, *args, stdin=stdin, env=self.environ(user), user=user)

    def start(self, *args: str, user: str = DEV) -> subprocess.Popen[str]:
        """The command as a process of its own, running while the test goes on."""
        return subprocess.Popen(
            [sys.executable, "-m", "dockyard", *args],
            env=self.environ(user),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def json(self, *args: str, user: str = DEV) -> Any:
        result = self(*args, "--json", user=user)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


class MemberCli(Cli):
    """The command as a team member: DOCKYARD_USER is their role (no "ignored" note)."""

    def __init__(self, home: Path, daemon: PrivateDaemon, member: str) -> None:
        super().__init__(home, daemon)
        self.member = member

    def environ(self, user: str) -> dict[str, str]:
        return super().environ(self.member)


_LISTING_MODULES = """
import json, sys
from dockyard.__main__ import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def modules_imported_by(env: dict[str, str], *args: str) -> tuple[int, str, set[str]]:
    """``dockyard ARGS`` in a fresh interpreter: its exit code, what it printed and every
    module it imported (to guard what a command loads, which is how long it takes)."""
    done = subprocess.run(
        [sys.executable, "-c", _LISTING_MODULES, *args],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    *printed, listing = done.stdout.splitlines()
    result = json.loads(listing)
    return result["code"], "\n".join(printed), set(result["modules"])


def environment(status: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in status["environments"] if e["name"] == name)


def outcomes(run: dict[str, Any]) -> dict[str, str]:
    return {d["environment"]: d["status"] for d in run["deployments"]}


def bytes_under(path: Path) -> bytes:
    if path.is_file():
        return path.read_bytes()
    return b"".join(p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file())
