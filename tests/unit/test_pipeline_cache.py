"""A commit's dockyard.yml is read through GitPython once; later readers, in other
processes too, get the same pipeline from DOCKYARD_HOME/cache, checked against git's id
of the commit's file (tests/unit/test_cli_startup.py: without importing GitPython)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.core.errors import InfrastructureError, UserInputError
from dockyard.engine import pipelinecache
from dockyard.engine.release.config import pipeline_at
from testbed.gitrepos import make_app_repo

# No test section: the parser asks which default compose file the commit has.
PIPELINE = """\
environments:
  staging:
    auto: true
  production:
    after: staging
"""


def _read_fresh(home: Path, repo: str, commit: str) -> object:
    pipeline_at.cache_clear()  # as a new process would: nothing in memory
    return pipeline_at(home, repo, commit)


def test_a_commit_read_once_is_kept_and_read_again_alike(tmp_path: Path) -> None:
    repo = make_app_repo(tmp_path / "app", dockyard_yml=PIPELINE)
    commit, home = repo.head, tmp_path / "home"
    first = _read_fresh(home, str(repo.path), commit)
    kept = pipelinecache.kept(home, str(repo.path), commit)
    assert kept is not None and kept.text == PIPELINE
    assert kept.exists == {"compose.test.yml": True}
    again = _read_fresh(home, str(repo.path), commit)
    assert again == first
    assert [env.name for env in again.environments] == ["staging", "production"]
    assert again.test is not None and again.test.compose == "compose.test.yml"


def test_an_edited_cache_file_is_not_believed(tmp_path: Path) -> None:
    repo = make_app_repo(tmp_path / "app", dockyard_yml=PIPELINE)
    commit, home = repo.head, tmp_path / "home"
    _read_fresh(home, str(repo.path), commit)
    (cached,) = (home / pipelinecache.FOLDER).iterdir()
    cached.write_text(
        cached.read_text().replace("after: staging", "after: staging\\n    approval: {required: 0}")
    )
    assert pipelinecache.kept(home, str(repo.path), commit) is None
    production = _read_fresh(home, str(repo.path), commit).environment("production")
    assert production.approval is not None and production.approval.required == 1  # the commit's


def test_a_repository_git_cannot_read_is_not_read_from_the_cache(tmp_path: Path) -> None:
    repo = make_app_repo(tmp_path / "app", dockyard_yml=PIPELINE)
    commit, home = repo.head, tmp_path / "home"
    _read_fresh(home, str(repo.path), commit)
    repo.path.rename(tmp_path / "moved")
    with pytest.raises(InfrastructureError, match="Could not read commit"):
        _read_fresh(home, str(repo.path), commit)  # as before: status then uses the audit


def test_a_damaged_or_incomplete_cache_is_read_through_git(tmp_path: Path) -> None:
    repo = make_app_repo(tmp_path / "app", dockyard_yml=PIPELINE)
    commit, home = repo.head, tmp_path / "home"
    expected = _read_fresh(home, str(repo.path), commit)
    (cached,) = (home / pipelinecache.FOLDER).iterdir()
    cached.write_text("{not json")
    assert _read_fresh(home, str(repo.path), commit) == expected
    pipelinecache.keep(home, str(repo.path), commit, pipelinecache.CommitPipeline(PIPELINE))
    assert _read_fresh(home, str(repo.path), commit) == expected  # no answer kept: git
    assert pipelinecache.kept(home, str(repo.path), commit).exists == {  # type: ignore[union-attr]
        "compose.test.yml": True
    }


def test_a_bad_pipeline_file_is_not_kept(tmp_path: Path) -> None:
    repo = make_app_repo(tmp_path / "app", dockyard_yml="environments: [staging\n")
    home = tmp_path / "home"
    with pytest.raises(UserInputError):
        _read_fresh(home, str(repo.path), repo.head)
    assert pipelinecache.kept(home, str(repo.path), repo.head) is None
