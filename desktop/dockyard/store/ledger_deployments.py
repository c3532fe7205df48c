"""Deployments in the SQLite release ledger (see ``ledger.py``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence

from dockyard.core.model import utcnow
from dockyard.core.releases import Deployment, DeploymentStatus
from dockyard.store.columns import (
    json_to_dict,
    mapping_to_json,
    optional_text_to_time,
    text_to_time,
    time_to_text,
)
from dockyard.store.database import Database


class SqliteDeployments:
    _db: Database

    def start_deployment(
        self,
        *,
        repo: str,
        environment: str,
        digest: str,
        image: str,
        commit: str,
        tag: str | None,
        run_id: str | None,
        config: Mapping[str, object],
        deployed_by: str,
        approved_by: Sequence[str] = (),
        rollback: bool = False,
        rolled_back_from: int | None = None,
        comment: str = "",
    ) -> Deployment:
        """Record a deployment as ``deploying`` before anything touches the daemon."""
        with self._db.transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO deployments (repo, environment, digest, image, commit_sha, tag,"
                " run_id, config, status, started, deployed_by, approved_by, rollback,"
                " rolled_back_from, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    repo,
                    environment,
                    digest,
                    image,
                    commit,
                    tag,
                    run_id,
                    mapping_to_json(config),
                    DeploymentStatus.DEPLOYING,
                    time_to_text(utcnow()),
                    deployed_by,
                    json.dumps(list(approved_by)),
                    int(rollback),
                    rolled_back_from,
                    comment,
                ),
            )
            assert cursor.lastrowid is not None
            return _get(connection, cursor.lastrowid)

    def finish_deployment(self, id: int, status: str, error: str = "") -> Deployment:
        """Settle a deployment; a ``deployed`` one supersedes what was deployed before."""
        status = DeploymentStatus(status)
        with self._db.transaction() as connection:
            deployment = _get(connection, id)
            connection.execute(
                "UPDATE deployments SET status = ?, error = ?, finished = ? WHERE id = ?",
                (status, error, time_to_text(utcnow()), id),
            )
            if status is DeploymentStatus.DEPLOYED:
                connection.execute(
                    "UPDATE deployments SET status = ? WHERE repo = ? AND environment = ?"
                    " AND status = ? AND id != ?",
                    (
                        DeploymentStatus.SUPERSEDED,
                        deployment.repo,
                        deployment.environment,
                        DeploymentStatus.DEPLOYED,
                        id,
                    ),
                )
            return _get(connection, id)

    def current_deployment(self, repo: str, environment: str) -> Deployment | None:
        """What was last deployed successfully to the environment (None: nothing yet)."""
        row = (
            self._db.connect()
            .execute(
                "SELECT * FROM deployments WHERE repo = ? AND environment = ? AND status = ?"
                " ORDER BY finished DESC, id DESC LIMIT 1",
                (repo, environment, DeploymentStatus.DEPLOYED),
            )
            .fetchone()
        )
        return None if row is None else _from_row(row)

    def deployments(self, repo: str, environment: str, limit: int = 50) -> list[Deployment]:
        """Every deployment of the environment, newest first, whatever its outcome."""
        rows = self._db.connect().execute(
            "SELECT * FROM deployments WHERE repo = ? AND environment = ? ORDER BY id DESC LIMIT ?",
            (repo, environment, limit),
        )
        return [_from_row(row) for row in rows]

    def deployment(self, id: int) -> Deployment | None:
        row = self._db.connect().execute("SELECT * FROM deployments WHERE id = ?", (id,))
        found = row.fetchone()
        return None if found is None else _from_row(found)

    def interrupted_deployments_on_start(self) -> list[Deployment]:
        """At start-up: deployments still ``deploying`` become ``interrupted``; returns them
        so the reconciler can check what the daemon actually runs."""
        with self._db.transaction() as connection:
            ids = [
                row["id"]
                for row in connection.execute(
                    "SELECT id FROM deployments WHERE status = ?", (DeploymentStatus.DEPLOYING,)
                )
            ]
            connection.execute(
                "UPDATE deployments SET status = ?, finished = ?,"
                " error = 'Dockyard stopped before this deployment finished' WHERE status = ?",
                (
                    DeploymentStatus.INTERRUPTED,
                    time_to_text(utcnow()),
                    DeploymentStatus.DEPLOYING,
                ),
            )
            return [_get(connection, id) for id in ids]


def _get(connection: sqlite3.Connection, id: int) -> Deployment:
    row = connection.execute("SELECT * FROM deployments WHERE id = ?", (id,)).fetchone()
    if row is None:
        raise KeyError(f"deployment {id} is not recorded")
    return _from_row(row)


def _from_row(row: sqlite3.Row) -> Deployment:
    return Deployment(
        id=row["id"],
        repo=row["repo"],
        environment=row["environment"],
        digest=row["digest"],
        image=row["image"],
        commit=row["commit_sha"],
        tag=row["tag"],
        run_id=row["run_id"],
        config=json_to_dict(row["config"]),
        status=DeploymentStatus(row["status"]),
        started=text_to_time(row["started"]),
        finished=optional_text_to_time(row["finished"]),
        deployed_by=row["deployed_by"],
        approved_by=tuple(json.loads(row["approved_by"])),
        rollback=bool(row["rollback"]),
        rolled_back_from=row["rolled_back_from"],
        comment=row["comment"],
        error=row["error"],
    )
