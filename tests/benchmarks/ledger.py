"""A Dockyard home with a recorded history: many runs of one repository (benchmarks)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from dockyard.core.locations import normalise_location
from dockyard.core.model import Run, RunStatus, Stage, StageStatus, utcnow
from dockyard.store.database import open_database
from dockyard.store.repositories import RepositoryStore
from dockyard.store.runs import RunStore
from testbed.gitrepos import GitRepo, make_app_repo

STAGES = ("checkout", "build", "test", "deliver")
ONE_ENVIRONMENT = "environments:\n  staging:\n    auto: false\n"


def seed_runs(home: Path, repo: GitRepo, runs: int) -> str:
    """Registers repo and records ``runs`` finished runs of it at its head commit; returns
    the repository key."""
    key = normalise_location(str(repo.path))
    commit = repo.head
    db = open_database(home)
    if RepositoryStore(db).get(key) is None:
        RepositoryStore(db).add(key)
    store = RunStore(db)
    start = utcnow() - timedelta(hours=runs)
    for number in range(runs):
        created = start + timedelta(hours=number)
        stages = [
            Stage(name, StageStatus.SUCCEEDED, created, created + timedelta(seconds=5))
            for name in STAGES
        ]
        run = Run(
            id=f"{created:%Y%m%dT%H%M%S}-{number:06x}",
            repo=key,
            ref="main",
            commit=commit,
            status=RunStatus.SUCCEEDED,
            created=created,
            finished=created + timedelta(seconds=20),
            started_by="bench@example.test",
            stages=stages,
        )
        store.create(run)
    db.close()
    return key


def repo_with_runs(folder: Path, runs: int) -> tuple[Path, GitRepo, str]:
    """A home, a repository with one environment, and ``runs`` recorded runs of it."""
    home = folder / "home"
    home.mkdir(parents=True, exist_ok=True)
    repo = make_app_repo(folder / "app", dockyard_yml=ONE_ENVIRONMENT)
    return home, repo, seed_runs(home, repo, runs)
