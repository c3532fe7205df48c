"""A Dockyard home at issue 13's scale of the records: 100 repositories, 10,000 runs,
about 2,000 deployments and 50,000 audit entries (benchmarks).

One repository has a back-dated release history (tests/testbed/history.py: 1,000
releases to staging and production, with approvals, failures and rollbacks); the runs
are spread over all repositories, four stages each; the audit entries form one valid
hash chain. Rows are written straight into the ledger in a few transactions (recording
them one by one, each synced, would take longer than the benchmark).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from dockyard.core.locations import normalise_location
from dockyard.core.model import utcnow
from dockyard.store.audit import GENESIS_HASH, entry_hash
from dockyard.store.columns import canonical_json, time_to_text
from dockyard.store.database import Database, open_database
from dockyard.store.repositories import RepositoryStore
from testbed.gitrepos import make_app_repo
from testbed.history import make_history_repo, record_history

PIPELINE = """\
image: localhost:5000/bench
environments:
  staging:
    mode: container
    auto: true
  production:
    mode: container
    after: staging
    approval: {required: 1}
"""
STAGES = ("checkout", "build", "test", "deliver")
ACTIONS = ("run.started", "run.finished", "deploy.started", "deploy.finished", "approval.given")


@dataclass(frozen=True)
class ScaleHome:
    home: Path
    history_repo: str  # the repository with the release history
    repos: list[str]
    runs: int
    deployments: int
    audit: int


def seed_scale(folder: Path, repos: int, runs: int, releases: int, audit: int) -> ScaleHome:
    home = folder / "home"
    db = open_database(home)
    history_path = folder / "repos" / "released"
    found = make_history_repo(history_path, utcnow(), releases, 90)
    history_head = commit_pipeline(history_path)
    template_repo = make_app_repo(folder / "template", dockyard_yml=PIPELINE)
    template, template_head = template_repo.path, template_repo.head
    locations = [normalise_location(str(history_path))]
    for number in range(1, repos):
        copy = folder / "repos" / f"app-{number:03d}"
        shutil.copytree(template, copy, symlinks=True)
        locations.append(normalise_location(str(copy)))
    store = RepositoryStore(db)
    for location in locations:
        store.add(location)
    deployments = record_history(db, locations[0], found)
    heads = {locations[0]: history_head, **dict.fromkeys(locations[1:], template_head)}
    _spread_runs(db, heads, runs - releases - 1)
    _run_of_head(db, locations[0], history_head)
    _audit_chain(db, locations, audit)
    db.close()
    return ScaleHome(home, locations[0], locations, runs, deployments, audit)


def commit_pipeline(path: Path) -> str:
    """Commits ``PIPELINE`` as dockyard.yml; returns the new head commit."""
    (path / "dockyard.yml").write_text(PIPELINE)
    git = ["git", "-C", str(path), "-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run([*git, "add", "dockyard.yml"], check=True)
    subprocess.run([*git, "commit", "-qm", "pipeline"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    return head.stdout.strip()


def _spread_runs(db: Database, heads: dict[str, str], wanted: int) -> None:
    """``wanted`` finished runs of each repository's head, over all of them, hourly, with
    their four stages."""
    start = utcnow() - timedelta(hours=wanted)
    locations = list(heads)
    runs, stages = [], []
    for number in range(wanted):
        created = start + timedelta(hours=number)
        run_id = f"{created:%Y%m%dT%H%M%S}-{number:06x}"
        repo = locations[number % len(locations)]
        runs.append(
            (run_id, repo, "main", heads[repo], "succeeded", time_to_text(created),
             time_to_text(created + timedelta(seconds=20)), "Dev <dev@example.test>",
             f"change {number}", "dev@example.test")
        )  # fmt: skip
        for position, name in enumerate(STAGES):
            began = created + timedelta(seconds=5 * position)
            stages.append(
                (run_id, position, name, "succeeded", time_to_text(began),
                 time_to_text(began + timedelta(seconds=5)))
            )  # fmt: skip
    with db.transaction() as connection:
        connection.executemany(
            "INSERT INTO runs (id, repo, ref, commit_sha, status, created, finished, author,"
            " message, started_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            runs,
        )
        connection.executemany(
            "INSERT INTO stages (run_id, position, name, status, started, finished)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            stages,
        )


def _run_of_head(db: Database, repo: str, head: str) -> None:
    """The released repository's newest run, of its head: its releases were recorded at
    older commits, which have no dockyard.yml, and status shows the environments of the
    latest run's commit."""
    now = time_to_text(utcnow())
    with db.transaction() as connection:
        connection.execute(
            "INSERT INTO runs (id, repo, ref, commit_sha, status, created, finished, author,"
            " message, started_by) VALUES (?, ?, 'main', ?, 'succeeded', ?, ?, ?, ?, ?)",
            (f"{utcnow():%Y%m%dT%H%M%S}-head", repo, head, now, now, "Dev <dev@example.test>",
             "pipeline", "dev@example.test"),
        )  # fmt: skip


def _audit_chain(db: Database, locations: list[str], wanted: int) -> None:
    """``wanted`` audit entries linked into one valid chain, one a minute until now."""
    start = utcnow() - timedelta(minutes=wanted)
    previous = GENESIS_HASH
    rows = []
    for seq in range(1, wanted + 1):
        at = time_to_text(start + timedelta(minutes=seq))
        actor = f"dev{seq % 7}@example.test"
        action = ACTIONS[seq % len(ACTIONS)]
        repo = locations[seq % len(locations)]
        environment = ("", "staging", "production")[seq % 3]
        details = {"commit": f"{seq:040x}", "tag": f"v1.{seq}.0"}
        fields = dict(seq=seq, at=at, actor=actor, os_user="dev", host="bench", action=action,
                      repo=repo, environment=environment, prev_hash=previous)  # fmt: skip
        digest = entry_hash(details=details, **fields)  # type: ignore[arg-type]
        rows.append(
            (seq, at, actor, "dev", "bench", action, repo, environment, canonical_json(details),
             previous, digest)
        )  # fmt: skip
        previous = digest
    with db.transaction() as connection:
        connection.executemany(
            "INSERT INTO audit (seq, at, actor, os_user, host, action, repo, environment,"
            " details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
