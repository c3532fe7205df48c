"""Pipeline runs and their stages.

A run is written when it is created and after every change, so a crash leaves the last
known state on disk; ``interrupt_orphaned`` turns what was in flight into a visible
"interrupted" at the next start instead of a run that stays "running" forever. Each run
records the process that works on it (``store.owner``), so only runs whose process is
gone are touched: another ``dockyard run`` or the window may be working on the others.
"""

from __future__ import annotations

import builtins
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dockyard.core.errors import UserInputError
from dockyard.core.model import Run, RunStatus, Stage, StageStatus, utcnow
from dockyard.core.redaction import redact
from dockyard.store.columns import (
    optional_text_to_time,
    optional_time_to_text,
    text_to_time,
    time_to_text,
)
from dockyard.store.database import Database
from dockyard.store.owner import ProcessOwner, owner_of, settle_orphans
from dockyard.store.sql import SqlConnection, SqlRow

MIN_PREFIX = 6
INTERRUPTED_SUMMARY = "interrupted: Dockyard stopped before this stage finished"
RUN_INTERRUPTED_ERROR = "Dockyard stopped before this run finished (the process ended)."


def new_run_id(now: datetime | None = None) -> str:
    """A short id that sorts by creation time: ``20261126T062012-3fa9c1``.

    The six hex characters after the dash also identify the run on their own
    (``dockyard logs 3fa9c1``).
    """
    moment = (now or utcnow()).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


@dataclass
class OrphanedRuns:
    """What ``interrupt_orphaned`` did: runs it marked interrupted, and in-flight runs it
    left alone because their process runs on another host (it cannot be checked)."""

    interrupted: list[Run] = field(default_factory=list)
    elsewhere: list[tuple[Run, ProcessOwner]] = field(default_factory=list)


class RunStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, run: Run, owner: ProcessOwner | None = None) -> None:
        """Record a new run and its stages, owned by this process unless ``owner`` says."""
        owner = owner or ProcessOwner.current()
        with self._db.transaction() as connection:
            connection.execute(
                "INSERT INTO runs (id, repo, ref, created, started_by, status, owner_host,"
                " owner_pid, owner_started) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.id, run.repo, run.ref, time_to_text(run.created), run.started_by,
                 run.status, owner.host, owner.pid, owner.started),
            )  # fmt: skip
            self._save(connection, run)

    def save(self, run: Run) -> None:
        """Write the run's changing fields and every stage it holds."""
        with self._db.transaction() as connection:
            self._save(connection, run)

    def save_stage(self, run_id: str, stage: Stage) -> None:
        with self._db.transaction() as connection:
            _upsert_stage(connection, run_id, stage, position=None)

    def get(self, run_id: str) -> Run | None:
        """A run by id, by a unique id prefix (6+ characters) or by its random suffix."""
        connection = self._db.connect()
        row = connection.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None and len(run_id) >= MIN_PREFIX:
            pattern = _escape_like(run_id)
            rows = connection.execute(
                "SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\' LIMIT 2",
                (pattern + "%", "%-" + pattern),
            ).fetchall()
            if len(rows) > 1:
                raise UserInputError(
                    f"More than one run id starts with {run_id!r}; give more characters."
                )
            row = rows[0] if rows else None
        return None if row is None else self._with_stages(connection, [row])[0]

    def list(self, repo: str, *, limit: int = 100, offset: int = 0) -> builtins.list[Run]:
        """Runs of ``repo``, newest first, with their stages."""
        connection = self._db.connect()
        rows = connection.execute(
            "SELECT * FROM runs WHERE repo = ? ORDER BY created DESC, id DESC LIMIT ? OFFSET ?",
            (repo, limit, offset),
        ).fetchall()
        return self._with_stages(connection, rows)

    def count(self, repo: str) -> int:
        row = self._db.connect().execute("SELECT count(*) FROM runs WHERE repo = ?", (repo,))
        return int(row.fetchone()[0])

    def latest(self, repo: str) -> Run | None:
        runs = self.list(repo, limit=1)
        return runs[0] if runs else None

    def owner_of(self, run_id: str) -> ProcessOwner | None:
        row = (
            self._db.connect()
            .execute(
                "SELECT owner_host, owner_pid, owner_started FROM runs WHERE id = ?", (run_id,)
            )
            .fetchone()
        )
        return None if row is None else owner_of(row)

    def interrupt_orphaned(self) -> OrphanedRuns:
        """At start-up: queued/running runs whose process is gone become interrupted, their
        open stages cancelled. Runs of a live process on this host are left alone, and so
        are runs owned on another host (reported in ``elsewhere``)."""
        report = OrphanedRuns()
        now = time_to_text(utcnow())
        ids: list[str] = []

        def interrupt(connection: SqlConnection, row: SqlRow) -> None:
            ids.append(row["id"])
            _interrupt(connection, row["id"], now)

        for row in settle_orphans(self._db, _in_flight, interrupt):
            owner = owner_of(row)
            run = self.get(row["id"]) if owner.alive() is None else None
            if run is not None:
                report.elsewhere.append((run, owner))
        report.interrupted = [run for run in map(self.get, ids) if run is not None]
        return report

    def interrupted_in_stage(self, stage: str) -> builtins.list[Run]:
        """Interrupted runs whose ``stage`` was running when their process ended, and whose
        leftovers nobody has dealt with yet (the stage still has the interrupted summary)."""
        rows = (
            self._db.connect()
            .execute(
                "SELECT runs.id FROM runs JOIN stages ON stages.run_id = runs.id"
                " WHERE runs.status = ? AND stages.name = ? AND stages.status = ?"
                " AND stages.summary = ? ORDER BY runs.created",
                (RunStatus.INTERRUPTED, stage, StageStatus.CANCELLED, INTERRUPTED_SUMMARY),
            )
            .fetchall()
        )
        return [run for run in (self.get(row["id"]) for row in rows) if run is not None]

    @staticmethod
    def _save(connection: SqlConnection, run: Run) -> None:
        if run.status == RunStatus.AWAITING_APPROVAL:
            # A newer request may have superseded the run's own before its process got to
            # record that it waits: superseded stays, and ``run`` learns it.
            row = connection.execute(
                "SELECT status, error FROM runs WHERE id = ?", (run.id,)
            ).fetchone()
            if row is not None and row["status"] == RunStatus.SUPERSEDED:
                run.status, run.error = RunStatus.SUPERSEDED, row["error"]
        cursor = connection.execute(
            "UPDATE runs SET status = ?, commit_sha = ?, author = ?, message = ?, tag = ?, "
            "digest = ?, image_name = ?, error = ?, warnings = ?, finished = ? WHERE id = ?",
            (
                run.status,
                run.commit,
                run.author,
                run.message,
                run.tag,
                run.digest,
                run.image_name,
                redact(run.error),
                json.dumps([redact(warning) for warning in run.warnings]),
                optional_time_to_text(run.finished),
                run.id,
            ),
        )
        if cursor.rowcount == 0:
            raise KeyError(f"run {run.id} was never created")
        for position, stage in enumerate(run.stages):
            _upsert_stage(connection, run.id, stage, position=position)

    @staticmethod
    def _with_stages(connection: SqlConnection, rows: Iterable[SqlRow]) -> builtins.list[Run]:
        runs = [_run_from_row(row) for row in rows]
        if not runs:
            return runs
        by_id = {run.id: run for run in runs}
        marks = ",".join("?" * len(by_id))
        for row in connection.execute(
            f"SELECT * FROM stages WHERE run_id IN ({marks}) ORDER BY run_id, position",
            tuple(by_id),
        ):
            by_id[row["run_id"]].stages.append(_stage_from_row(row))
        return runs


