"""How a release's process ended, in words: its exit code and the last lines it printed.

Shared by both health gates (a failure sentence) and by ``inspect`` (a restart loop).
The text is redacted where it leaves the engine (errors, the ledger, the log), like
every text Dockyard records.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.models.containers import Container

TAIL_LINES = 20
LINE_LIMIT = 200  # characters kept of one line
OUTPUT_LIMIT = 2000  # characters kept of the joined lines, from the end
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")


def output_lines(raw: bytes | str) -> list[str]:
    """The last non-blank lines of a log, without terminal escapes, each cut to size."""
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    lines = [_CONTROL.sub("", line).strip() for line in text.splitlines()]
    return [line[:LINE_LIMIT] for line in lines if line][-TAIL_LINES:]


def output_phrase(lines: list[str]) -> str:
    """``; its last output: a | b | c`` (the end kept when long), or "" without output."""
    if not lines:
        return "; it printed nothing"
    joined = " | ".join(lines)
    if len(joined) > OUTPUT_LIMIT:
        joined = "…" + joined[-OUTPUT_LIMIT:]
    return f"; its last output: {joined}"


def exit_phrase(code: int | None, *, oom: bool = False) -> str:
    if oom:
        return f"it was killed for running out of memory (exit code {code})"
    if code is None:
        return "it exited (exit code unknown)"
    return f"it exited with code {code}"


def log_output(lines: list[str], log: Callable[[str], None]) -> None:
    """The lines one by one into the deploy log, where they read better than joined."""
    if lines:
        log(f"Its last {len(lines)} line(s) of output:")
        for line in lines:
            log(f"  | {line}")


def container_logs(container: Container) -> list[str]:
    """The last lines a container printed (none when the daemon cannot say)."""
    try:
        raw = container.logs(stdout=True, stderr=True, tail=TAIL_LINES)
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
        return []
    return output_lines(raw)


def task_logs(client: docker.DockerClient, task_id: str) -> list[str]:
    """The last lines of a Swarm task, wherever it ran (asked through the manager).

    docker-py has no call for ``GET /tasks/{id}/logs``; this is its ``service_logs``
    with the task's URL.
    """
    api = client.api
    try:
        response = api._get(
            api._url("/tasks/{0}/logs", task_id),
            params={"stdout": 1, "stderr": 1, "tail": TAIL_LINES, "follow": 0},
            stream=True,
        )
        api._raise_for_status(response)
        raw: bytes = b"".join(api._get_result_tty(True, response, False))
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
        return []  # the reason matters more than its output
    return output_lines(raw)


def last_probe(health: dict[str, Any]) -> str:
    """``exit code 1, wget: can't connect`` of the last health probe."""
    probes = health.get("Log") or []
    if not probes:
        return "no output"
    last = probes[-1]
    output = " ".join(str(last.get("Output") or "").split())[:LINE_LIMIT]
    return f"exit code {last.get('ExitCode')}" + (f", {output}" if output else "")
