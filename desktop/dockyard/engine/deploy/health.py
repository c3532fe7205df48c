"""The health gate of container mode: healthy, or running for the grace period."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from docker.models.containers import Container

from dockyard.engine.deploy.dockerops import docker_errors
from dockyard.engine.deploy.exits import (
    container_logs,
    exit_phrase,
    last_probe,
    log_output,
    output_phrase,
)
from dockyard.engine.events import CancelToken, wait_or_cancel

POLL = 0.5
# Docker's own defaults when the image's HEALTHCHECK leaves a value out.
DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3


class Unhealthy(Exception):
    """The new container failed its health gate; the message says why."""


def wait_until_healthy(
    container: Container, *, grace: float, cancel: CancelToken, log: Callable[[str], None]
) -> None:
    """Return when the container is healthy; raise Unhealthy with the reason otherwise.

    With a health check (the image's HEALTHCHECK or the environment's override) Docker's
    verdict counts; without one the container must keep running for ``grace`` seconds.
    """
    with docker_errors("inspect the new container"):
        container.reload()
    checked = "Health" in container.attrs["State"]
    if checked:
        deadline = time.monotonic() + _health_budget(container.attrs["Config"].get("Healthcheck"))
        log("Waiting for the health check to pass")
    else:
        deadline = time.monotonic() + grace
        log(f"The image has no health check: it must keep running for {grace:g}s")
    while True:
        with docker_errors("inspect the new container"):
            container.reload()
        state: dict[str, Any] = container.attrs["State"]
        exited = state.get("Status") in ("exited", "dead") or state.get("Restarting")
        if exited or int(container.attrs.get("RestartCount") or 0) > 0:
            raise Unhealthy(_exit_reason(container, state, log))
        health = state.get("Health") or {}
        if health.get("Status") == "healthy":
            log(f"{container.name} is healthy")
            return
        if health.get("Status") == "unhealthy":
            raise Unhealthy(f"its health check failed: {last_probe(health)}")
        if time.monotonic() >= deadline:
            if not checked:
                log(f"{container.name} kept running for {grace:g}s")
                return
            raise Unhealthy("its health check did not pass in time")
        wait_or_cancel(cancel, min(POLL, max(0.05, deadline - time.monotonic())))


def _health_budget(config: dict[str, Any] | None) -> float:
    config = config or {}
    interval = (config.get("Interval") or 0) / 1e9 or DEFAULT_INTERVAL
    timeout = (config.get("Timeout") or 0) / 1e9 or DEFAULT_TIMEOUT
    retries = config.get("Retries") or DEFAULT_RETRIES
    start = (config.get("StartPeriod") or 0) / 1e9
    return start + (interval + timeout) * (retries + 1) + 10


def _exit_reason(container: Container, state: dict[str, Any], log: Callable[[str], None]) -> str:
    """``it exited with code 3; its last output: …`` (the lines go to the log as well)."""
    code = state.get("ExitCode")
    how = exit_phrase(None if code is None else int(code), oom=bool(state.get("OOMKilled")))
    if state.get("Error"):
        how += f" ({state['Error']})"
    lines = container_logs(container)
    log_output(lines, log)
    return how + output_phrase(lines)
