"""dockyard.yml: the pipeline as code, as frozen dataclasses.

``pipeline_load.load_pipeline`` reads a file into them (pure: the caller passes the file's
text, or None when the commit has none, and a way to ask whether a path exists in that
commit). A bad file raises one PipelineFileError naming file, line and key, before any
stage runs; the format is documented in docs/pipeline-file.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from dockyard.core.errors import UserInputError
from dockyard.core.pipeline_fields import (
    PipelineFileError,
)

__all__ = [
    "BUILD_ARG_VARIABLES",
    "BUILD_SECRETS_SCOPE",
    "DEFAULT_TEST_FILES",
    "DEFAULT_TEST_SERVICE",
    "ApprovalConfig",
    "BuildConfig",
    "EnvironmentConfig",
    "FrozenMap",
    "HealthcheckConfig",
    "PipelineConfig",
    "PipelineFileError",
    "TestConfig",
    "TriggerConfig",
    "expand_build_args",
]

DEFAULT_TEST_FILES = ("compose.test.yml", "docker-compose.test.yml")
DEFAULT_TEST_SERVICE = "sut"
BUILD_SECRETS_SCOPE = "build"  # build secrets sit in the keyring as this "environment"
DEPLOY_MODES = ("container", "service", "stack")
SWARM_MODES = ("service", "stack")  # modes that run on a Swarm manager
BUILD_ARG_VARIABLES = (
    "DOCKYARD_GIT_TAG",
    "DOCKYARD_GIT_COMMIT",
    "DOCKYARD_GIT_BRANCH",
    "DOCKYARD_RUN_ID",
)


class FrozenMap(Mapping[str, str]):
    """An immutable, hashable str -> str mapping, so the configs stay hashable."""

    __slots__ = ("_data",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._data = dict(items)

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


def _freeze(instance: object, *names: str) -> None:
    """Turn dicts/lists given by a caller into FrozenMap/tuple, keeping frozen meaning frozen."""
    for name in names:
        value = getattr(instance, name)
        if isinstance(value, Mapping) and not isinstance(value, FrozenMap):
            object.__setattr__(instance, name, FrozenMap(value))
        elif isinstance(value, list):
            object.__setattr__(instance, name, tuple(value))


@dataclass(frozen=True)
class BuildConfig:
    context: str = "."
    dockerfile: str = "Dockerfile"  # relative to the context, as with `docker build`
    args: Mapping[str, str] = field(default_factory=FrozenMap)  # ${VAR} kept unexpanded
    target: str | None = None
    host: str = "local"
    network: str | None = None  # for RUN steps: host, none, or a network's name
    timeout: float = 1800.0
    secrets: tuple[str, ...] = ()  # keyring names, mounted by RUN --mount=type=secret

    def __post_init__(self) -> None:
        _freeze(self, "args", "secrets")


@dataclass(frozen=True)
class TestConfig:
    """Either a compose file whose ``service`` exit code is the verdict, or a command."""

    __test__ = False  # not a pytest test class, despite the name

    compose: str | None
    service: str = DEFAULT_TEST_SERVICE
    command: tuple[str, ...] | None = None
    timeout: float = 600.0

    def __post_init__(self) -> None:
        _freeze(self, "command")


@dataclass(frozen=True)
class TriggerConfig:
    branches: tuple[str, ...] = ()  # globs; empty: no branch starts runs by itself
    tags: str | None = None  # glob such as "v*"; None: tags do not start runs
    interval: float = 60.0

    def __post_init__(self) -> None:
        _freeze(self, "branches")


@dataclass(frozen=True)
class ApprovalConfig:
    required: int = 1
    self_approval: bool = False
    timeout: float | None = None  # a pending approval expires after this long


@dataclass(frozen=True)
class HealthcheckConfig:
    test: tuple[str, ...]  # Docker form: ("CMD", ...) or ("CMD-SHELL", "...")
    interval: float = 5.0
    timeout: float = 3.0
    retries: int = 3
    start_period: float = 0.0

    def __post_init__(self) -> None:
        _freeze(self, "test")


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    host: str = "local"
    mode: str = "container"
    auto: bool = False
    after: str | None = None
    approval: ApprovalConfig | None = None
    env_file: str | None = None
    environment: Mapping[str, str] = field(default_factory=FrozenMap)
    secrets: tuple[str, ...] = ()
    configs: Mapping[str, str] = field(default_factory=FrozenMap)  # container path -> repo path
    volumes: tuple[str, ...] = ()
    ports: tuple[str, ...] = ()
    healthcheck: HealthcheckConfig | None = None
    grace: float = 5.0
    replicas: int = 1
    command: tuple[str, ...] | None = None  # replaces the image's CMD; None: the image's own
    compose: str | None = None  # mode: stack: the compose file deployed as a Swarm stack
    service: str | None = None  # its app service; None: found in the file (docs)

    def __post_init__(self) -> None:
        _freeze(self, "environment", "secrets", "configs", "volumes", "ports", "command")


@dataclass(frozen=True)
class PipelineConfig:
    image: str | None
    build: BuildConfig
    test: TestConfig | None
    trigger: TriggerConfig
    environments: tuple[EnvironmentConfig, ...]  # promotion order

    def __post_init__(self) -> None:
        _freeze(self, "environments")

    def environment(self, name: str) -> EnvironmentConfig:
        for environment in self.environments:
            if environment.name == name:
                return environment
        if not self.environments:
            raise UserInputError(
                f"Unknown environment '{name}': this pipeline defines none; "
                "add it under environments: in dockyard.yml."
            )
        known = ", ".join(environment.name for environment in self.environments)
        raise UserInputError(f"Unknown environment '{name}'; this pipeline has: {known}.")


_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_build_args(args: Mapping[str, str], values: Mapping[str, str]) -> dict[str, str]:
    """Fill ``${VAR}`` (or ``${VAR:-default}``) in build args; unknown or empty -> default/"".

    ``$$`` stands for a literal ``$``.
    """

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return values.get(match.group(1)) or (match.group(2) or "")

    return {name: _VARIABLE.sub(substitute, value) for name, value in args.items()}
