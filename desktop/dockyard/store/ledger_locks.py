"""Deployment locks in the release ledger (see ``ledger.py``), local or team.

One row per environment being deployed, deleted when the deployment ends. It is taken by
an ``INSERT … ON CONFLICT DO NOTHING`` (or, over a stale row, an ``UPDATE`` naming the
stale row's token), so of two processes racing for it exactly one wins, on SQLite and on
PostgreSQL alike. The row names its process (``store.owner``): a lock whose process is
gone (``kill -9``, a crash) counts as free; one held on another host, which cannot be
checked, counts as free once it is older than any deployment can take. Nothing waits
inside a transaction: a caller that finds the lock taken polls (``engine.release.deploy_lock``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from dockyard.core.model import utcnow
from dockyard.store.columns import text_to_time, time_to_text
from dockyard.store.database import Database
from dockyard.store.owner import ProcessOwner
from dockyard.store.sql import SqlConnection, SqlRow

# Longer than a deployment may take (its timeout is 10 minutes) with room to spare.
REMOTE_LOCK_LIFETIME = timedelta(minutes=30)


@dataclass(frozen=True)
class DeploymentLock:
    """Who deploys what to an environment right now."""

    repo: str
    environment: str
    token: str  # this acquisition; two threads of one process hold different tokens
    what: str  # the release being deployed, e.g. "v2.0.0"
    taken_by: str  # the identity deploying it
    taken: datetime
    owner: ProcessOwner

    def describe(self) -> str:
        return f"process {self.owner.pid}/{self.taken_by}"

    def stale(self, now: datetime) -> bool:
        alive = self.owner.alive()
        if alive is None:  # another host: trust it for as long as a deployment may take
            return now - self.taken > REMOTE_LOCK_LIFETIME
        return not alive


class SqliteLocks:
    _db: Database

    def try_lock_environment(
        self, repo: str, environment: str, *, what: str, taken_by: str
    ) -> tuple[DeploymentLock | None, DeploymentLock | None]:
        """Take the environment's lock: ``(ours, None)``, or ``(None, holder)`` when another
        live deployment holds it. A stale lock is taken over."""
        owner = ProcessOwner.current()
        mine = DeploymentLock(
            repo, environment, secrets.token_hex(8), what, taken_by, utcnow(), owner
        )
        values = (what, taken_by, time_to_text(mine.taken), owner.host, owner.pid, owner.started)
        with self._db.transaction() as connection:
            holder = _held(connection, repo, environment)
            if holder is None:
                taken = connection.execute(
                    "INSERT INTO deployment_locks (repo, environment, token, what, taken_by,"
                    " taken, owner_host, owner_pid, owner_started)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (repo, environment) DO NOTHING",
                    (repo, environment, mine.token, *values),
                ).rowcount
            elif holder.stale(mine.taken):
                taken = connection.execute(
                    "UPDATE deployment_locks SET token = ?, what = ?, taken_by = ?, taken = ?,"
                    " owner_host = ?, owner_pid = ?, owner_started = ?"
                    " WHERE repo = ? AND environment = ? AND token = ?",
                    (mine.token, *values, repo, environment, holder.token),
                ).rowcount
            else:
                return None, holder
            if taken == 1:
                return mine, None
            return None, _held(connection, repo, environment)  # another process won the race

    def unlock_environment(self, lock: DeploymentLock) -> None:
        """Release ``lock``; a lock taken over meanwhile (it was thought stale) stays."""
        with self._db.transaction() as connection:
            connection.execute(
                "DELETE FROM deployment_locks WHERE repo = ? AND environment = ? AND token = ?",
                (lock.repo, lock.environment, lock.token),
            )

    def environment_lock(self, repo: str, environment: str) -> DeploymentLock | None:
        """The lock held on the environment, unless it is stale."""
        lock = _held(self._db.connect(), repo, environment)
        return None if lock is None or lock.stale(utcnow()) else lock


def _held(connection: SqlConnection, repo: str, environment: str) -> DeploymentLock | None:
    row = connection.execute(
        "SELECT * FROM deployment_locks WHERE repo = ? AND environment = ?", (repo, environment)
    ).fetchone()
    return None if row is None else _from_row(row)


def _from_row(row: SqlRow) -> DeploymentLock:
    return DeploymentLock(
        repo=row["repo"],
        environment=row["environment"],
        token=row["token"],
        what=row["what"],
        taken_by=row["taken_by"],
        taken=text_to_time(row["taken"]),
        owner=ProcessOwner(row["owner_host"], int(row["owner_pid"]), row["owner_started"]),
    )
