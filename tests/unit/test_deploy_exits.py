"""How a release's process ended, in words: the last lines it printed, and restart loops
read from Swarm's task list (pure logic over what the daemon returns)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dockyard.core.model import utcnow
from dockyard.engine.deploy.exits import output_lines, output_phrase
from dockyard.engine.deploy.restarts import service_restarts


def test_the_last_20_lines_without_terminal_escapes_and_each_cut_to_size() -> None:
    raw = "".join(f"\x1b[31mline {n}\x1b[0m\r\n\n" for n in range(1, 31)) + "x" * 500 + "\n"
    lines = output_lines(raw.encode())
    assert lines[0] == "line 12" and lines[-2] == "line 30" and len(lines) == 20
    assert lines[-1] == "x" * 200
    assert output_phrase(["a", "b"]) == "; its last output: a | b"
    assert output_phrase([]) == "; it printed nothing"
    assert output_phrase(["y" * 200] * 20).startswith("; its last output: …y")
    assert len(output_phrase(["y" * 200] * 20)) < 2100


def task(deployment: str, state: str, seconds_ago: float, code: int | None = 4) -> dict[str, Any]:
    when = (utcnow() - timedelta(seconds=seconds_ago)).isoformat().replace("+00:00", "Z")
    status: dict[str, Any] = {"State": state, "Timestamp": when}
    if code is not None:
        status["ContainerStatus"] = {"ExitCode": code}
    labels = {"dockyard.deployment": deployment}
    return {"Status": status, "Spec": {"ContainerSpec": {"Labels": labels}}}


def test_ended_tasks_of_the_running_deployment_count_and_a_recent_one_is_a_loop() -> None:
    labels = {"dockyard.deployment": "7"}
    tasks = [
        task("7", "running", 1, None),
        task("7", "failed", 3, 4),
        task("7", "complete", 30, 0),
        task("6", "failed", 2, 9),  # the previous release's: not this one's restarts
        task("6", "shutdown", 40, 0),  # replaced by the deployment: not a restart
    ]
    loop = service_restarts(labels, tasks)
    assert (loop.count, loop.exit_code, loop.looping) == (2, 4, True)
    calm = service_restarts(labels, [task("7", "running", 1, None), task("7", "failed", 600)])
    assert (calm.count, calm.exit_code, calm.looping) == (1, 4, False)
    assert not service_restarts(labels, [task("7", "running", 1, None)]).count
