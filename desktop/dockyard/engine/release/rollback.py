"""Rollback: a forward deployment of a recorded release, with a reason, that pins.

A rollback goes back only to a release that already ran successfully in that environment
(it passed the environment's gate then). ``--to`` names it by tag, release (deployment
id) or digest prefix; without it, the release before the current one. Anything never
released there is a new release: it is refused, and goes through the pipeline and the
gate instead. The release is redeployed from the ledger alone (digest + recorded
configuration snapshot; only secret values come from the keyring), so it works while the
git server is down.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.core.errors import UserInputError
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.core.policy import digest_prefix
from dockyard.core.releases import Deployment, DeployTarget
from dockyard.engine.deploy import ConfigSnapshot
from dockyard.engine.events import EventSink
from dockyard.engine.release.config import environment_named, environments_of
from dockyard.engine.release.context import ReleaseContext
from dockyard.engine.release.deploying import Deploying, attach_recorded
from dockyard.engine.release.results import ReleaseOutcome
from dockyard.store.runs import RunStore


@dataclass(frozen=True)
class RollbackChoices:
    """What an environment can be rolled back to, as the Rollback dialog lists it."""

    releases: list[Deployment]  # released here, newest first (the current one included)
    current: Deployment | None  # what runs now: not a rollback target
    default: Deployment | None  # what ``rollback`` without ``--to`` picks
    # Where a rollback to each release (by id) goes: the environment's host and mode now
    # (the newest dockyard.yml), the release's recorded replicas.
    targets: dict[int, DeployTarget | None] = field(default_factory=dict)
    # Why a rollback to a release (by id) is refused, in one sentence; absent: it may be.
    refused: dict[int, str] = field(default_factory=dict)


def rollback_choices(service: ReleaseContext, repo: str, environment: str) -> RollbackChoices:
    env = environment_named(environments_of(service.home, service.db, repo), repo, environment)
    released = service.releases(repo, environment)
    current = service.ledger.current_deployment(repo, environment)
    targets = {d.id: ConfigSnapshot.from_json(d.config).aimed(env).target for d in released}
    refused = {d.id: why for d in released if (why := _across_stack(repo, env, d))}
    return RollbackChoices(released, current, _before(released, current), targets, refused)


def _across_stack(repo: str, env: EnvironmentConfig, release: Deployment) -> str | None:
    """Why ``release`` cannot be put back in ``env``'s mode now, if it cannot.

    A rollback redeploys a release as it ran. Between container and service mode that
    is the same image and configuration, aimed anew; a stack is its compose file's
    services, which a release from another mode does not have (and a stack release
    in container mode would start them beside the stack still running), so a rollback
    never crosses into or out of stack mode.
    """
    was = ConfigSnapshot.from_json(release.config).mode
    if was == env.mode or "stack" not in (was, env.mode):
        return None
    return (
        f"{release.label} ran in {env.name} in {was} mode and {env.name} is in {env.mode} "
        "mode now; a rollback puts a release back as it ran, which cannot cross into or out "
        f"of stack mode: roll back to a release that ran in {env.mode} mode, or release a "
        f"new one through the pipeline (dockyard run {repo})."
    )


def roll_back(
    service: ReleaseContext,
    repo: str,
    environment: str,
    to: str | None,
    comment: str,
    sink: EventSink,
) -> ReleaseOutcome:
    """Roll back holding the environment's lock, so "the release before" and "rolled back
    from" are read after any deployment in progress has finished."""
    deploying = service.deploying(sink)
    with deploying.exclusive(repo, environment, f"{to or 'the previous release'} (rollback)"):
        return _roll_back(service, deploying, repo, environment, to, comment)


def _roll_back(
    service: ReleaseContext,
    deploying: Deploying,
    repo: str,
    environment: str,
    to: str | None,
    comment: str,
) -> ReleaseOutcome:
    if not comment.strip():
        raise UserInputError("A rollback needs a reason; give it with --comment TEXT.")
    environments = environments_of(service.home, service.db, repo)
    env = environment_named(environments, repo, environment)
    choices = rollback_choices(service, repo, environment)
    current = choices.current
    recorded = _recorded_target(repo, environment, to, choices)
    if recorded.id in choices.refused:
        raise UserInputError(choices.refused[recorded.id])
    target = recorded.release
    attached, notes = attach_recorded(repo, env, recorded.config, service.secrets)
    run = RunStore(service.db).get(target.run_id) if target.run_id else None
    deployment = deploying.deploy(
        repo=repo, env=env, position=environments.index(env), target=target, attached=attached,
        run=run, rollback=True, rolled_back_from=current.id if current else None,
        comment=comment, notes=notes,
    )  # fmt: skip
    reason = f"rolled back to {target.label}: {comment}"
    service.ledger.pin(repo, environment, service.identity, reason)
    service.audit.append(
        "pin", actor=service.identity, repo=repo, environment=environment,
        details={"reason": reason, "deployment": deployment.id},
    )  # fmt: skip
    was = f" from {current.label}" if current else ""
    return ReleaseOutcome(
        deployment,
        f"{environment} rolled back{was} to {target.label} on {deployment.target}; automatic "
        f"deployment to it is paused until: dockyard unpin {repo} {environment}",
    )


def _before(released: list[Deployment], current: Deployment | None) -> Deployment | None:
    earlier = [d for d in released if current is None or d.id < current.id]
    return earlier[0] if earlier else None


def _recorded_target(
    repo: str, environment: str, to: str | None, choices: RollbackChoices
) -> Deployment:
    """The release ``to`` names among those that ran in the environment; anything else is
    refused with how to release it instead."""
    released = choices.releases
    if to is None:
        if choices.default is None:
            raise UserInputError(
                f"{environment} has no release before the current one; name one with --to TAG."
            )
        return choices.default
    if to.isdigit():
        found = [d for d in released if d.id == int(to)]
    else:
        found = [d for d in released if d.tag == to]
    wanted = digest_prefix(to, 7)
    if not found and wanted is not None:
        digests = {
            d.digest for d in released if d.digest.removeprefix("sha256:").startswith(wanted)
        }
        if len(digests) > 1:
            raise UserInputError(f"More than one release digest starts with {to}; give more of it.")
        found = [d for d in released if d.digest in digests]
    if found:
        return found[0]
    if to.isdigit() or wanted is not None:
        what = f"Release {to}" if to.isdigit() else f"Digest {to}"
        how = f"dockyard promote {repo} {environment} --digest DIGEST"
    else:
        what, how = to, f"dockyard run {repo} --ref {to}"
    raise UserInputError(
        f"{what} never ran in {environment}, and a rollback only goes back to a release that "
        f"did; release it through the pipeline and the approval gate instead: {how}"
    )
