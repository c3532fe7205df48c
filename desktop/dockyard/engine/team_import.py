"""``dockyard team import``: the local history copied into the team ledger, once.

Runs (with their stages and logs), images, deployments, approval requests and approvals,
pins and repositories keep their original names and times: they go in through the team
schema's ``import_rows`` inside the transaction a team admin's ``begin_import``
registered (store/team_schema.py, v4), and every such row is listed in
``dockyard.imported``. Audit entries are not copied as they were: the server appends each
again to the one chain, as the admin who imported it, with ``"imported": true`` and the
original actor, time and sequence number in its details; a last entry records the import.

Repositories are keyed by their ``origin`` URL, as in team mode; one without an origin
keeps its local path (it stays one machine's). Ids the team ledger already uses are moved
past its highest. The local ledger is only read: nothing is deleted.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from dockyard.core.errors import InfrastructureError, UserInputError
from dockyard.core.redaction import redact_data
from dockyard.engine.ledger_source import shared_location
from dockyard.engine.team import open_connection, require_server
from dockyard.store.columns import canonical_json, json_to_dict
from dockyard.store.database import open_database
from dockyard.store.logs import stage_log_path
from dockyard.store.shared_logs import COMPRESSION_LEVEL
from dockyard.store.team import check_schema, refused

# In the order their references need.
TABLES = ("repositories", "runs", "stages", "stage_logs", "images", "deployments",
          "approval_requests", "approvals", "pins")  # fmt: skip
NUMBERED = ("images", "deployments", "approval_requests")  # ids moved past the team's
REPO_TABLES = ("runs", "images", "deployments", "approval_requests", "pins")


@dataclass
class ImportReport:
    counts: dict[str, int] = field(default_factory=dict)
    audit_entries: int = 0
    kept_local: list[str] = field(default_factory=list)  # repositories without an origin

    def lines(self) -> list[str]:
        copied = ", ".join(f"{n} {t.replace('_', ' ')}" for t, n in self.counts.items() if n)
        lines = [f"Imported into the team ledger: {copied or 'nothing'}; "
                 f"{self.audit_entries} audit entries appended as imported."]  # fmt: skip
        lines += [
            f"{location} has no origin: imported under its local path (only this machine "
            "knows it)." for location in self.kept_local
        ]  # fmt: skip
        return lines


def import_history(home: Path) -> ImportReport:
    """Copy ``home``'s local ledger into the team ledger it is connected to."""
    server = require_server(home)
    local = open_database(home)
    try:
        history = {table: _rows(local, table) for table in TABLES if table != "stage_logs"}
        audit = _rows(local, "audit", order="seq")
    finally:
        local.close()
    report = ImportReport()
    keys = _repository_keys(history, report)
    history["stage_logs"] = _stage_logs(home, history["stages"])
    with open_connection(server) as connection:
        check_schema(connection)
        try:
            with connection.transaction():
                connection.execute(
                    "SELECT dockyard.begin_import(%s)", (f"{socket.gethostname()}:{home}",)
                )
                _move_ids(connection, history)
                _rekey(history, keys)
                _skip_known_repositories(connection, history)
                for table in TABLES:
                    report.counts[table] = _send(connection, table, history[table])
                report.audit_entries = _append_audit(connection, audit, keys, report.counts)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise refused(exc) from exc
        except psycopg.errors.UniqueViolation as exc:
            raise UserInputError(
                f"The team ledger already holds part of this history ({exc.diag.message_detail}"
                "); nothing was imported."
            ) from exc
        except psycopg.OperationalError as exc:
            raise InfrastructureError(
                f"The team server went away during the import ({exc}); nothing was imported, "
                "try again when it is reachable."
            ) from exc
    return report


def _rows(db: Any, table: str, order: str = "") -> list[dict[str, Any]]:
    sql = f"SELECT * FROM {table}" + (f" ORDER BY {order}" if order else "")
    return [dict(row) for row in db.connect().execute(sql)]  # sqlite3.Row has keys()


def _repository_keys(
    history: dict[str, list[dict[str, Any]]], report: ImportReport
) -> dict[str, str]:
    """Each local repository location → its key in the team ledger (the origin URL)."""
    locations = {row["location"] for row in history["repositories"]}
    for table in REPO_TABLES:
        locations |= {row["repo"] for row in history[table]}
    keys = {}
    for location in sorted(locations):
        try:
            keys[location] = shared_location(location)
        except (UserInputError, InfrastructureError):
            keys[location] = location
            report.kept_local.append(location)
    return keys


