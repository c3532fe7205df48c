"""A back-dated release history: a git repository whose commits were written over past
weeks, and ledger rows (runs, approvals, deployments, rollbacks, failures) at those
times. For the Insights screenshots and the benchmark, which need weeks of history that
the real pipeline, running now, cannot produce. Tests of behaviour use real runs.
"""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.store.columns import time_to_text
from dockyard.store.database import Database

if TYPE_CHECKING:
    import psycopg

TABLES = ("repositories", "runs", "stages", "images", "deployments", "approval_requests",
          "approvals", "pins")  # fmt: skip
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


@dataclass
class Release:
    tag: str
    commit: str
    at: datetime  # when staging got it
    hotfix: bool


def make_history_repo(
    path: Path, now: datetime, releases: int, days: float, seed: int = 7
) -> list[Release]:
    """A git repository with one to four commits per release, back-dated (fast-import)."""
    rng = random.Random(seed)
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    start = now - timedelta(days=days)
    step = timedelta(days=days) / releases
    stream: list[str] = []
    planned: list[tuple[str, datetime, bool, int]] = []
    mark = 0
    for number in range(releases):
        at = start + step * number + rng.uniform(0, 0.5) * step
        hotfix = number > 0 and rng.random() < 0.06
        tag = f"v1.{number}.1-hotfix" if hotfix else f"v1.{number}.0"
        commits = 1 if hotfix else rng.randint(1, 4)
        for position in range(commits):
            mark += 1
            authored = at - rng.uniform(0.5, 30) * HOUR + position * MINUTE
            seconds = int(authored.timestamp())
            message = f"{'hotfix' if hotfix else 'change'} {mark}\n"
            stream += [
                "commit refs/heads/main", f"mark :{mark}",
                f"author Dev <dev@example.test> {seconds} +0000",
                f"committer Dev <dev@example.test> {seconds} +0000",
                f"data {len(message)}", message.rstrip("\n"),
            ]  # fmt: skip
            if mark > 1:
                stream.append(f"from :{mark - 1}")
            content = f"{mark}\n"
            stream += ["M 644 inline file.txt", f"data {len(content)}", content.rstrip("\n"), ""]
        planned.append((tag, at, hotfix, mark))
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"],
        input="\n".join(stream) + "\n", text=True, check=True,
    )  # fmt: skip
    shas = subprocess.run(
        ["git", "-C", str(path), "rev-list", "--reverse", "main"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    subprocess.run(["git", "-C", str(path), "reset", "-q", "--hard", "main"], check=True)
    return [Release(tag, shas[last - 1], at, hotfix) for tag, at, hotfix, last in planned]


def record_history(db: Database, repo: str, releases: list[Release], seed: int = 7) -> int:
    """Ledger rows for ``releases``: staging automatically, production after an approval;
    some fail their health gate, some are rolled back. Returns the deployments written."""
    rng = random.Random(seed)
    writer = _Writer(db, repo)
    with db.transaction() as connection:
        writer.connection = connection
        for release in releases:
            run = writer.run(release)
            writer.deploy("staging", release, run, release.at, "deployed")
            asked = release.at + 5 * MINUTE
            decided = asked + rng.uniform(0.1, 8) * HOUR
            writer.approval(release, run, asked, decided)
            outcome = "failed" if rng.random() < 0.08 else "deployed"
            deployed = writer.deploy(
                "production", release, run, decided, outcome, ("rm@example.test",)
            )
            if outcome == "deployed" and rng.random() < 0.07:
                writer.rollback("production", deployed, decided + rng.uniform(0.5, 5) * HOUR)
    return writer.count


class _Writer:
    def __init__(self, db: Database, repo: str) -> None:
        self.db = db
        self.repo = repo
        self.count = 0
        self.connection: object = None
        self.released: dict[str, list[tuple[int, Release, str]]] = {}

    def _execute(self, sql: str, values: tuple[object, ...]) -> int:
        cursor = self.connection.execute(sql, values)  # type: ignore[attr-defined]
        return int(cursor.lastrowid)

    def run(self, release: Release) -> str:
        run_id = f"{release.at:%Y%m%dT%H%M%S}-{release.commit[:6]}"
        ref = f"hotfix/{release.tag}" if release.hotfix else release.tag
        self._execute(
            "INSERT INTO runs (id, repo, ref, commit_sha, status, created, finished, tag,"
            " message, started_by, digest) VALUES (?, ?, ?, ?, 'succeeded', ?, ?, ?, ?, ?, ?)",
            (run_id, self.repo, ref, release.commit, time_to_text(release.at),
             time_to_text(release.at + 3 * MINUTE), release.tag, ref, "dev@example.test",
             _digest(release.commit)),
        )  # fmt: skip
        return run_id

    def approval(self, release: Release, run: str, asked: datetime, decided: datetime) -> None:
        request = self._execute(
            "INSERT INTO approval_requests (repo, environment, run_id, digest, image, commit_sha,"
            " tag, config_fingerprint, requested_by, created, status, resolved, resolved_by)"
            " VALUES (?, 'production', ?, ?, 'img', ?, ?, 'f', 'dev@example.test', ?,"
            " 'approved', ?, 'rm@example.test')",
            (self.repo, run, _digest(release.commit), release.commit, release.tag,
             time_to_text(asked), time_to_text(decided)),
        )  # fmt: skip
        self._execute(
            "INSERT INTO approvals (request_id, approver, at, digest, config_fingerprint)"
            " VALUES (?, 'rm@example.test', ?, ?, 'f')",
            (request, time_to_text(decided), _digest(release.commit)),
        )

    def deploy(
        self,
        env: str,
        release: Release,
        run: str,
        at: datetime,
        status: str,
        approved: tuple[str, ...] = (),
        rollback_of: int | None = None,
    ) -> int:
        if status == "deployed":
            self._execute(
                "UPDATE deployments SET status = 'superseded' WHERE repo = ? AND environment = ?"
                " AND status = 'deployed'",
                (self.repo, env),
            )
        self.count += 1
        deployment = self._execute(
            "INSERT INTO deployments (repo, environment, digest, image, commit_sha, tag, run_id,"
            " status, started, finished, deployed_by, approved_by, rollback, rolled_back_from,"
            " comment, error) VALUES (?, ?, ?, 'img', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.repo, env, _digest(release.commit), release.commit, release.tag, run, status,
             time_to_text(at), time_to_text(at + MINUTE), "dev@example.test",
             json.dumps(list(approved)), int(rollback_of is not None), rollback_of,
             "slow checkout" if rollback_of else "",
             "did not become healthy" if status == "failed" else ""),
        )  # fmt: skip
        if status == "deployed" and rollback_of is None:
            self.released.setdefault(env, []).append((deployment, release, run))
        return deployment

    def rollback(self, env: str, current: int, at: datetime) -> None:
        earlier = [entry for entry in self.released.get(env, []) if entry[0] != current]
        if earlier:
            _id, release, run = earlier[-1]
            self.deploy(env, release, run, at, "deployed", rollback_of=current)


def add_runs(db: Database, repo: str, wanted: int, head: str) -> None:
    """Runs up to ``wanted``: builds that were never released, and last a run of the
    commit that added dockyard.yml (status reads the environments at the latest run's
    commit; the releases' commits have no dockyard.yml)."""
    connection = db.connect()
    have = connection.execute("SELECT count(*) FROM runs").fetchone()[0]
    now = time_to_text(datetime.now(UTC))
    with db.transaction() as writing:
        for number in range(wanted - have):
            latest = number == wanted - have - 1
            writing.execute(
                "INSERT INTO runs (id, repo, ref, commit_sha, status, created, finished,"
                " started_by) VALUES (?, ?, 'main', ?, 'succeeded', ?, ?, 'dev@example.test')",
                (f"20250101T000000-{number:06x}", repo, head if latest else f"{number:040x}",
                 now if latest else f"2025-01-01T00:00:00.{number:06d}+00:00",
                 now if latest else "2025-01-01T00:05:00+00:00"),
            )  # fmt: skip


def copy_to_team(db: Database, owner: psycopg.Connection) -> None:
    """Every row of the local ledger into the team ledger, as the schema owner with the
    identity rules off (what is compared is reading, not who wrote)."""
    connection = db.connect()
    with owner.transaction():
        owner.execute("SET LOCAL session_replication_role = replica")
        for table in TABLES:
            rows = connection.execute(f"SELECT * FROM {table}").fetchall()
            if not rows:
                continue
            columns = list(rows[0].keys())
            marks = ", ".join(["%s"] * len(columns))
            with owner.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO dockyard.{table} ({', '.join(columns)}) VALUES ({marks})",
                    [tuple(row) for row in rows],
                )
        for table in ("repositories", "deployments", "approval_requests"):
            owner.execute(
                f"SELECT setval(pg_get_serial_sequence('dockyard.{table}', 'id'),"
                f" (SELECT coalesce(max(id), 1) FROM dockyard.{table}))"
            )


def _digest(commit: str) -> str:
    return "sha256:" + (commit * 2)[:64]


def history_now() -> datetime:
    return datetime.now(UTC)
