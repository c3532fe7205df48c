"""What a deployment carries and what the daemon reports back.

The configuration snapshot is recorded with every deployment (JSON in the ledger), so a
rollback restores exactly what ran, and two releases can be diffed for an approval card.
Secret values never enter it: only their names and fingerprints.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from dockyard.core.pipeline_file import EnvironmentConfig, HealthcheckConfig
from dockyard.core.releases import DeployTarget, release_label
from dockyard.engine.deploy.stack_diff import service_changes
from dockyard.engine.events import CancelToken
from dockyard.engine.secrets import NOT_SET, is_current_mark


@dataclass(frozen=True)
class ConfigFile:
    source: str  # path in the repository
    sha256: str
    content: str


@dataclass(frozen=True)
class StackFile:
    """mode: stack: the compose file of the commit, and which of its services is the app."""

    source: str  # path in the repository
    sha256: str
    content: str
    service: str
    # Dependent service -> the image its tag pointed to when the release was requested
    # (``name@sha256:…``, see ``pins``); empty in snapshots recorded before pins.
    pins: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConfigSnapshot:
    """Everything attached at deploy time, recorded with each deployment."""

    mode: str
    replicas: int
    grace: float
    env: Mapping[str, str]  # env_file merged with inline `environment` (inline wins)
    env_file: str | None
    configs: Mapping[str, ConfigFile]  # target path in the container -> file
    secrets: Mapping[str, str]  # secret name -> fingerprint of its value ("" = not set)
    ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    healthcheck: HealthcheckConfig | None = None
    command: tuple[str, ...] | None = None  # replaces the image's CMD; None: its own
    stack: StackFile | None = None  # mode: stack only
    # The endpoint it is deployed on (``host:``); None in snapshots recorded before it was.
    host: str | None = None

    @property
    def target(self) -> DeployTarget | None:
        return None if self.host is None else DeployTarget(self.host, self.mode, self.replicas)

    def aimed(self, env: EnvironmentConfig) -> ConfigSnapshot:
        """This recorded snapshot deployed where ``env`` lives now: its host and mode."""
        return replace(self, host=env.host, mode=env.mode)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types, normalised (1 and 1.0 alike), so it round-trips to the same
        fingerprint through the ledger. Keys added later appear only when set, so what
        older versions recorded keeps its fingerprint."""
        health = self.healthcheck
        optional: dict[str, Any] = {}
        if self.command is not None:
            optional["command"] = list(self.command)
        if self.host is not None:
            optional["host"] = self.host
        if self.stack is not None:
            stack = self.stack
            optional["stack"] = {
                "source": stack.source, "sha256": stack.sha256, "content": stack.content,
                "service": stack.service,
            } | ({"pins": dict(sorted(stack.pins.items()))} if stack.pins else {})  # fmt: skip
        return optional | {
            "mode": self.mode,
            "replicas": int(self.replicas),
            "grace": float(self.grace),
            "env": {k: str(v) for k, v in sorted(self.env.items())},
            "env_file": self.env_file,
            "configs": {
                target: {"source": f.source, "sha256": f.sha256, "content": f.content}
                for target, f in sorted(self.configs.items())
            },
            "secrets": dict(sorted(self.secrets.items())),
            "ports": list(self.ports),
            "volumes": list(self.volumes),
            "healthcheck": None
            if health is None
            else {
                "test": list(health.test),
                "interval": float(health.interval),
                "timeout": float(health.timeout),
                "retries": int(health.retries),
                "start_period": float(health.start_period),
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConfigSnapshot:
        health = data.get("healthcheck")
        return cls(
            mode=str(data.get("mode", "container")),
            replicas=int(data.get("replicas", 1)),
            grace=float(data.get("grace", 5.0)),
            env={str(k): str(v) for k, v in (data.get("env") or {}).items()},
            env_file=data.get("env_file"),
            configs={
                str(target): ConfigFile(str(f["source"]), str(f["sha256"]), str(f["content"]))
                for target, f in (data.get("configs") or {}).items()
            },
            secrets={str(k): str(v) for k, v in (data.get("secrets") or {}).items()},
            ports=tuple(str(p) for p in data.get("ports") or ()),
            volumes=tuple(str(v) for v in data.get("volumes") or ()),
            healthcheck=None
            if not health
            else HealthcheckConfig(
                test=tuple(health["test"]),
                interval=float(health.get("interval", 5.0)),
                timeout=float(health.get("timeout", 3.0)),
                retries=int(health.get("retries", 3)),
                start_period=float(health.get("start_period", 0.0)),
            ),
            command=None if data.get("command") is None else tuple(data["command"]),
            stack=_stack_from_json(data.get("stack")),
            host=None if data.get("host") is None else str(data["host"]),
        )

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON: equal snapshots, equal fingerprints."""
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _stack_from_json(data: Mapping[str, Any] | None) -> StackFile | None:
    if not data:
        return None
    pins = {str(k): str(v) for k, v in (data.get("pins") or {}).items()}
    return StackFile(
        str(data["source"]), str(data["sha256"]), str(data["content"]), str(data["service"]), pins
    )


def diff_snapshots(old: ConfigSnapshot | None, new: ConfigSnapshot) -> list[str]:
    """Human lines for what changes: ``+ env LOG_LEVEL=debug``, ``~ secret db changed``."""
    before = old or ConfigSnapshot(
        mode=new.mode, replicas=new.replicas, grace=new.grace, env={}, env_file=None,
        configs={}, secrets={},
    )  # fmt: skip
    lines: list[str] = []
    for key in _union(before.env, new.env):
        lines += _entry_diff("env", key, before.env.get(key), new.env.get(key), show=True)
    for target in _union(before.configs, new.configs):
        old_file, new_file = before.configs.get(target), new.configs.get(target)
        lines += _entry_diff(
            "config",
            target,
            old_file.sha256 if old_file else None,
            new_file.sha256 if new_file else None,
            show=False,
        )
    for name in _union(before.secrets, new.secrets):
        lines += _secret_diff(name, before.secrets.get(name), new.secrets.get(name))
    for label, was, now in (
        # A record made before hosts were recorded says nothing about where it ran.
        ("host", before.host or new.host, new.host or before.host),
        ("mode", before.mode, new.mode),
        ("replicas", before.replicas, new.replicas),
        ("ports", ", ".join(before.ports) or "none", ", ".join(new.ports) or "none"),
        ("volumes", ", ".join(before.volumes) or "none", ", ".join(new.volumes) or "none"),
        ("healthcheck", _health_text(before.healthcheck), _health_text(new.healthcheck)),
        ("grace", f"{before.grace:g}s", f"{new.grace:g}s"),
        ("command", _command_text(before.command), _command_text(new.command)),
    ):
        if was != now:
            lines.append(f"~ {label} {was} -> {now}")
    return lines + _stack_diff(before.stack, new.stack)


def _stack_diff(was: StackFile | None, now: StackFile | None) -> list[str]:
    if was == now:
        return []
    if now is None:
        return [f"- stack {was.source}"] if was else []
    if was is None:
        added = f"+ stack {now.source} (app service {now.service})"
        return [added, *service_changes(None, now.content, now.pins)]
    lines = []
    if (was.source, was.sha256) != (now.source, now.sha256):
        moved = was.source != now.source
        lines.append(
            f"~ stack {was.source} -> {now.source}" if moved else f"~ stack {now.source} changed"
        )
    if was.service != now.service:
        lines.append(f"~ stack app service {was.service} -> {now.service}")
    return lines + service_changes(was.content, now.content, was.pins, now.pins)


def _union(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    return sorted(set(a) | set(b))


def _entry_diff(kind: str, key: str, was: str | None, now: str | None, *, show: bool) -> list[str]:
    if was == now:
        return []
    if was is None:
        return [f"+ {kind} {key}={now}" if show else f"+ {kind} {key}"]
    if now is None:
        return [f"- {kind} {key}"]
    return [f"~ {kind} {key}={was} -> {now}" if show else f"~ {kind} {key} changed"]


def _secret_diff(name: str, was: str | None, now: str | None) -> list[str]:
    if now == NOT_SET:
        return [f"! secret {name}: not set"]
    if was == NOT_SET and now is not None:
        return [f"~ secret {name} set (it was not set)"]
    if was and now and is_current_mark(was) != is_current_mark(now):
        # An unkeyed mark from before v2 against a keyed one: equal values differ too.
        return [f"~ secret {name}: fingerprint format changed (cannot tell whether its value did)"]
    return _entry_diff("secret", name, was, now, show=False)


def _command_text(command: tuple[str, ...] | None) -> str:
    if command is None:
        return "image default"
    return command[2] if command[:2] == ("sh", "-c") and len(command) == 3 else shlex.join(command)


def _health_text(health: HealthcheckConfig | None) -> str:
    if health is None:
        return "image default"
    return " ".join(health.test[1:]) if health.test[0] != "NONE" else "none"


@dataclass(frozen=True)
class DeploymentRequest:
    repo: str
    environment: str
    image: str  # "name@sha256:…", or a local image id when there is no registry
    digest: str
    commit: str
    tag: str | None
    run_id: str | None
    deployment_id: int  # ledger id, goes into the labels
    deployed_by: str
    approved_by: tuple[str, ...]
    rollback: bool
    snapshot: ConfigSnapshot
    # name -> value, from the keyring; never logged or stored
    secret_values: Mapping[str, str] = field(default_factory=dict, repr=False)
    # The release the ledger says runs (its own deployment id and labels): put back as a
    # whole when this one fails (stack mode, container mode's dependents). None: a first
    # release, or one in another mode.
    replaces: DeploymentRequest | None = None

    @property
    def label(self) -> str:
        return release_label(self.tag, self.commit)


@dataclass(frozen=True)
class RunningRelease:
    """What the daemon reports for one environment (from labels and the live spec)."""

    repo: str
    environment: str
    image: str
    digest: str  # of the image that actually runs, even when changed by hand
    deployment_id: int | None
    config_fingerprint: str  # "" when the live configuration differs from what was deployed
    state: str  # "running" | "starting" | "updating" | "failed" | "exited" | …
    healthy: bool | None
    since: datetime | None
    name: str  # container or service name
    # Restarts since it was deployed (service mode: ended tasks Swarm replaced and still
    # lists) and how it ended the last time (None: unknown or never).
    restarts: int = 0
    exit_code: int | None = None
    # With a compose file: the app's dependent services that do not run (stack or project).
    stopped_services: tuple[str, ...] = ()
    # Dependent services whose definition differs from the one deployed, or that are gone.
    edited_services: tuple[str, ...] = ()

    @property
    def restart_loop(self) -> bool:
        """It passed its health gate but keeps exiting (it restarted a moment ago)."""
        return self.state == "restarting"

    def restart_text(self) -> str:
        """``restarted 4 times, last exit code 3``; "" when it never restarted."""
        if not self.restarts:
            return ""
        times = "once" if self.restarts == 1 else f"{self.restarts} times"
        code = "unknown" if self.exit_code is None else str(self.exit_code)
        return f"restarted {times}, last exit code {code}"

    def condition(self) -> str:
        """For people: ``running, healthy`` or ``in a restart loop (restarted 4 times, …)``."""
        restarts = self.restart_text()
        if self.restart_loop:
            return f"in a restart loop ({restarts or 'restarting'})"
        health = {True: "healthy", False: "unhealthy", None: "no health check"}[self.healthy]
        return f"{self.state}, {health}" + (f"; {restarts}" if restarts else "")


LogFn = Callable[[str], None]


class Deployer(Protocol):
    def deploy(self, request: DeploymentRequest, log: LogFn, cancel: CancelToken) -> RunningRelease:
        """Raises PipelineFailed (unhealthy, rolled back), InfrastructureError, UserInputError."""
        ...

    def inspect(self, repo: str, environment: str) -> list[RunningRelease]: ...

    def remove(self, repo: str, environment: str) -> None: ...
