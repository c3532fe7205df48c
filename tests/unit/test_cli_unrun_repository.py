"""A repository with environments in its dockyard.yml but no run yet: the commands that name
an environment say to run the pipeline first (environments are read from the latest run's
commit), not to fix a dockyard.yml that is right. The real CLI and git; no Docker."""

from __future__ import annotations

import subprocess
from pathlib import Path

from testbed.cli import run_dockyard

PIPELINE = "environments:\n  production:\n    mode: service\n"


def test_unpin_before_any_run_says_to_run_the_pipeline(tmp_path: Path) -> None:
    repo = tmp_path / "web"
    repo.mkdir()
    (repo / "dockyard.yml").write_text(PIPELINE)
    git = ["git", "-C", str(repo), "-c", "user.email=a@b.test", "-c", "user.name=A"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "pipeline"], check=True)

    result = run_dockyard(tmp_path / "home", "unpin", str(repo), "production")

    assert result.returncode == 2, result.stderr
    assert f"run its pipeline first (dockyard run {repo})" in result.stderr
    assert "Traceback" not in result.stderr
