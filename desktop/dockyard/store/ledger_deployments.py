"""Deployments in the SQLite release ledger (see ``ledger.py``).

Each deployment records the process that performs it (``store.owner``): at start-up only
deployments whose process is gone become ``interrupted``, never those another live
Dockyard process (a ``dockyard run``, the window) is still performing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dockyard.core.model import utcnow
from dockyard.core.redaction import redact
from dockyard.core.releases import Deployment, DeploymentStatus
from dockyard.store.columns import (
    json_to_dict,
    mapping_to_json,
    optional_text_to_time,
    text_to_time,
    time_to_text,
)
from dockyard.store.database import Database
from dockyard.store.owner import ProcessOwner, owner_of, settle_orphans
from dockyard.store.sql import SqlConnection, SqlRow

INTERRUPTED_ERROR = "interrupted: Dockyard stopped before this deployment finished"


@dataclass
class OrphanedDeployments:
    """What ``interrupt_orphaned_deployments`` did: deployments it marked interrupted, and
    in-flight ones left alone because their process runs on another host."""

    interrupted: list[Deployment] = field(default_factory=list)
    elsewhere: list[tuple[Deployment, ProcessOwner]] = field(default_factory=list)


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
        owner: ProcessOwner | None = None,
    ) -> Deployment:
        """Record a deployment as ``deploying`` before anything touches the daemon, owned by
        this process unless ``owner`` says."""
        owner = owner or ProcessOwner.current()
        with self._db.transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO deployments (repo, environment, digest, image, commit_sha, tag,"
                " run_id, config, status, started, deployed_by, approved_by, rollback,"
                " rolled_back_from, comment, owner_host, owner_pid, owner_started)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
                    redact(comment),
                    owner.host,
                    owner.pid,
                    owner.started,
                ),
            )
            return _get(connection, int(cursor.fetchone()[0]))

    def finish_deployment(self, id: int, status: str, error: str = "") -> Deployment:
        """Settle a deployment; a ``deployed`` one supersedes what was deployed before."""
        status = DeploymentStatus(status)
        with self._db.transaction() as connection:
            deployment = _get(connection, id)
            connection.execute(
                "UPDATE deployments SET status = ?, error = ?, finished = ? WHERE id = ?",
                (status, redact(error), time_to_text(utcnow()), id),
            )
            _supersede_others(connection, deployment, status)
            return _get(connection, id)

    def reconcile_deployment(self, id: int, status: str, error: str = "") -> Deployment:
        """Settle an interrupted deployment after asking its daemon (``deployed`` or
        ``interrupted`` with the reason); it is not asked again after this."""
        status = DeploymentStatus(status)
        with self._db.transaction() as connection:
            deployment = _get(connection, id)
            connection.execute(
                "UPDATE deployments SET status = ?, error = ?, reconciled = ? WHERE id = ?",
                (status, redact(error), time_to_text(utcnow()), id),
            )
            _supersede_others(connection, deployment, status)
            return _get(connection, id)

    def owner_of_deployment(self, id: int) -> ProcessOwner | None:
        row = (
            self._db.connect()
            .execute(
                "SELECT owner_host, owner_pid, owner_started FROM deployments WHERE id = ?", (id,)
            )
            .fetchone()
        )
        return None if row is None else owner_of(row)

    def interrupt_orphaned_deployments(self) -> OrphanedDeployments:
        """At start-up: ``deploying`` rows whose process is gone become ``interrupted``.
        Rows of a live process on this host are left alone; rows owned on another host are
        left alone and reported in ``elsewhere``."""
        report = OrphanedDeployments()
        now = time_to_text(utcnow())

        def interrupt(connection: SqlConnection, row: SqlRow) -> None:
            connection.execute(
                "UPDATE deployments SET status = ?, finished = ?, error = ? WHERE id = ?",
                (DeploymentStatus.INTERRUPTED, now, INTERRUPTED_ERROR, row["id"]),
            )
            report.interrupted.append(_get(connection, row["id"]))

        rows = settle_orphans(self._db, _deploying, interrupt)
        for row in rows:
            owner = owner_of(row)
            if owner.alive() is None:
                report.elsewhere.append((deployment_from_row(row), owner))
        return report

    def unreconciled_deployments(self) -> list[Deployment]:
        """Interrupted deployments whose daemon was not asked yet (it was unreachable)."""
        rows = self._db.connect().execute(
            "SELECT * FROM deployments WHERE status = ? AND reconciled IS NULL ORDER BY id",
            (DeploymentStatus.INTERRUPTED,),
        )
        return [deployment_from_row(row) for row in rows]

    def latest_deployment(self, repo: str, environment: str) -> Deployment | None:
        """The newest deployment of the environment, whatever its outcome."""
        found = self.deployments(repo, environment, 1)
        return found[0] if found else None

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
        return None if row is None else deployment_from_row(row)

    def deployments(self, repo: str, environment: str, limit: int = 50) -> list[Deployment]:
        """Every deployment of the environment, newest first, whatever its outcome."""
        rows = self._db.connect().execute(
            "SELECT * FROM deployments WHERE repo = ? AND environment = ? ORDER BY id DESC LIMIT ?",
            (repo, environment, limit),
        )
        return [deployment_from_row(row) for row in rows]

    def deployment(self, id: int) -> Deployment | None:
        row = self._db.connect().execute("SELECT * FROM deployments WHERE id = ?", (id,))
        found = row.fetchone()
        return None if found is None else deployment_from_row(found)


def _supersede_others(
    connection: SqlConnection, deployment: Deployment, status: DeploymentStatus
) -> None:
    """A ``deployed`` deployment supersedes what was deployed before it."""
    if status is DeploymentStatus.DEPLOYED:
        connection.execute(
            "UPDATE deployments SET status = ? WHERE repo = ? AND environment = ?"
            " AND status = ? AND id != ?",
            (
                DeploymentStatus.SUPERSEDED,
                deployment.repo,
                deployment.environment,
                DeploymentStatus.DEPLOYED,
                deployment.id,
            ),
        )


def _get(connection: SqlConnection, id: int) -> Deployment:
    row = connection.execute("SELECT * FROM deployments WHERE id = ?", (id,)).fetchone()
    if row is None:
        raise KeyError(f"deployment {id} is not recorded")
    return deployment_from_row(row)


def _deploying(connection: SqlConnection) -> list[SqlRow]:
    return connection.execute(
        "SELECT * FROM deployments WHERE status = ? ORDER BY id", (DeploymentStatus.DEPLOYING,)
    ).fetchall()


def _owner(row: SqlRow) -> ProcessOwner:
    return ProcessOwner(row["owner_host"], int(row["owner_pid"]), row["owner_started"])


def deployment_from_row(row: SqlRow, config: dict[str, object] | None = None) -> Deployment:
    """The deployment of ``row``; ``config`` in place of parsing the row's snapshot."""
    approved = row["approved_by"]
    return Deployment(
        id=row["id"],
        repo=row["repo"],
        environment=row["environment"],
        digest=row["digest"],
        image=row["image"],
        commit=row["commit_sha"],
        tag=row["tag"],
        run_id=row["run_id"],
        config=json_to_dict(row["config"]) if config is None else config,
        status=DeploymentStatus(row["status"]),
        started=text_to_time(row["started"]),
        finished=optional_text_to_time(row["finished"]),
        deployed_by=row["deployed_by"],
        approved_by=() if approved == "[]" else tuple(json.loads(approved)),
        rollback=bool(row["rollback"]),
        rolled_back_from=row["rolled_back_from"],
        comment=row["comment"],
        error=row["error"],
    )
