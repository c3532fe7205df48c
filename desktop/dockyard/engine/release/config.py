"""Which environments a repository has, when no pipeline run is at hand.

Decision: the environments are those of ``dockyard.yml`` at the commit of the repository's
latest run (read through ``GitSource`` without fetching, so a mirror fetched before keeps
working while the git server is down). When git cannot be read at all (the mirror was
never made on this desktop, the folder is gone), the settings recorded in the audit trail
with every deployment and approval request are used instead: host, mode, auto, after and
approval are enough to show status, approve and roll back a recorded release.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from dockyard.core.errors import DockyardError, InfrastructureError, UserInputError
from dockyard.core.pipeline_file import (
    ApprovalConfig,
    EnvironmentConfig,
    PipelineConfig,
)
from dockyard.core.pipeline_load import load_pipeline
from dockyard.core.policy import stricter
from dockyard.core.releases import ApprovalRequest
from dockyard.engine.commitfiles import RepositoryFileError
from dockyard.engine.gitsource import GitSource
from dockyard.engine.pipelinecache import CommitPipeline, NotCached, keep, kept
from dockyard.store.audit import AuditLog
from dockyard.store.database import Database
from dockyard.store.runs import RunStore

log = logging.getLogger("dockyard.releases")

# Audit actions whose details carry an "environment_config" (see settings_of()).
CONFIG_ACTIONS = ("deploy", "rollback", "approval-requested")


@functools.lru_cache(maxsize=256)
def pipeline_at(home: Path, repo: str, commit: str) -> PipelineConfig:
    """The pipeline file of ``commit`` (defaults when it has none), read from git once per
    commit: a commit's files never change, and status asks for it on every refresh (kept
    in memory here, and on disk by ``pipelinecache`` for the next process).

    Raises InfrastructureError when git cannot be read, UserInputError for a bad file
    (neither is remembered: the next call asks git again).
    """
    unreadable = (
        f"Could not read commit {commit[:12]} of {repo} ({{}}); check that the repository "
        "is reachable."
    )
    remembered = kept(home, repo, commit)
    if remembered is not None:
        try:
            return load_pipeline(remembered.text, exists=remembered.answer)
        except NotCached:
            pass  # asked about another file: read the commit through git
    try:
        source = GitSource(repo, home, fetch=False)
    except Exception as exc:  # gone, moved, not a repository: git unreadable here
        raise InfrastructureError(unreadable.format(exc)) from exc
    with source:
        try:
            read = CommitPipeline(source.read_file(commit, "dockyard.yml"))
        except RepositoryFileError:
            raise  # readable, but refused (too large, a link out of the repository)
        except Exception as exc:  # any git failure means "git unreadable here"
            raise InfrastructureError(unreadable.format(exc)) from exc

        def exists(path: str) -> bool:
            read.exists[path] = source.exists(commit, path)
            return read.exists[path]

        config = load_pipeline(read.text, exists=exists)
    keep(home, repo, commit, read)
    return config


def unroutable_image(env: EnvironmentConfig, build_host: str) -> str:
    """Why an image built on ``build_host`` without a registry cannot reach ``env``'s host."""
    return (
        f"Environment {env.name!r} deploys on host {env.host!r} but images are built on "
        f"{build_host!r} and dockyard.yml has no image: registry to carry them; set image: "
        "to a registry repository (or build.host to the same host)."
    )


def require_image_route(config: PipelineConfig) -> None:
    """Every environment must be able to get the image: on the build host, or by registry.

    Without ``image:`` an image stays on the daemon that built it (its id is its identity),
    so another host has nothing to pull; checked at checkout so the run fails before it
    builds. Raises UserInputError naming the first environment that cannot get it.
    """
    if config.image:
        return
    for env in config.environments:
        if env.host != config.build.host:
            raise UserInputError(unroutable_image(env, config.build.host))


def settings_of(env: EnvironmentConfig, position: int) -> dict[str, Any]:
    """What the audit keeps of an environment, enough to act on it without git."""
    approval = env.approval
    return {
        "position": position,
        "host": env.host,
        "mode": env.mode,
        "auto": env.auto,
        "after": env.after,
        "approval": None
        if approval is None
        else {
            "required": approval.required,
            "self_approval": approval.self_approval,
            "timeout": approval.timeout,
        },
    }


def environments_of(home: Path, db: Database, repo: str) -> tuple[EnvironmentConfig, ...]:
    """The repository's environments in promotion order (see the module docstring)."""
    commit = next((run.commit for run in RunStore(db).list(repo, limit=20) if run.commit), None)
    if commit is not None:
        try:
            return pipeline_at(home, repo, commit).environments
        except InfrastructureError as exc:
            log.warning(
                "reading dockyard.yml of %s failed (%s); using recorded settings", repo, exc
            )
    return _recorded_environments(db, repo)


def approval_rules(
    home: Path, repo: str, env: EnvironmentConfig, request: ApprovalRequest
) -> ApprovalConfig:
    """The rules ``request`` is approved under: the stricter of ``env``'s (the latest
    run's dockyard.yml) and those at the request's own commit (``core.policy.stricter``).
    Where that commit cannot be read, the latest's alone, as without git."""
    try:
        at_release = pipeline_at(home, repo, request.commit).environments
    except DockyardError as exc:
        log.warning("reading dockyard.yml of %s failed (%s); latest rules apply", repo, exc)
        return env.approval or ApprovalConfig()
    same = next((e for e in at_release if e.name == env.name), None)
    return stricter(env.approval, same.approval if same else None)


def _recorded_environments(db: Database, repo: str) -> tuple[EnvironmentConfig, ...]:
    latest: dict[str, dict[str, Any]] = {}
    for entry in AuditLog(db).entries(repo=repo):
        settings = entry.details.get("environment_config")
        if entry.action in CONFIG_ACTIONS and isinstance(settings, dict) and entry.environment:
            latest[entry.environment] = settings
    ordered = sorted(latest.items(), key=lambda item: int(item[1].get("position", 0)))
    return tuple(_from_settings(name, settings) for name, settings in ordered)


def _from_settings(name: str, settings: dict[str, Any]) -> EnvironmentConfig:
    approval = settings.get("approval")
    return EnvironmentConfig(
        name=name,
        host=str(settings.get("host", "local")),
        mode=str(settings.get("mode", "container")),
        auto=bool(settings.get("auto", False)),
        after=settings.get("after"),
        approval=None
        if not isinstance(approval, dict)
        else ApprovalConfig(
            required=int(approval.get("required", 1)),
            self_approval=bool(approval.get("self_approval", False)),
            timeout=approval.get("timeout"),
        ),
    )


def environment_named(
    environments: tuple[EnvironmentConfig, ...], repo: str, name: str
) -> EnvironmentConfig:
    for env in environments:
        if env.name == name:
            return env
    if not environments:
        # Environments come from the latest run's commit: a repository never run has none yet.
        raise UserInputError(
            f"{repo} has no environment {name!r}: none is known until a run records its "
            f"dockyard.yml; run its pipeline first (dockyard run {repo}), or add an "
            "environments block to its dockyard.yml."
        )
    known = ", ".join(env.name for env in environments)
    raise UserInputError(
        f"{repo} has no environment {name!r} (known: {known}); check the environments "
        "block of its dockyard.yml."
    )
