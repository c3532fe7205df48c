"""Approval requests and approvals in the SQLite release ledger (see ``ledger.py``).

The ledger records what each approver was shown (digest, configuration fingerprint);
whether an approval still counts is decided by the approval policy in ``dockyard.core``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from dockyard.core.errors import UserInputError
from dockyard.core.model import RunStatus, utcnow
from dockyard.core.redaction import redact
from dockyard.core.releases import Approval, ApprovalRequest, ApprovalStatus
from dockyard.store.columns import (
    json_to_dict,
    mapping_to_json,
    optional_text_to_time,
    optional_time_to_text,
    text_to_time,
    time_to_text,
)
from dockyard.store.database import Database
from dockyard.store.sql import SqlConnection, SqlRow


class SqliteApprovals:
    _db: Database

    def request_approval(
        self,
        *,
        repo: str,
        environment: str,
        run_id: str,
        digest: str,
        image: str,
        commit: str,
        tag: str | None,
        config_fingerprint: str,
        config: Mapping[str, object],
        requested_by: str,
        expires: datetime | None = None,
    ) -> ApprovalRequest:
        """Ask for approval; an older pending request for the environment is superseded, and
        so is its run when that is another run still awaiting approval."""
        now = time_to_text(utcnow())
        with self._db.transaction() as connection:
            # Its run may still be "running" for a moment after asking (it records that it
            # awaits approval next; RunStore keeps "superseded" then).
            connection.execute(
                "UPDATE runs SET status = ?, error = ? WHERE status IN (?, ?) AND id != ? AND id IN"
                " (SELECT run_id FROM approval_requests WHERE repo = ? AND environment = ?"
                " AND status = ?)",
                (RunStatus.SUPERSEDED, f"Superseded by a newer approval request for {environment}"
                 f" (the release of run {run_id}).", RunStatus.AWAITING_APPROVAL, RunStatus.RUNNING,
                 run_id, repo, environment, ApprovalStatus.PENDING),
            )  # fmt: skip
            connection.execute(
                "UPDATE approval_requests SET status = ?, resolved = ?"
                " WHERE repo = ? AND environment = ? AND status = ?",
                (ApprovalStatus.SUPERSEDED, now, repo, environment, ApprovalStatus.PENDING),
            )
            cursor = connection.execute(
                "INSERT INTO approval_requests (repo, environment, run_id, digest, image,"
                " commit_sha, tag, config_fingerprint, config, requested_by, created, expires,"
                " status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (repo, environment, run_id, digest, image, commit, tag, config_fingerprint,
                 mapping_to_json(config), requested_by, now, optional_time_to_text(expires),
                 ApprovalStatus.PENDING),
            )  # fmt: skip
            return _get(connection, int(cursor.fetchone()[0]))

    def pending_approval(self, repo: str, environment: str) -> ApprovalRequest | None:
        """The request waiting for the environment; one past its deadline becomes expired."""
        connection = self._expired_settled(repo, environment)
        row = connection.execute(
            "SELECT id FROM approval_requests WHERE repo = ? AND environment = ?"
            " AND status = ? AND (expires IS NULL OR expires >= ?) ORDER BY id DESC LIMIT 1",
            (repo, environment, ApprovalStatus.PENDING, time_to_text(utcnow())),
        ).fetchone()
        return None if row is None else _get(connection, row["id"])

    def pending_approvals(self) -> list[ApprovalRequest]:
        """Every request waiting for a decision, in any repository, oldest first.

        Only reads (the window asks after every commit anyone makes): a request past its
        deadline is left out here and marked expired by ``pending_approval``.
        """
        connection = self._db.connect()
        rows = connection.execute(
            "SELECT id FROM approval_requests WHERE status = ?"
            " AND (expires IS NULL OR expires >= ?) ORDER BY id",
            (ApprovalStatus.PENDING, time_to_text(utcnow())),
        ).fetchall()
        return [_get(connection, row["id"]) for row in rows]

    def add_approval(
        self, request_id: int, approver: str, comment: str, digest: str, config_fingerprint: str
    ) -> ApprovalRequest:
        """Record one person's approval (approving again replaces their earlier one)."""
        with self._db.transaction() as connection:
            _expire(connection, "id = ?", (request_id,))
            request = _get(connection, request_id)
            if request.status is not ApprovalStatus.PENDING:
                raise UserInputError(
                    f"The approval request {request_id} for {request.environment} is "
                    f"{request.status}, not pending; start a new release to approve it."
                )
            connection.execute(
                "INSERT INTO approvals (request_id, approver, comment, at, digest,"
                " config_fingerprint) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (request_id, approver)"
                " DO UPDATE SET comment = excluded.comment, at = excluded.at,"
                " digest = excluded.digest, config_fingerprint = excluded.config_fingerprint",
                (request_id, approver, redact(comment), time_to_text(utcnow()), digest,
                 config_fingerprint),
            )  # fmt: skip
            return _get(connection, request_id)

    def rebind_request(
        self,
        request_id: int,
        *,
        was_fingerprint: str,
        config_fingerprint: str,
        config: Mapping[str, object],
    ) -> ApprovalRequest:
        """Record the configuration an approver completed: secrets set since the request
        (or old-format fingerprints of unchanged values) get today's fingerprints.

        Only while the request is pending and still has ``was_fingerprint``; approvals
        given to that fingerprint move with it (they were shown the same configuration).
        """
        with self._db.transaction() as connection:
            cursor = connection.execute(
                "UPDATE approval_requests SET config = ?, config_fingerprint = ?"
                " WHERE id = ? AND status = ? AND config_fingerprint = ?",
                (mapping_to_json(config), config_fingerprint, request_id,
                 ApprovalStatus.PENDING, was_fingerprint),
            )  # fmt: skip
            if cursor.rowcount == 1:
                connection.execute(
                    "UPDATE approvals SET config_fingerprint = ?"
                    " WHERE request_id = ? AND config_fingerprint = ?",
                    (config_fingerprint, request_id, was_fingerprint),
                )
            return _get(connection, request_id)

    def resolve_approval(
        self, request_id: int, status: str, *, by: str = "", comment: str = ""
    ) -> ApprovalRequest:
        """Close a request as approved, rejected, expired or superseded."""
        status = ApprovalStatus(status)
        if status is ApprovalStatus.PENDING:
            raise ValueError("a request cannot be resolved back to pending")
        with self._db.transaction() as connection:
            _get(connection, request_id)
            connection.execute(
                "UPDATE approval_requests SET status = ?, resolved = ?, resolved_by = ?,"
                " resolution_comment = ? WHERE id = ?",
                (status, time_to_text(utcnow()), by, redact(comment), request_id),
            )
            return _get(connection, request_id)

    def latest_request(self, repo: str, environment: str) -> ApprovalRequest | None:
        """The newest request of the environment, whatever became of it (an expired one
        shows as ``expired``, so status can say why nothing waits any more)."""
        connection = self._expired_settled(repo, environment)
        row = connection.execute(
            "SELECT id FROM approval_requests WHERE repo = ? AND environment = ?"
            " ORDER BY id DESC LIMIT 1",
            (repo, environment),
        ).fetchone()
        return None if row is None else _get(connection, row["id"])

    def _expired_settled(self, repo: str, environment: str) -> SqlConnection:
        """This thread's connection, once the environment's request past its deadline (if
        any) is marked expired: the write lock only then (`dockyard status` comes here)."""
        connection = self._db.connect()
        where = "repo = ? AND environment = ?"
        if connection.execute(
            f"SELECT 1 FROM approval_requests WHERE {where} AND {_PAST_DEADLINE}",
            (repo, environment, ApprovalStatus.PENDING, time_to_text(utcnow())),
        ).fetchone():
            with self._db.transaction() as writing:
                _expire(writing, where, (repo, environment))
        return connection

    def approval_request(self, id: int) -> ApprovalRequest | None:
        try:
            return _get(self._db.connect(), id)
        except KeyError:
            return None