def _upsert_stage(
    connection: SqlConnection, run_id: str, stage: Stage, *, position: int | None
) -> None:
    if position is None:
        row = connection.execute(
            "SELECT coalesce((SELECT position FROM stages WHERE run_id = ? AND name = ?), "
            "(SELECT coalesce(max(position) + 1, 0) FROM stages WHERE run_id = ?))",
            (run_id, stage.name, run_id),
        ).fetchone()
        position = int(row[0])
    connection.execute(
        "INSERT INTO stages (run_id, position, name, status, started, finished, summary) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, name) DO UPDATE SET "
        "position = excluded.position, status = excluded.status, started = excluded.started, "
        "finished = excluded.finished, summary = excluded.summary",
        (
            run_id,
            position,
            stage.name,
            stage.status,
            optional_time_to_text(stage.started),
            optional_time_to_text(stage.finished),
            redact(stage.summary),
        ),
    )


def _in_flight(connection: SqlConnection) -> list[SqlRow]:
    return connection.execute(
        "SELECT id, owner_host, owner_pid, owner_started FROM runs WHERE status IN (?, ?)",
        (RunStatus.QUEUED, RunStatus.RUNNING),
    ).fetchall()


def _interrupt(connection: SqlConnection, run_id: str, now: str) -> None:
    connection.execute(
        "UPDATE runs SET status = ?, finished = ?, error = CASE WHEN error = '' THEN ?"
        " ELSE error END WHERE id = ?",
        (RunStatus.INTERRUPTED, now, RUN_INTERRUPTED_ERROR, run_id),
    )
    connection.execute(
        "UPDATE stages SET status = ?, finished = coalesce(finished, ?), "
        "summary = CASE WHEN status = ? THEN ? ELSE summary END "
        "WHERE run_id = ? AND status IN (?, ?)",
        (
            StageStatus.CANCELLED,
            now,
            StageStatus.RUNNING,
            INTERRUPTED_SUMMARY,
            run_id,
            StageStatus.PENDING,
            StageStatus.RUNNING,
        ),
    )


def _owner(row: SqlRow) -> ProcessOwner:
    return ProcessOwner(row["owner_host"], int(row["owner_pid"]), row["owner_started"])


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _run_from_row(row: SqlRow) -> Run:
    return Run(
        id=row["id"],
        repo=row["repo"],
        ref=row["ref"],
        commit=row["commit_sha"],
        status=RunStatus(row["status"]),
        created=text_to_time(row["created"]),
        finished=optional_text_to_time(row["finished"]),
        author=row["author"],
        message=row["message"],
        tag=row["tag"],
        started_by=row["started_by"],
        image_name=row["image_name"],
        digest=row["digest"],
        error=row["error"],
        warnings=list(json.loads(row["warnings"])),
    )


def _stage_from_row(row: SqlRow) -> Stage:
    return Stage(
        name=row["name"],
        status=StageStatus(row["status"]),
        started=optional_text_to_time(row["started"]),
        finished=optional_text_to_time(row["finished"]),
        summary=row["summary"],
    )
