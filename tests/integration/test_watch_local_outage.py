"""``dockyard watch`` on the local ledger while it cannot record a run: the disk holding
DOCKYARD_HOME is full, or another program holds the database's write lock. A tag made
meanwhile is said once, in one sentence; the command keeps watching, and once the
ledger can record again exactly one run of the tag is recorded, and it succeeds. Real
git, daemon and a real full tmpfs."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import docker
import pytest

from integration.watching import Watching, baseline_recorded, wait_for
from testbed.cli import Cli, remove_images
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import GitRepo, make_app_repo
from testbed.smalldisk import fill_up, small_disk

pytestmark = pytest.mark.docker

TRIGGERS = "trigger:\n  tags: 'v*'\n  interval: 1s\n"
SENTENCE = (
    "dockyard: v1.4.0 of shop was found while the ledger cannot record a run; "
    "it will run when the ledger is back."
)


@contextmanager
def _disk_full(home: Path) -> Iterator[None]:
    fill_up(home)
    try:
        yield
    finally:
        (home / "filler").unlink()


@contextmanager
def _write_locked(home: Path) -> Iterator[None]:
    """Another program holds the database's write lock (a backup tool, a stuck editor)."""
    with closing(sqlite3.connect(home / "dockyard.db", isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")


def _watch_through(
    home: Path, daemon: PrivateDaemon, repo: GitRepo, outage: Callable[[Path], Any]
) -> None:
    cli = Cli(home, daemon)
    with Watching.of(cli, "watch", str(repo.path)) as watching:
        wait_for("the first look", lambda: baseline_recorded(home), 60, watching)
        with outage(home):
            repo.tag("v1.4.0")
            wait_for("the sentence", lambda: SENTENCE in watching.output, 60, watching)
            time.sleep(12)  # a few more looks (a locked database answers after 10 s)
            assert watching.process.poll() is None, watching.text  # still watching
        wait_for(
            "the run of v1.4.0 finished",
            lambda: any(run["status"] == "succeeded" for run in _runs_of(cli, repo)),
            240,
            watching,
        )
        time.sleep(3)  # it looked again since
        (run,) = _runs_of(cli, repo)
        assert run["status"] == "succeeded" and run["commit"] == repo.repo.head.commit.hexsha
        assert watching.output.count(SENTENCE) == 1  # said once, not at every look
        assert "Traceback" not in watching.text


def _runs_of(cli: Cli, repo: GitRepo) -> list[dict[str, Any]]:
    return [run for run in cli.json("runs", str(repo.path)) if run["ref"] == "v1.4.0"]


def test_a_tag_found_while_the_disk_is_full_runs_once_there_is_room(
    tmp_path: Path, docker_daemon: PrivateDaemon, docker_client: docker.DockerClient
) -> None:
    repo = make_app_repo(tmp_path / "shop", dockyard_yml=TRIGGERS)
    try:
        with small_disk(tmp_path / "small-home", "20m") as home:
            _watch_through(home, docker_daemon, repo, _disk_full)
    finally:
        remove_images(docker_client, "dockyard/shop:")


def test_a_tag_found_while_the_database_is_locked_runs_once_it_is_free(
    tmp_path: Path, docker_daemon: PrivateDaemon, docker_client: docker.DockerClient
) -> None:
    repo = make_app_repo(tmp_path / "shop", dockyard_yml=TRIGGERS)
    home = tmp_path / "home"
    try:
        _watch_through(home, docker_daemon, repo, _write_locked)
    finally:
        remove_images(docker_client, "dockyard/shop:")
