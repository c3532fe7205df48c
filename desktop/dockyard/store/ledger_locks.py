"""Deployment locks in the release ledger (see ``ledger.py``), local or team.

One row per environment being deployed, deleted when the deployment ends. On SQLite it is
taken by an ``INSERT … ON CONFLICT DO NOTHING`` (or, over a stale row, an ``UPDATE`` naming
the stale row's token), so of two processes racing for it exactly one wins. The row names
its process (``store.owner``): a lock whose process is gone (``kill -9``, a crash) counts
as free; one held on another host, which cannot be checked, counts as free once it is
older than any deployment can take.

On the team ledger the lock follows the holder's database session instead: a
session-level advisory lock on a key of the environment, held by a connection of the
deployment's own for as long as it deploys. The server lets go of it when that session
ends, so a crashed, killed or vanished desktop frees the environment at once (a vanished
one once the server's TCP keepalive gives up on it: asked for within a minute); the row
only says who holds it. Nothing waits inside a transaction: a caller that finds the lock
taken polls (``engine.release.deploy_lock``).
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from dockyard.core.errors import DockyardError
from dockyard.core.model import utcnow
from dockyard.store.columns import text_to_time, time_to_text
from dockyard.store.database import Database
from dockyard.store.owner import ProcessOwner
from dockyard.store.sql import SqlConnection, SqlRow

# Longer than a deployment may take (its timeout is 10 minutes) with room to spare.
REMOTE_LOCK_LIFETIME = timedelta(minutes=30)

# Team ledger: the environment's advisory lock, and whether any session holds it. A
# single-bigint key shows in pg_locks as its high (classid) and low (objid) halves.
SESSION_LOCK = "SELECT pg_try_advisory_lock(hashtextextended(?, 0))"
SESSION_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended(?, 0))"
# The sessions that hold it (one at most), in pg_locks.
SESSION_HOLDERS = (
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND objsubid = 1 AND database = (SELECT oid FROM pg_database"
    " WHERE datname = current_database())"
    " AND ((classid::bigint << 32) | objid::bigint) = hashtextextended(?, 0)"
)
SESSION_HELD = f"SELECT EXISTS ({SESSION_HOLDERS})"
# Whether this session holds the lock.
SESSION_MINE = (
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND objsubid = 1 AND pid = pg_backend_pid()"
    " AND ((classid::bigint << 32) | objid::bigint) = hashtextextended(?, 0))"
)
# The server notices a desktop that vanished without closing its connection (power, network)
# after about a minute, not the operating system's two hours, and ends its session. The
# session is idle while the deployment runs: a server's idle_session_timeout (PostgreSQL
# 14+, often set on managed servers) must not end it and free the environment mid-way.
SESSION_KEEPALIVE = (
    "SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3;"
    " SELECT set_config('idle_session_timeout', '0', false)"
    " WHERE current_setting('idle_session_timeout', true) IS NOT NULL"
)


def lock_key(repo: str, environment: str) -> str:
    """The team ledger's advisory-lock key of an environment (``SESSION_LOCK`` hashes it)."""
    return f"dockyard.deploy\x1f{repo}\x1f{environment}"


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
    # Team ledger: the connection whose session holds the lock (closed when released).
    session: SqlConnection | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        return lock_key(self.repo, self.environment)

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
        if self._db.dialect == "postgres":
            return self._take_for_session(mine)
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

    def _take_for_session(
        self, mine: DeploymentLock
    ) -> tuple[DeploymentLock | None, DeploymentLock | None]:
        """Team ledger: the advisory lock on a connection of its own, then the row. Both
        happen inside a write transaction, which serialises every taker, so whoever finds
        the advisory lock held also finds the holder's row."""
        session = self._db.open_private("deployment lock")
        try:
            session.execute(SESSION_KEEPALIVE)
            with self._db.transaction() as connection:
                if not session.execute(SESSION_LOCK, (mine.key,)).fetchone()[0]:
                    session.close()
                    return None, _held(connection, mine.repo, mine.environment)
                # A row left by a session that ended (a crash) is simply taken over.
                connection.execute(
                    "INSERT INTO deployment_locks (repo, environment, token, what, taken_by,"
                    " taken, owner_host, owner_pid, owner_started)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (repo, environment) DO UPDATE SET token = excluded.token,"
                    " what = excluded.what, taken_by = excluded.taken_by, taken = excluded.taken,"
                    " owner_host = excluded.owner_host, owner_pid = excluded.owner_pid,"
                    " owner_started = excluded.owner_started",
                    (mine.repo, mine.environment, mine.token, mine.what, mine.taken_by,
                     time_to_text(mine.taken), mine.owner.host, mine.owner.pid,
                     mine.owner.started),
                )  # fmt: skip
        except BaseException:
            session.close()
            raise
        return replace(mine, session=session), None

    def holds_environment(self, lock: DeploymentLock) -> bool:
        """Whether ``lock`` still holds its environment: on the team ledger, whether its
        session lives (the server may have ended it: an admin, a restart, a pooler)."""
        if lock.session is not None:
            try:
                return bool(lock.session.execute(SESSION_MINE, (lock.key,)).fetchone()[0])
            except DockyardError:
                return False  # the session is gone, and the lock with it
        held = _held(self._db.connect(), lock.repo, lock.environment)
        return held is not None and held.token == lock.token

    def unlock_environment(self, lock: DeploymentLock) -> None:
        """Release ``lock``; a lock taken over meanwhile (it was thought stale) stays."""
        try:
            with self._db.transaction() as connection:
                connection.execute(
                    "DELETE FROM deployment_locks WHERE repo = ? AND environment = ? AND token = ?",
                    (lock.repo, lock.environment, lock.token),
                )
                if lock.session is not None:  # let go before the commit: no taker in between
                    with contextlib.suppress(DockyardError):  # its session ended: let go
                        lock.session.execute(SESSION_UNLOCK, (lock.key,))
        finally:
            if lock.session is not None:
                lock.session.close()

    def environment_lock(self, repo: str, environment: str) -> DeploymentLock | None:
        """The lock held on the environment, unless it is stale (on the team ledger: unless
        no session holds it any more)."""
        connection = self._db.connect()
        lock = _held(connection, repo, environment)
        if lock is None:
            return None
        if self._db.dialect == "postgres":
            held = connection.execute(SESSION_HELD, (lock.key,)).fetchone()[0]
            return lock if held else None
        return None if lock.stale(utcnow()) else lock


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
