"""Which process works on a run or a deployment, and whether it is still alive.

Recovery (architecture.md, principle 8) must only settle rows whose process is gone: a running
``dockyard run`` or the window may share the database. A process is named by its host,
its pid and a start marker (the boot id and the pid's start time from ``/proc``), so a
pid reused after a crash or a reboot is not mistaken for the original process. Without
``/proc`` (not Linux) the marker is a random token and only the pid is checked.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dockyard.store.sql import Database, SqlConnection, SqlRow

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
ZOMBIE = "zombie"


@dataclass(frozen=True)
class ProcessOwner:
    host: str
    pid: int
    started: str  # "<boot id>:<start time in clock ticks>", or "token:<random>"

    @classmethod
    def current(cls) -> ProcessOwner:
        return _current(os.getpid())

    @property
    def known(self) -> bool:
        """False for rows written before owners were recorded (schema 1)."""
        return bool(self.host) and self.pid > 0

    @property
    def local(self) -> bool:
        return self.host == socket.gethostname()

    def alive(self) -> bool | None:
        """True/False on this host; None when it runs on another host (cannot be checked)."""
        if not self.known:
            return False
        if not self.local:
            return None
        if self == ProcessOwner.current():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # exists, owned by another user
        marker = start_marker(self.pid)
        if marker == ZOMBIE:
            return False  # it has ended; its parent just did not reap it yet
        if marker is None or self.started.startswith("token:"):
            return True  # no /proc to compare with: the pid exists, assume it is ours
        return marker == self.started

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}"


def owner_of(row: SqlRow) -> ProcessOwner:
    """The owner a row records (``owner_host``, ``owner_pid``, ``owner_started``)."""
    return ProcessOwner(row["owner_host"], int(row["owner_pid"]), row["owner_started"])


def settle_orphans(
    db: Database,
    in_flight: Callable[[SqlConnection], list[SqlRow]],
    settle: Callable[[SqlConnection, SqlRow], None],
) -> list[SqlRow]:
    """The rows in flight (as ``in_flight`` reads them), each whose process is gone
    ``settle``d under the write lock, read again there (another start may have settled
    them meanwhile). Every start, `dockyard status` too, comes here: the write lock only
    when there is something to settle."""
    rows = in_flight(db.connect())
    if any(owner_of(row).alive() is False for row in rows):
        with db.transaction() as connection:
            rows = in_flight(connection)
            for row in rows:
                if owner_of(row).alive() is False:
                    settle(connection, row)
    return rows


@lru_cache(maxsize=4)
def _current(pid: int) -> ProcessOwner:
    marker = start_marker(pid)
    if marker is None or marker == ZOMBIE:
        marker = f"token:{secrets.token_hex(8)}"
    return ProcessOwner(socket.gethostname(), pid, marker)


def start_marker(pid: int) -> str | None:
    """Boot id and start time of ``pid``; ``ZOMBIE`` for a zombie; None without /proc."""
    try:
        boot = BOOT_ID.read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 20:
        return None
    if fields[0] in ("Z", "X"):
        return ZOMBIE
    return f"{boot}:{fields[19]}"
