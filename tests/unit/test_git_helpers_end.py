"""Reading a repository's commits leaves no git process running: GitPython's ``cat-file``
helpers end when the read ends. Left to the cycle collector (a ``git.Repo`` sits in a
reference cycle), a helper's Popen may be finalised before the repository stops it:
"subprocess N is still running", a ResourceWarning that failed window tests at random."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.engine.gitsource import GitSource
from dockyard.engine.pipeline.triggers import RefWatcher
from dockyard.engine.release.config import pipeline_at
from testbed.gitrepos import GitRepo, make_app_repo


def running_git_children() -> list[str]:
    """This process's git children that still run (a reaped one is gone from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue  # ended while we looked
        if int(parent) == os.getpid() and state != "Z" and command.startswith("git"):
            found.append(command.strip())
    return found


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[GitRepo]:
    made = make_app_repo(tmp_path / "app", dockyard_yml="environments:\n  staging: {}\n")
    assert running_git_children() == []
    gc.disable()  # only what the read itself ends may end: no collection in between
    try:
        yield made
    finally:
        gc.enable()


def test_a_source_read_and_closed_leaves_no_git_running(repo: GitRepo, tmp_path: Path) -> None:
    with GitSource(str(repo.path), tmp_path / "home") as source:
        assert source.read_file(repo.head, "dockyard.yml") is not None
        assert any("cat-file" in command for command in running_git_children())
        assert source.commits_between(None, repo.head)
    assert running_git_children() == []


def test_the_engine_reads_leave_no_git_running(repo: GitRepo, tmp_path: Path) -> None:
    home = tmp_path / "home"
    pipeline_at.cache_clear()
    assert [env.name for env in pipeline_at(home, str(repo.path), repo.head).environments] == [
        "staging"
    ]
    assert running_git_children() == []
    watcher = RefWatcher(str(repo.path), home)
    assert watcher.poll() == []  # the first look records a baseline
    assert running_git_children() == []
