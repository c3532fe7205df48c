"""The append-only, hash-chained audit log.

Each entry's hash covers its own fields and the previous entry's hash, so changing or
removing an entry breaks the chain where it happened. Triggers refuse UPDATE and DELETE;
someone with the file can drop them, which is why ``verify()`` recomputes the chain.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from dockyard.core.model import utcnow
from dockyard.core.redaction import redact_data
from dockyard.store.columns import canonical_json, json_to_dict, text_to_time, time_to_text
from dockyard.store.database import Database
from dockyard.store.sql import SqlConnection, SqlRow

GENESIS_HASH = "0" * 64
log = logging.getLogger("dockyard.audit")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    os_user: str
    host: str
    action: str
    repo: str
    environment: str
    details: dict[str, object]
    prev_hash: str
    hash: str


def entry_hash(
    *,
    seq: int,
    at: str,
    actor: str,
    os_user: str,
    host: str,
    action: str,
    repo: str,
    environment: str,
    details: Mapping[str, object],
    prev_hash: str,
) -> str:
    """sha256 of the canonical JSON of an entry's fields (``at`` as stored text)."""
    fields = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "os_user": os_user,
        "host": host,
        "action": action,
        "repo": repo,
        "environment": environment,
        "details": dict(details),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def team_chain_hash(
    *,
    seq: int,
    at: str,
    actor: str,
    os_user: str,
    host: str,
    action: str,
    repo: str,
    environment: str,
    details: str,
    prev_hash: str,
) -> str:
    """The team chain's entry hash, as ``dockyard.chain_hash`` computes it in the server:
    sha256 over each field as ``<length>:<text>;`` (``details`` as stored text)."""
    fields = (str(seq), at, actor, os_user, host, action, repo, environment, details, prev_hash)
    text = "v2;" + "".join(f"{len(value)}:{value};" for value in fields)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def append(
        self,
        action: str,
        *,
        actor: str,
        repo: str = "",
        environment: str = "",
        details: Mapping[str, object] | None = None,
    ) -> AuditEntry:
        """Add one entry; the OS login and host name are recorded whatever ``actor`` says."""
        # Redacted first: the chain makes an entry unchangeable, so a secret in it would
        # stay forever. Then round-tripped through JSON, so the hash covers what is stored.
        details_json = canonical_json(redact_data(dict(details or {})))
        stored_details = json_to_dict(details_json)
        at = time_to_text(utcnow())
        os_user, host = _os_user(), socket.gethostname()
        if self._db.dialect == "postgres":
            entry = self._append_in_server(action, repo, environment, details_json, os_user, host)
            _log(entry, details_json)
            return entry
        with self._db.transaction() as connection:
            seq, prev_hash = _next_link(connection)
            digest = entry_hash(
                seq=seq,
                at=at,
                actor=actor,
                os_user=os_user,
                host=host,
                action=action,
                repo=repo,
                environment=environment,
                details=stored_details,
                prev_hash=prev_hash,
            )
            connection.execute(
                "INSERT INTO audit (seq, at, actor, os_user, host, action, repo, environment,"
                " details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, at, actor, os_user, host, action, repo, environment, details_json,
                 prev_hash, digest),
            )  # fmt: skip
        entry = AuditEntry(
            seq, text_to_time(at), actor, os_user, host, action, repo, environment,
            stored_details, prev_hash, digest,
        )  # fmt: skip
        _log(entry, details_json)
        return entry

    def _append_in_server(
        self, action: str, repo: str, environment: str, details: str, os_user: str, host: str
    ) -> AuditEntry:
        """The team ledger's server links, hashes and stamps the entry (its actor is the
        logged-in role); see store/team_schema.py."""
        with self._db.transaction() as connection:
            row = connection.execute(
                "SELECT * FROM audit_append(?, ?, ?, ?, ?, ?)",
                (action, repo, environment, details, os_user, host),
            ).fetchone()
        return _from_row(row)

    def entries(
        self,
        *,
        repo: str | None = None,
        action: str | None = None,
        limit: int | None = None,
        before: int | None = None,
    ) -> list[AuditEntry]:
        """Entries in chain order (oldest first); with ``limit``, the newest ``limit`` ones;
        with ``before``, only those older than entry ``before``."""
        where: list[str] = []
        parameters: list[object] = []
        if before is not None:
            where.append("seq < ?")
            parameters.append(before)
        if repo is not None:
            where.append("repo = ?")
            parameters.append(repo)
        if action is not None:
            where.append("action = ?")
            parameters.append(action)
        sql = "SELECT * FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = self._db.connect().execute(sql, parameters).fetchall()
        return [_from_row(row) for row in reversed(rows)]

    def verify(self) -> list[str]:
        """Problems in the chain, one sentence each; ``[]`` when it is intact."""
        problems: list[str] = []
        connection = self._db.connect()
        previous_seq, previous_hash = 0, GENESIS_HASH
        for row in connection.execute("SELECT * FROM audit ORDER BY seq"):
            entry = _from_row(row)
            if entry.seq != previous_seq + 1:
                problems.append(
                    _missing(
                        previous_seq + 1,
                        entry.seq - 1,
                        f"the chain jumps from {previous_seq} to {entry.seq}",
                    )
                )
            elif entry.prev_hash != previous_hash:
                problems.append(
                    f"audit entry {previous_seq} was modified (entry {entry.seq} no longer "
                    "links to it)"
                    if previous_seq
                    else f"audit entry {entry.seq} does not start the chain (it was modified)"
                )
            if self._recomputed(row, entry) != entry.hash:
                problems.append(f"audit entry {entry.seq} was modified")
            previous_seq, previous_hash = entry.seq, entry.hash
        issued = _highest_issued(connection) if self._db.dialect == "sqlite" else 0
        if issued > previous_seq:
            problems.append(_missing(previous_seq + 1, issued, f"the chain ends at {previous_seq}"))
        return problems

    def _recomputed(self, row: SqlRow, entry: AuditEntry) -> str:
        fields = {
            "seq": entry.seq, "at": row["at"], "actor": entry.actor, "os_user": entry.os_user,
            "host": entry.host, "action": entry.action, "repo": entry.repo,
            "environment": entry.environment, "prev_hash": entry.prev_hash,
        }  # fmt: skip
        if self._db.dialect == "postgres":
            return team_chain_hash(details=row["details"], **fields)
        return entry_hash(details=entry.details, **fields)


