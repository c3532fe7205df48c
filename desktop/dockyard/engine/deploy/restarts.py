"""Restart loops: a release that passed its health gate and then keeps exiting.

Docker restarts such a container (``unless-stopped``) and Swarm replaces such a task, so
between two crashes it looks like it runs. ``inspect`` reports how often it restarted
and how it last ended, and a recent restart makes it ``restarting``, not healthy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from dockyard.core.model import utcnow
from dockyard.engine.deploy import labels as L
from dockyard.engine.endpoints.daemon_reader import (
    Attrs,
    DaemonReader,
    DaemonRefused,
    DaemonUnanswered,
)

# How a Swarm task ends on its own; "complete" is an exit with code 0, which a service
# must not do either.
FAILED_TASK_STATES = ("failed", "rejected", "complete")

# A restart this recent means it is still looping: Docker waits at most a minute between
# two restarts of a container, Swarm 5 s (its default restart delay) between tasks.
LOOP_WINDOW = timedelta(seconds=60)
RESTARTING = "restarting"


@dataclass(frozen=True)
class Restarts:
    count: int = 0  # restarts since it was deployed (service mode: failed tasks Swarm kept)
    exit_code: int | None = None  # how it ended the last time; None when unknown
    looping: bool = False


NONE = Restarts()


def container_restarts(container: Attrs, reader: DaemonReader) -> Restarts:
    """Docker counts restarts since the container was last started by hand (our deploy)."""
    count = int(container.get("RestartCount") or 0)
    if count == 0:
        return NONE
    state: dict[str, Any] = container.get("State") or {}
    if state.get("Running") and not state.get("Restarting"):
        # Running again: Docker reset ExitCode at the start, the last "die" event keeps it.
        started = L.parse_time(state.get("StartedAt"))
        recent = started is not None and utcnow() - started < LOOP_WINDOW
        return Restarts(count, _last_exit_code(container, reader), recent)
    code = state.get("ExitCode")
    return Restarts(count, None if code is None else int(code), bool(state.get("Restarting")))


def _last_exit_code(container: Attrs, reader: DaemonReader) -> int | None:
    """From the daemon's recent events (it keeps a few hundred); None once they are gone."""
    try:
        now = reader.info().get("SystemTime")  # the daemon's clock: no wait for "until"
        until = L.parse_time(now)
        events = reader.events(
            since=_timestamp(container.get("Created")),
            # The daemon's "now" to the microsecond: a later "until" would hold the answer.
            until=f"{until.timestamp():.6f}" if until else str(int(time.time())),
            filters={"container": container["Id"], "event": "die"},
        )
    except (DaemonRefused, DaemonUnanswered):
        return None
    codes = [e.get("Actor", {}).get("Attributes", {}).get("exitCode") for e in events]
    known = [c for c in codes if c is not None and str(c).lstrip("-").isdigit()]
    return int(known[-1]) if known else None


def _timestamp(text: str | None) -> int | None:
    moment = L.parse_time(text)
    return int(moment.timestamp()) if moment else None


def service_restarts(labels: dict[str, str], tasks: list[dict[str, Any]]) -> Restarts:
    """Tasks of the deployment the service runs that ended on their own and were replaced.

    Swarm keeps a few ended tasks per replica (``TaskHistoryRetentionLimit``, 5 by
    default), so the count is of those it still has.
    """
    mine = labels.get(L.DEPLOYMENT, "")
    ended = [
        t
        for t in tasks
        if t["Status"]["State"] in FAILED_TASK_STATES
        and (t["Spec"]["ContainerSpec"].get("Labels") or {}).get(L.DEPLOYMENT) == mine
    ]
    if not ended:
        return NONE
    latest = max(ended, key=lambda t: str(t["Status"].get("Timestamp", "")))
    code = (latest["Status"].get("ContainerStatus") or {}).get("ExitCode")
    when = L.parse_time(latest["Status"].get("Timestamp"))
    recent = when is not None and utcnow() - when < LOOP_WINDOW
    return Restarts(len(ended), None if code is None else int(code), recent)
