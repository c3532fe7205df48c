"""A tag found by ``dockyard watch`` while the team server is away is not lost.

Two watchers on one machine (``dockyard watch`` twice, as a terminal and a window would)
look at a repository; the server is stopped for real and a tag is made. Each says once
that the tag will run when the ledger is back, and keeps watching; once the server is
back exactly one run of the tag is recorded, and it succeeds. Real PostgreSQL, daemon,
git and keyring.
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import docker
import pytest

from testbed.cli import Cli, remove_images
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
from testbed.postgres import PostgresServer
from testbed.teamdb import TeamDatabase, team_database

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.keyring]

TRIGGERS = "trigger:\n  tags: 'v*'\n  interval: 1s\n"
SENTENCE = "v1.4.0 of shop was found while the team ledger is unreachable; it will run when the ledger is back."  # noqa: E501


class MemberCli(Cli):
    """The command as a team member: DOCKYARD_USER is their role (no "ignored" note)."""

    def __init__(self, home: Path, daemon: PrivateDaemon, member: str) -> None:
        super().__init__(home, daemon)
        self.member = member

    def environ(self, user: str) -> dict[str, str]:
        return super().environ(self.member)


class Watching:
    """``dockyard watch`` running, its output read as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.output: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, args=(stream,), daemon=True)
            for stream in (process.stdout, process.stderr)
        ]
        for reader in self.readers:
            reader.start()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        for reader, stream in zip(
            self.readers, (self.process.stdout, self.process.stderr), strict=True
        ):
            reader.join(10)
            assert stream is not None
            stream.close()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.output.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.output)


@pytest.fixture
def team(stoppable_postgres_server: PostgresServer) -> Iterator[TeamDatabase]:
    with team_database(stoppable_postgres_server) as made:
        yield made


@contextmanager
def _watching(cli: MemberCli, repo: str) -> Iterator[Watching]:
    watching = Watching(cli.start("watch", repo))
    try:
        yield watching
    finally:
        watching.stop()


def _wait_for(what: str, found: Callable[[], Any], timeout: float, *watching: Watching) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        said = "\n".join(f"{w.process.poll()}: {w.text}" for w in watching)
        assert time.monotonic() < deadline, f"never saw {what}: {said}"
        time.sleep(0.2)


def _baseline_recorded(home: Path) -> bool:
    database = home / "dockyard.db"
    if not database.exists():
        return False
    with closing(sqlite3.connect(database)) as db:
        try:
            return bool(db.execute("SELECT count(*) FROM watched_refs").fetchone()[0])
        except sqlite3.OperationalError:  # not made yet
            return False


def _runs_of(cli: MemberCli, repo: str, ref: str) -> list[dict[str, Any]]:
    return [run for run in cli.json("runs", repo) if run["ref"] == ref]


def test_a_tag_found_while_the_server_is_away_runs_once_when_it_is_back(
    tmp_path: Path,
    team: TeamDatabase,
    docker_daemon: PrivateDaemon,
    docker_client: docker.DockerClient,
) -> None:
    source = make_app_repo(tmp_path / "source", dockyard_yml=TRIGGERS)
    origin, clone = tmp_path / "shop.git", tmp_path / "clone"
    for args in (("--bare", str(source.path), str(origin)), (str(origin), str(clone))):
        subprocess.run(["git", "clone", "--quiet", *args], check=True, capture_output=True)
    home = tmp_path / "home"
    team.connect_home(home, team.developer)
    cli = MemberCli(home, docker_daemon, team.developer)
    try:
        with _watching(cli, str(clone)) as first, _watching(cli, str(clone)) as second:
            _wait_for("the first look", lambda: _baseline_recorded(home), 60, first, second)
            time.sleep(2)  # both have looked: the tag is new to each
            team.server.go_away()
            subprocess.run(["git", "-C", str(origin), "tag", "v1.4.0"], check=True)
            _wait_for(
                "the sentence", lambda: SENTENCE in first.text + second.text, 60, first, second
            )
            time.sleep(3)  # a few more looks while away
            assert first.process.poll() is None, first.text  # still watching
            assert second.process.poll() is None, second.text
            assert "Traceback" not in first.text + second.text

            team.server.come_back()
            _wait_for(
                "the run of v1.4.0 finished",
                lambda: any(
                    r["status"] == "succeeded" for r in _runs_of(cli, str(clone), "v1.4.0")
                ),
                240,
                first,
                second,
            )
            time.sleep(5)  # both watchers looked again since
            (run,) = _runs_of(cli, str(clone), "v1.4.0")
            assert run["status"] == "succeeded" and run["commit"] == source.repo.head.commit.hexsha
    finally:
        remove_images(docker_client, "dockyard/shop:")
