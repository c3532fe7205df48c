"""A full disk under DOCKYARD_HOME: one sentence and exit 3, nothing finished is lost, and
the read-only commands keep working while the disk is still full."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from testbed.cli import remove_images
from testbed.cli import run_dockyard as dockyard
from testbed.gitrepos import make_app_repo
from testbed.smalldisk import fill_up, small_disk

pytestmark = pytest.mark.docker

# ~12 MB of test output: more than the 5 MB tmpfs can hold. (Not build output: BuildKit
# clips each step's log at 1-2 MiB and throttles it.)
CHATTY_TEST = """\
services:
  sut:
    image: ${DOCKYARD_IMAGE}
    command:
      - sh
      - -c
      - >-
        i=0; while [ $$i -lt 150000 ]; do
        echo "chatty test line $$i: all work and no play makes Jack a dull boy";
        i=$$((i+1)); done
"""


@pytest.fixture
def small_home(tmp_path: Path) -> Iterator[Path]:
    """DOCKYARD_HOME on a real 5 MB tmpfs."""
    with small_disk(tmp_path / "small-home") as home:
        yield home


def test_disk_full_is_one_sentence_and_read_only_commands_keep_working(
    tmp_path: Path, small_home: Path, docker_client: docker.DockerClient
) -> None:
    repo = make_app_repo(tmp_path / "chatty")
    try:
        first = dockyard(small_home, "run", str(repo.path), "--json")
        assert first.returncode == 0, first.stderr
        finished = json.loads(first.stdout)["id"]

        repo.commit("chatty test", {"compose.test.yml": CHATTY_TEST})
        full = dockyard(small_home, "run", str(repo.path))
        assert full.returncode == 3, full.stderr
        assert "Traceback" not in full.stderr
        message = [line for line in full.stderr.splitlines() if line.startswith("dockyard: ")]
        assert len(message) == 1, full.stderr
        assert "disk holding DOCKYARD_HOME" in message[0] and "is full" in message[0]
        assert "free" in message[0]

        fill_up(small_home)
        # The disk is full: what finished is all there and readable.
        runs = dockyard(small_home, "runs", str(repo.path), "--json")
        assert runs.returncode == 0, runs.stderr
        listed = {run["id"]: run["status"] for run in json.loads(runs.stdout)}
        assert listed[finished] == "succeeded"
        assert len(listed) == 2 and "running" not in listed.values()
        failed = next(run for run in json.loads(runs.stdout) if run["id"] != finished)
        assert failed["status"] == "failed" and "is full" in failed["error"]
        status = dockyard(small_home, "status", str(repo.path))
        assert status.returncode == 0, status.stderr
        logs = dockyard(small_home, "logs", finished, "--stage", "test")
        assert logs.returncode == 0 and "tests passed" in logs.stdout
        verify = dockyard(small_home, "audit", "verify")
        assert verify.returncode == 0, verify.stderr
    finally:
        remove_images(docker_client, "dockyard/chatty:")