_PAST_DEADLINE = "status = ? AND expires IS NOT NULL AND expires < ?"  # pending, now


def _expire(connection: SqlConnection, where: str, parameters: tuple[object, ...]) -> None:
    now = time_to_text(utcnow())
    connection.execute(
        f"UPDATE approval_requests SET status = ?, resolved = ? WHERE {where} AND {_PAST_DEADLINE}",
        (ApprovalStatus.EXPIRED, now, *parameters, ApprovalStatus.PENDING, now),
    )


def _get(connection: SqlConnection, id: int) -> ApprovalRequest:
    row = connection.execute("SELECT * FROM approval_requests WHERE id = ?", (id,)).fetchone()
    if row is None:
        raise KeyError(f"approval request {id} is not recorded")
    approvals = connection.execute(
        "SELECT * FROM approvals WHERE request_id = ? ORDER BY at, approver", (id,)
    )
    return request_from_row(row, [approval_from_row(approval) for approval in approvals])


def approval_from_row(row: SqlRow) -> Approval:
    return Approval(
        approver=row["approver"],
        comment=row["comment"],
        at=text_to_time(row["at"]),
        digest=row["digest"],
        config_fingerprint=row["config_fingerprint"],
    )


def request_from_row(row: SqlRow, approvals: list[Approval]) -> ApprovalRequest:
    return ApprovalRequest(
        id=row["id"],
        repo=row["repo"],
        environment=row["environment"],
        run_id=row["run_id"],
        digest=row["digest"],
        image=row["image"],
        commit=row["commit_sha"],
        tag=row["tag"],
        config_fingerprint=row["config_fingerprint"],
        config=json_to_dict(row["config"]),
        requested_by=row["requested_by"],
        created=text_to_time(row["created"]),
        expires=optional_text_to_time(row["expires"]),
        status=ApprovalStatus(row["status"]),
        approvals=tuple(approvals),
        resolved=optional_text_to_time(row["resolved"]),
        resolved_by=row["resolved_by"],
        resolution_comment=row["resolution_comment"],
    )
