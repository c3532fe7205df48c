"""A tag found by ``dockyard watch`` while the team server is away is not lost.

Two watchers on one machine (``dockyard watch`` twice, as a terminal and a window would)
look at a repository; the server is stopped for real and a tag is made. The watcher that
found it says that the tag will run when the ledger is back, and both keep watching; once
the server is back exactly one run of the tag is recorded, and it succeeds. Real PostgreSQL, daemon,
git and keyring.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from integration.watching import Watching, baseline_recorded, wait_for
from testbed.cli import MemberCli, remove_images
from testbed.dockerd import PrivateDaemon
from testbed.gitrepos import make_app_repo
from testbed.postgres import PostgresServer
from testbed.teamdb import TeamDatabase, team_database

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.keyring]

TRIGGERS = "trigger:\n  tags: 'v*'\n  interval: 1s\n"
SENTENCE = (
    "v1.4.0 of shop was found while the team ledger is unreachable; "
    "it will run when the ledger is back."
)


@pytest.fixture
def team(stoppable_postgres_server: PostgresServer) -> Iterator[TeamDatabase]:
    with team_database(stoppable_postgres_server) as made:
        yield made


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
        with (
            Watching.of(cli, "watch", str(clone)) as first,
            Watching.of(cli, "watch", str(clone)) as second,
        ):
            wait_for("the first look", lambda: baseline_recorded(home), 60, first, second)
            time.sleep(2)  # both have looked: the tag is new to each
            team.server.go_away()
            subprocess.run(["git", "-C", str(origin), "tag", "v1.4.0"], check=True)
            wait_for(
                "the sentence", lambda: SENTENCE in first.text + second.text, 60, first, second
            )
            time.sleep(3)  # a few more looks while away
            assert first.process.poll() is None, first.text  # still watching
            assert second.process.poll() is None, second.text
            assert "Traceback" not in first.text + second.text

            team.server.come_back()
            wait_for(
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
            for watching in (first, second):  # said once, not at every look
                assert watching.text.count(SENTENCE) <= 1, watching.text
    finally:
        remove_images(docker_client, "dockyard/shop:")