def _log(entry: AuditEntry, details_json: str) -> None:
    log.info(
        "%s by %s (%s@%s) repo=%s environment=%s %s",
        entry.action, entry.actor, entry.os_user, entry.host, entry.repo or "-",
        entry.environment or "-", details_json,
    )  # fmt: skip


def _next_link(connection: SqlConnection) -> tuple[int, str]:
    """(seq, prev_hash) for the next entry; seq continues from the highest ever issued,
    so entries deleted from the end still leave a visible gap."""
    last = connection.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq = max(_highest_issued(connection), last["seq"] if last else 0) + 1
    return seq, (last["hash"] if last else GENESIS_HASH)


def _highest_issued(connection: SqlConnection) -> int:
    row = connection.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").fetchone()
    return int(row[0]) if row else 0


def _missing(first: int, last: int, how: str) -> str:
    if first == last:
        return f"audit entry {first} is missing ({how})"
    return f"audit entries {first} to {last} are missing ({how})"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (containers without a passwd entry)
        return "unknown"


def _from_row(row: SqlRow) -> AuditEntry:
    return AuditEntry(
        seq=row["seq"],
        at=text_to_time(row["at"]),
        actor=row["actor"],
        os_user=row["os_user"],
        host=row["host"],
        action=row["action"],
        repo=row["repo"],
        environment=row["environment"],
        details=json_to_dict(row["details"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