def _stage_logs(home: Path, stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import zlib

    logs = []
    for stage in stages:
        path = stage_log_path(home, stage["run_id"], stage["name"])
        if path.is_file():
            data = path.read_bytes()
            logs.append({
                "run_id": stage["run_id"], "stage": stage["name"],
                "compressed": "\\x" + zlib.compress(data, COMPRESSION_LEVEL).hex(),
                "lines": data.count(b"\n"),
            })  # fmt: skip
    return logs


def _move_ids(connection: psycopg.Connection, history: dict[str, list[dict[str, Any]]]) -> None:
    """Numbered rows get ids past the team ledger's highest; references follow."""
    for table in NUMBERED:
        row = connection.execute(f"SELECT coalesce(max(id), 0) FROM dockyard.{table}").fetchone()
        offset = int(row[0]) if row else 0
        if not offset:
            continue
        for item in history[table]:
            item["id"] += offset
        if table == "deployments":
            for item in history[table]:
                if item.get("rolled_back_from") is not None:
                    item["rolled_back_from"] += offset
        if table == "approval_requests":
            for item in history["approvals"]:
                item["request_id"] += offset


def _rekey(history: dict[str, list[dict[str, Any]]], keys: dict[str, str]) -> None:
    for row in history["repositories"]:
        row["location"] = keys.get(row["location"], row["location"])
    for table in REPO_TABLES:
        for row in history[table]:
            row["repo"] = keys.get(row["repo"], row["repo"])


def _skip_known_repositories(
    connection: psycopg.Connection, history: dict[str, list[dict[str, Any]]]
) -> None:
    """A repository the team already lists stays as it is; a name taken by another one
    gets "-imported"."""
    known = connection.execute("SELECT location, name FROM dockyard.repositories").fetchall()
    locations, names = {r[0] for r in known}, {r[1] for r in known}
    kept = []
    row = connection.execute("SELECT coalesce(max(id), 0) FROM dockyard.repositories").fetchone()
    next_id = (int(row[0]) if row else 0) + 1
    for item in history["repositories"]:
        if item["location"] in locations:
            continue
        if item["name"] in names:
            item["name"] += "-imported"
        item["id"] = next_id
        next_id += 1
        locations.add(item["location"])
        kept.append(item)
    history["repositories"] = kept


def _row_key(table: str, row: dict[str, Any]) -> str:
    if table in ("stages",):
        return f"{row['run_id']}/{row['name']}"
    if table == "stage_logs":
        return f"{row['run_id']}/{row['stage']}"
    if table == "approvals":
        return f"{row['request_id']}/{row['approver']}"
    if table == "pins":
        return f"{row['repo']} {row['environment']}"
    return str(row["id"])


def _send(connection: psycopg.Connection, table: str, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    found = connection.execute(
        "SELECT dockyard.import_rows(%s, %s, %s)",
        (table, json.dumps(rows), [_row_key(table, row) for row in rows]),
    ).fetchone()
    return int(found[0]) if found else 0


def _append_audit(
    connection: psycopg.Connection,
    entries: list[dict[str, Any]],
    keys: dict[str, str],
    counts: dict[str, int],
) -> int:
    """Each local entry appended again by the server, marked imported with its original
    actor, time and place in the local chain; then one entry for the import itself."""
    for entry in entries:
        details = {
            **json_to_dict(entry["details"]),
            "imported": True,
            "original_actor": entry["actor"],
            "original_at": entry["at"],
            "original_seq": entry["seq"],
        }
        connection.execute(
            "SELECT dockyard.audit_append(%s, %s, %s, %s, %s, %s)",
            (entry["action"], keys.get(entry["repo"], entry["repo"]), entry["environment"],
             canonical_json(redact_data(details)), entry["os_user"], entry["host"]),
        )  # fmt: skip
    summary = {"imported_rows": counts, "imported_audit_entries": len(entries)}
    connection.execute(
        "SELECT dockyard.audit_append('team-import', '', '', %s, %s, %s)",
        (canonical_json(summary), _os_user(), socket.gethostname()),
    )
    return len(entries)


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
