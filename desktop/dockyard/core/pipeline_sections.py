"""The sections of dockyard.yml (image, build, test, trigger, environments), one parser each.

Split from ``pipeline_file`` (the dataclasses) and ``pipeline_load`` (reading the file) to keep
both short; every rule of the format documented in docs/pipeline-file.md lives here.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Callable

from dockyard.core.pipeline_fields import FieldReader, Located
from dockyard.core.pipeline_file import (
    BUILD_ARG_VARIABLES,
    DEFAULT_TEST_FILES,
    DEFAULT_TEST_SERVICE,
    DEPLOY_MODES,
    SWARM_MODES,
    ApprovalConfig,
    BuildConfig,
    EnvironmentConfig,
    FrozenMap,
    HealthcheckConfig,
    TestConfig,
    TriggerConfig,
)
from dockyard.core.pipeline_order import promotion_order

TOP_KEYS = ("image", "build", "test", "trigger", "environments")
BUILD_KEYS = ("context", "dockerfile", "args", "target", "host", "network", "timeout", "secrets")
TEST_KEYS = ("compose", "service", "command", "timeout")
TRIGGER_KEYS = ("branches", "tags", "interval")
ENVIRONMENT_KEYS = (
    *("host", "mode", "auto", "after", "approval", "env_file", "environment", "secrets"),
    *("configs", "volumes", "ports", "healthcheck", "grace", "replicas", "command"),
    *("compose", "service"),
)
APPROVAL_KEYS = ("required", "self_approval", "timeout")
HEALTHCHECK_KEYS = ("test", "interval", "timeout", "retries", "start_period")

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
_REPOSITORY = re.compile(rf"(?:{_DOMAIN}(?::\d+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_ENVIRONMENT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_SECRET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")
_PORT = r"[0-9]{1,5}"
_PORT_SPEC = re.compile(
    rf"(?:(?:(?P<ip>\d{{1,3}}(?:\.\d{{1,3}}){{3}}):)?(?P<published>{_PORT}):)?"
    rf"(?P<target>{_PORT})(?:/(?:tcp|udp))?"
)
_NETWORK = "a network for RUN steps: host, none or a network's name"
_HEALTHCHECK_FORMS = ("CMD", "CMD-SHELL", "NONE")


def image(reader: FieldReader, at: Located) -> str:
    name = reader.string(at, "a repository name like registry:5000/team/app")
    if "@" in name:
        raise reader.error(
            at,
            f"expected a repository name without a digest, got {name!r}; "
            "Dockyard pins digests itself",
        )
    if ":" in name.rsplit("/", 1)[-1]:
        raise reader.error(
            at,
            f"expected a repository name without a tag, got {name!r}; "
            "Dockyard tags each image itself",
        )
    if not _REPOSITORY.fullmatch(name):
        raise reader.expected(at, "a repository name like registry:5000/team/app (lowercase)")
    return name


def build(reader: FieldReader, at: Located | None) -> BuildConfig:
    entries = reader.mapping(at, BUILD_KEYS) if at else {}
    defaults = BuildConfig()
    return BuildConfig(
        context=reader.optional(entries, "context", lambda a: repo_path(reader, a))
        or defaults.context,
        dockerfile=reader.optional(entries, "dockerfile", lambda a: repo_path(reader, a))
        or defaults.dockerfile,
        args=_build_args(reader, entries["args"]) if "args" in entries else defaults.args,
        target=reader.optional(entries, "target", reader.string),
        host=reader.optional(entries, "host", reader.string) or defaults.host,
        network=reader.optional(
            entries, "network", lambda a: reader.string(a, "a network: host, none or a name")
        ),
        timeout=reader.optional(entries, "timeout", lambda a: reader.duration(a, positive=True))
        or defaults.timeout,
        secrets=_names(reader, _entry(entries, "secrets"), _SECRET_NAME, "a secret name"),
    )


def _build_args(reader: FieldReader, at: Located) -> FrozenMap:
    args = {}
    for name, value in reader.mapping(at).items():
        text = reader.scalar_text(value)
        for variable in _REFERENCE.findall(text):
            if variable not in BUILD_ARG_VARIABLES:
                close = difflib.get_close_matches(variable, BUILD_ARG_VARIABLES, n=1)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else ("known: " + ", ".join(BUILD_ARG_VARIABLES))
                )
                raise reader.error(value, f"unknown variable ${{{variable}}}; {hint}")
        args[name] = text
    return FrozenMap(args)


def test(
    reader: FieldReader, at: Located | None, exists: Callable[[str], bool]
) -> TestConfig | None:
    if at is not None and at.value is False:
        return None
    if at is None or at.value is None or at.value is True:
        return _default_test(exists)
    entries = reader.mapping(at, TEST_KEYS)
    timeout = reader.optional(entries, "timeout", lambda a: reader.duration(a, positive=True))
    timeout = 600.0 if timeout is None else timeout
    if "compose" in entries and "command" in entries:
        raise reader.error(entries["command"], "give either compose or command, not both")
    if "command" in entries:
        if "service" in entries:
            raise reader.error(
                entries["service"],
                "service applies only with compose; remove it or use compose instead of command",
            )
        return TestConfig(
            compose=None, command=_command(reader, entries["command"]), timeout=timeout
        )
    service = reader.optional(entries, "service", reader.string) or DEFAULT_TEST_SERVICE
    if not _SERVICE_NAME.fullmatch(service):
        raise reader.expected(entries["service"], "a compose service name")
    compose = (
        repo_path(reader, entries["compose"])
        if "compose" in entries
        else _default_test_file(exists)
    )
    if compose is None:
        raise reader.error(
            at,
            f"name a compose file (compose:) or a command (command:); "
            f"neither {' nor '.join(DEFAULT_TEST_FILES)} is in the repository",
        )
    return TestConfig(compose=compose, service=service, timeout=timeout)


def _default_test(exists: Callable[[str], bool]) -> TestConfig | None:
    compose = _default_test_file(exists)
    return None if compose is None else TestConfig(compose=compose)


def _default_test_file(exists: Callable[[str], bool]) -> str | None:
    return next((path for path in DEFAULT_TEST_FILES if exists(path)), None)


_COMMAND = "a command as a string or a non-empty list of strings"


def _command(reader: FieldReader, at: Located) -> tuple[str, ...]:
    """A string runs through ``sh -c``; a list runs as given (numbers as text: [sleep, 30])."""
    if isinstance(at.value, str):
        return ("sh", "-c", reader.string(at, _COMMAND))
    if not isinstance(at.value, list) or not at.value:
        raise reader.expected(at, _COMMAND)
    return reader.strings(at, reader.scalar_text)


def trigger(reader: FieldReader, at: Located | None) -> TriggerConfig:
    entries = reader.mapping(at, TRIGGER_KEYS) if at else {}
    branches: tuple[str, ...] = ()
    if "branches" in entries:
        at_branches = entries["branches"]
        branches = (
            (reader.string(at_branches),)
            if isinstance(at_branches.value, str)
            else reader.strings(at_branches)
        )
    tags = _tags(reader, entries["tags"]) if "tags" in entries else None
    interval = reader.optional(entries, "interval", lambda a: reader.duration(a, positive=True))
    return TriggerConfig(
        branches=branches, tags=tags, interval=60.0 if interval is None else interval
    )


def _tags(reader: FieldReader, at: Located) -> str | None:
    if at.value is True:
        return "*"
    if at.value is False or at.value is None:
        return None
    return reader.string(at, "a tag pattern like v* (or true for every tag)")


def environments(reader: FieldReader, at: Located | None) -> tuple[EnvironmentConfig, ...]:
    located = {}
    for name, entry in (reader.mapping(at) if at else {}).items():
        if not _ENVIRONMENT_NAME.fullmatch(name):
            raise reader.error(
                entry,
                "expected an environment name of lowercase letters, "
                "digits, '-' and '_', starting with a letter or digit",
            )
        located[name] = (_environment(reader, name, entry), entry)
    return promotion_order(reader, located)


# Docker copies files into a container only beneath its tmpfs mounts, never into them
# (docs/deployment.md), so container mode could only keep secrets on the host's disk.
CONTAINER_SECRETS = (
    "secrets need mode: service (container mode could only keep them as files on the "
    "Docker host's disk); set mode: service, where Swarm keeps them encrypted and in "
    "memory, or remove secrets"
)


def container_secrets_refused(environment: str) -> str:
    return f"Environment {environment!r} has secrets in container mode: {CONTAINER_SECRETS}."


def _environment(reader: FieldReader, name: str, at: Located) -> EnvironmentConfig:
    entries = reader.mapping(at, ENVIRONMENT_KEYS)
    defaults = EnvironmentConfig(name=name)
    mode = reader.optional(entries, "mode", reader.string) or defaults.mode
    if mode not in DEPLOY_MODES:
        raise reader.expected(
            entries["mode"], ", ".join(DEPLOY_MODES[:-1]) + " or " + DEPLOY_MODES[-1]
        )
    auto = bool(reader.optional(entries, "auto", reader.boolean))
    replicas = reader.optional(entries, "replicas", lambda a: reader.integer(a, 1)) or 1
    if replicas > 1 and mode not in SWARM_MODES:
        raise reader.error(
            entries["replicas"], "more than one replica needs mode: service or stack"
        )
    secrets = _names(reader, _entry(entries, "secrets"), _SECRET_NAME, "a secret name")
    if secrets and mode not in SWARM_MODES:
        raise reader.error(entries["secrets"], CONTAINER_SECRETS)
    grace = reader.optional(entries, "grace", reader.duration)
    compose, service = _stack(reader, at, entries, mode)
    return EnvironmentConfig(
        name=name,
        host=reader.optional(entries, "host", reader.string) or defaults.host,
        mode=mode,
        auto=auto,
        after=reader.optional(entries, "after", reader.string),
        approval=_approval(reader, entries, auto),
        env_file=reader.optional(entries, "env_file", lambda a: repo_path(reader, a)),
        environment=_variables(reader, _entry(entries, "environment")),
        secrets=secrets,
        configs=_configs(reader, _entry(entries, "configs")),
        volumes=reader.strings(_entry(entries, "volumes"), lambda a: _volume(reader, a)),
        ports=tuple(
            _port(reader, item, mode) for item in reader.sequence(_entry(entries, "ports"))
        ),
        healthcheck=reader.optional(entries, "healthcheck", lambda a: _healthcheck(reader, a)),
        grace=defaults.grace if grace is None else grace,
        replicas=replicas,
        command=reader.optional(entries, "command", lambda a: _command(reader, a)),
        compose=compose,
        service=service,
    )


def _stack(
    reader: FieldReader, at: Located, entries: dict[str, Located], mode: str
) -> tuple[str | None, str | None]:
    """``compose`` (and its app ``service``): mode: stack needs them, container mode may
    have them (the dependent services), service mode runs one service."""
    compose = reader.optional(entries, "compose", lambda a: repo_path(reader, a))
    service = reader.optional(entries, "service", reader.string)
    if mode == "stack" and compose is None:
        raise reader.error(
            entries.get("mode", at),
            "mode: stack needs compose: the compose file to deploy, like compose.deploy.yml",
        )
    if compose is not None and mode == "service":
        raise reader.error(
            entries["compose"],
            "mode: service runs one Swarm service; deploy a compose file with mode: stack "
            "(or mode: container)",
        )
    if service is not None and compose is None:
        raise reader.error(entries["service"], "service names the app service of compose; add it")
    if service is not None and not _SERVICE_NAME.fullmatch(service):
        raise reader.expected(entries["service"], "a compose service name")
    return compose, service


def _approval(
    reader: FieldReader, entries: dict[str, Located], auto: bool
) -> ApprovalConfig | None:
    at = entries.get("approval")
    if at is None or at.value is None:
        # Without auto: true an environment waits for a person: that is an approval.
        return None if auto else ApprovalConfig()
    if auto and at.value is not False:
        raise reader.error(at, "auto: true deploys without approval; remove approval or auto")
    if at.value is False:
        if not auto:
            raise reader.error(
                at,
                "an environment deploys either automatically (auto: true) "
                "or after an approval; set auto: true or remove approval: false",
            )
        return None
    if at.value is True:
        return ApprovalConfig()
    fields = reader.mapping(at, APPROVAL_KEYS)
    return ApprovalConfig(
        required=reader.optional(fields, "required", lambda a: reader.integer(a, 1)) or 1,
        self_approval=bool(reader.optional(fields, "self_approval", reader.boolean)),
        timeout=reader.optional(fields, "timeout", lambda a: reader.duration(a, positive=True)),
    )


def _healthcheck(reader: FieldReader, at: Located) -> HealthcheckConfig:
    entries = reader.mapping(at, HEALTHCHECK_KEYS)
    if "test" not in entries:
        raise reader.error(at, "a healthcheck needs test: the command that checks health")
    check = entries["test"]
    if isinstance(check.value, str):
        command: tuple[str, ...] = ("CMD-SHELL", reader.string(check, "a command"))
    else:
        command = reader.strings(check)
        if not command:
            raise reader.expected(check, "a command as a string or a non-empty list of strings")
        if command[0] not in _HEALTHCHECK_FORMS:
            command = ("CMD", *command)
    defaults = HealthcheckConfig(test=command)

    def duration(key: str, default: float, positive: bool) -> float:
        value = reader.optional(entries, key, lambda a: reader.duration(a, positive=positive))
        return default if value is None else value

    retries = reader.optional(entries, "retries", lambda a: reader.integer(a, 1))
    return HealthcheckConfig(
        test=command,
        interval=duration("interval", defaults.interval, True),
        timeout=duration("timeout", defaults.timeout, True),
        retries=defaults.retries if retries is None else retries,
        start_period=duration("start_period", defaults.start_period, False),
    )


def _variables(reader: FieldReader, at: Located) -> FrozenMap:
    variables = {}
    for name, value in reader.mapping(at).items():
        if not _VARIABLE_NAME.fullmatch(name):
            raise reader.error(value, "expected a variable name of letters, digits and '_'")
        variables[name] = reader.scalar_text(value)
    return FrozenMap(variables)


def _names(
    reader: FieldReader, at: Located, pattern: re.Pattern[str], what: str
) -> tuple[str, ...]:
    def name(item: Located) -> str:
        text = reader.string(item, what)
        if not pattern.fullmatch(text):
            raise reader.expected(item, f"{what} of letters, digits, '.', '-' and '_'")
        return text

    return reader.strings(at, name)


def _configs(reader: FieldReader, at: Located) -> FrozenMap:
    configs = {}
    for target, source in reader.mapping(at).items():
        if not target.startswith("/"):
            raise reader.error(
                source,
                "expected an absolute path in the container as the key, "
                f"like /etc/app/app.cfg, got {target!r}",
            )
        configs[target] = repo_path(reader, source)
    return FrozenMap(configs)


def _volume(reader: FieldReader, at: Located) -> str:
    text = reader.string(at, "a volume like data:/var/lib/app or ./static:/srv:ro")
    parts = text.split(":")
    target = parts[0] if len(parts) == 1 else parts[1]
    if (
        len(parts) > 3
        or not target.startswith("/")
        or (len(parts) == 3 and parts[2] not in ("ro", "rw"))
    ):
        raise reader.expected(at, "a volume like data:/var/lib/app or ./static:/srv:ro")
    return text


def _port(reader: FieldReader, at: Located, mode: str) -> str:
    text = (
        str(at.value)
        if isinstance(at.value, int) and not isinstance(at.value, bool)
        else (reader.string(at, "a port like 8080:80"))
    )
    match = _PORT_SPEC.fullmatch(text)
    numbers = [match.group(g) for g in ("published", "target") if match and match.group(g)]
    if not match or any(not 1 <= int(n) <= 65535 for n in numbers):
        raise reader.expected(at, "a port like 8080:80, 80 or 127.0.0.1:8080:80/tcp")
    if match.group("ip") and mode in SWARM_MODES:
        raise reader.error(
            at,
            "a Swarm service publishes on every address; remove the address or use mode: container",
        )
    return text


def _entry(entries: dict[str, Located], key: str) -> Located:
    """The entry, or an empty one, which the readers take as an empty list or mapping."""
    return entries.get(key) or Located(None, key, None)


def repo_path(reader: FieldReader, at: Located) -> str:
    """A relative path that stays inside the repository (the build context is the commit)."""
    text = reader.string(at, "a path in the repository")
    normal = posixpath.normpath(text.replace("\\", "/"))
    if normal.startswith("/") or normal == ".." or normal.startswith("../"):
        raise reader.expected(at, "a relative path inside the repository")
    return text
