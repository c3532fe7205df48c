"""Triggers on real git repositories: new commits on watched branches and new tags."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dockyard.core.locations import normalise_location
from dockyard.engine.pipeline.triggers import RefWatcher
from testbed.gitrepos import make_app_repo

TRIGGERS = "trigger:\n  branches: [main, 'release/*']\n  tags: 'v*'\n  interval: 5s\n"


def test_first_look_is_a_baseline_then_new_commits_and_tags_trigger(
    tmp_path: Path, dockyard_home: Path
) -> None:
    repo = make_app_repo(tmp_path / "watched", dockyard_yml=TRIGGERS)
    repo.tag("v1.0.0")
    watcher = RefWatcher(str(repo.path), dockyard_home)
    assert watcher.poll() == []
    assert watcher.trigger.interval == 5.0

    commit = repo.commit("feature", {"feature.txt": "x\n"})
    changes = watcher.poll()
    assert [(c.kind, c.ref, c.commit) for c in changes] == [("branch", "main", commit)]

    repo.tag("v1.1.0")
    repo.branch("experiment")  # not watched
    repo.branch("release/2.0")
    changes = watcher.poll()
    assert sorted((c.kind, c.ref) for c in changes) == [
        ("branch", "release/2.0"),
        ("tag", "v1.1.0"),
    ]
    assert watcher.poll() == []


def test_what_was_seen_survives_a_restart(tmp_path: Path, dockyard_home: Path) -> None:
    repo = make_app_repo(tmp_path / "restart", dockyard_yml=TRIGGERS)
    RefWatcher(str(repo.path), dockyard_home).poll()
    repo.tag("v2.0.0")
    again = RefWatcher(str(repo.path), dockyard_home)
    assert [c.ref for c in again.poll()] == ["v2.0.0"]


def test_without_a_trigger_block_the_default_branch_is_watched(
    tmp_path: Path, dockyard_home: Path
) -> None:
    repo = make_app_repo(tmp_path / "plain")
    watcher = RefWatcher(str(repo.path), dockyard_home)
    watcher.poll()
    repo.tag("v1.0.0")
    assert watcher.poll() == []
    commit = repo.commit("more", {"more.txt": "y\n"})
    assert [(c.ref, c.commit) for c in watcher.poll()] == [("main", commit)]


def test_a_remote_repository_is_fetched_before_looking(tmp_path: Path, dockyard_home: Path) -> None:
    repo = make_app_repo(tmp_path / "remote", dockyard_yml=TRIGGERS)
    watcher = RefWatcher(f"file://{repo.path}", dockyard_home)
    watcher.poll()
    repo.tag("v3.0.0")
    assert [c.ref for c in watcher.poll()] == ["v3.0.0"]


def test_what_an_older_dockyard_saw_is_kept_through_the_upgrade(
    tmp_path: Path, dockyard_home: Path
) -> None:
    # Dockyard before the database kept this under watch/: main at the first commit, and
    # the tag. A commit made while it was being upgraded must still start a run.
    repo = make_app_repo(tmp_path / "upgraded", dockyard_yml=TRIGGERS)
    repo.tag("v1.0.0")
    seen = repo.head
    key = hashlib.sha1(normalise_location(str(repo.path)).encode()).hexdigest()[:16]
    old = dockyard_home / "watch" / f"{key}.json"
    old.parent.mkdir()
    old.write_text(json.dumps([["branch", "main", seen], ["tag", "v1.0.0", seen]]))
    commit = repo.commit("while upgrading", {"later.txt": "z\n"})

    changes = RefWatcher(str(repo.path), dockyard_home).poll()
    assert [(c.kind, c.ref, c.commit) for c in changes] == [("branch", "main", commit)]
    assert not (dockyard_home / "watch").exists()
    assert RefWatcher(str(repo.path), dockyard_home).poll() == []
