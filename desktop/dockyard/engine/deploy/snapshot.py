"""Build the configuration snapshot of one environment from the repository at a commit.

Files come from the commit being deployed (not the working tree), so the snapshot is the
configuration that commit meant; secret values come from the keyring and only their
fingerprints (``engine.secrets.Fingerprints``) are kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping

from dockyard.core.errors import UserInputError
from dockyard.core.pipeline_file import BuildConfig, EnvironmentConfig
from dockyard.engine.commitfiles import RepositoryFileError
from dockyard.engine.deploy.spec import ConfigFile, ConfigSnapshot, StackFile
from dockyard.engine.deploy.stack_file import app_service, load_stack


def build_snapshot(
    env: EnvironmentConfig,
    read_file: Callable[[str], str | None],
    secret_marks: Mapping[str, str],
    build: BuildConfig | None = None,
) -> ConfigSnapshot:
    """``read_file(path)`` returns a file's text at the commit, or None when it is missing;
    ``secret_marks`` maps each secret name to the fingerprint of its value; ``build`` (the
    pipeline's) tells a stack's app service by its ``build:``."""
    values: dict[str, str] = {}
    if env.env_file:
        values.update(parse_env_file(_read(env, read_file, env.env_file, "env_file"), env))
    values.update(env.environment)
    configs = {}
    for target, source in env.configs.items():
        content = _read(env, read_file, source, f"config {target}")
        configs[target] = ConfigFile(source, hashlib.sha256(content.encode()).hexdigest(), content)
    secrets = {}
    for name in env.secrets:
        if name not in secret_marks:
            raise UserInputError(
                f"Secret {name!r} of environment {env.name!r} has no value; set it with: "
                f"dockyard secret set REPO {env.name} {name}"
            )
        secrets[name] = secret_marks[name]
    return ConfigSnapshot(
        mode=env.mode,
        replicas=env.replicas,
        grace=env.grace,
        env=values,
        env_file=env.env_file,
        configs=configs,
        secrets=secrets,
        ports=tuple(env.ports),
        volumes=tuple(env.volumes),
        healthcheck=env.healthcheck,
        command=env.command,
        stack=_stack(env, read_file, build),
        host=env.host,
    )


def _stack(
    env: EnvironmentConfig, read_file: Callable[[str], str | None], build: BuildConfig | None
) -> StackFile | None:
    if env.compose is None:
        return None
    content = _read(env, read_file, env.compose, "compose")
    document = load_stack(content, env.compose)
    service = app_service(document, env.compose, env.name, env.service, build)
    digest = hashlib.sha256(content.encode()).hexdigest()
    return StackFile(env.compose, digest, content, service)


def _read(
    env: EnvironmentConfig, read_file: Callable[[str], str | None], path: str, what: str
) -> str:
    try:
        text = read_file(path)
    except RepositoryFileError as exc:
        raise exc.for_key(f"{what} of environment {env.name!r}") from None
    if text is None:
        raise UserInputError(
            f"{path} ({what} of environment {env.name!r}) is not in the repository at this "
            "commit; commit the file or fix the path in dockyard.yml."
        )
    return text


def parse_env_file(text: str, env: EnvironmentConfig) -> dict[str, str]:
    """``KEY=VALUE`` lines; ``#`` comments, blank lines, quotes and ``export`` tolerated."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or any(c.isspace() for c in key):
            raise UserInputError(
                f"{env.env_file}, line {number} (env_file of environment {env.name!r}): "
                "expected KEY=VALUE (the line is not shown: it may hold a value)."
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values
