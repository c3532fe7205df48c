"""Files read out of a commit: links leaving the repository and oversized files are
refused in one sentence (exit 2) naming the file and its dockyard.yml key; links inside
the repository are followed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dockyard.core.errors import UserInputError
from dockyard.engine.gitsource import GitSource
from testbed.cli import run_dockyard as dockyard
from testbed.gitrepos import GitRepo, make_app_repo

STAGING_ENV_FILE = "environments:\n  staging:\n    env_file: config/app.env\n"


def commit_link(repo: GitRepo, path: str, target: str) -> None:
    link = repo.path / path
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)
    repo.commit(f"link {path} to {target}")


def assert_refused(result: object, sentence: str) -> None:
    assert result.returncode == 2, result.stderr  # type: ignore[attr-defined]
    stderr = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr and "AbsoluteLinkError" not in stderr
    assert sentence in stderr, stderr


@pytest.mark.parametrize("target", ["/etc/hostname", "../../../etc/hostname"])
def test_an_env_file_linked_out_of_the_repository_is_refused_naming_file_and_key(
    tmp_path: Path, dockyard_home: Path, target: str
) -> None:
    repo = make_app_repo(tmp_path / "linked", dockyard_yml=STAGING_ENV_FILE)
    commit_link(repo, "config/app.env", target)
    assert_refused(
        dockyard(dockyard_home, "run", str(repo.path)),
        f"config/app.env (environments.staging.env_file in dockyard.yml) is a symbolic link "
        f"to {target}, outside the repository",
    )


def test_a_compose_file_linked_out_of_the_repository_is_refused(
    tmp_path: Path, dockyard_home: Path
) -> None:
    outside = tmp_path / "outside.yml"
    outside.write_text("services: {}\n")
    repo = make_app_repo(
        tmp_path / "compose", dockyard_yml="test:\n  compose: ci/test.yml\n", compose_test=None
    )
    commit_link(repo, "ci/test.yml", str(outside))
    assert_refused(
        dockyard(dockyard_home, "run", str(repo.path)),
        f"ci/test.yml (test.compose in dockyard.yml) is a symbolic link to {outside}",
    )


def test_an_unused_link_out_of_the_repository_is_refused_by_name_at_export(
    tmp_path: Path, dockyard_home: Path
) -> None:
    repo = make_app_repo(tmp_path / "unused")
    commit_link(repo, "docs/hosts", "/etc/hosts")
    assert_refused(
        dockyard(dockyard_home, "run", str(repo.path)),
        "docs/hosts is a symbolic link to /etc/hosts, outside the repository",
    )


def test_links_inside_the_repository_are_followed(tmp_path: Path, dockyard_home: Path) -> None:
    repo = make_app_repo(tmp_path / "inside", dockyard_yml=STAGING_ENV_FILE)
    repo.commit("env", {"shared/prod.env": "LEVEL=info\n"})
    commit_link(repo, "config/app.env", "../shared/prod.env")
    commit_link(repo, "settings", "shared")  # a linked folder
    with GitSource(str(repo.path), dockyard_home) as source:
        assert source.read_file(repo.head, "config/app.env") == "LEVEL=info\n"
        assert source.read_file(repo.head, "settings/prod.env") == "LEVEL=info\n"


def test_a_huge_dockyard_yml_is_refused_before_it_is_read(
    tmp_path: Path, dockyard_home: Path
) -> None:
    padding = "# " + "x" * 98 + "\n"
    repo = make_app_repo(tmp_path / "huge", dockyard_yml="image: x/y\n" + padding * 30_000)
    started = time.monotonic()
    result = dockyard(dockyard_home, "run", str(repo.path))
    assert_refused(result, "dockyard.yml is 2.9 MB at this commit, more than the 1 MB")
    assert time.monotonic() - started < 20


def test_a_huge_env_file_is_refused_naming_its_key(tmp_path: Path, dockyard_home: Path) -> None:
    repo = make_app_repo(tmp_path / "hugeenv", dockyard_yml=STAGING_ENV_FILE)
    repo.commit("env", {"config/app.env": "A=1\n" * 400_000})
    assert_refused(
        dockyard(dockyard_home, "run", str(repo.path)),
        "config/app.env (environments.staging.env_file in dockyard.yml) is 1.5 MB",
    )
    with (
        GitSource(str(repo.path), dockyard_home) as source,
        pytest.raises(UserInputError, match="more than the 1 MB"),
    ):
        source.read_file(repo.head, "config/app.env")
