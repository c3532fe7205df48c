"""Rollback: a forward deployment of a recorded release, with a reason, that pins.

``--to`` names a tag, a release (deployment id) or a digest prefix; without it, the
release before the current one. A release deployed here before is redeployed from the
ledger alone (digest + recorded configuration snapshot; only secret values come from the
keyring), so it works while the git server is down. A tag never deployed here is deployed
from its tested image, built first by running its pipeline (without automatic deployment)
when it was never built.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dockyard.core.errors import PipelineFailed, UserInputError
from dockyard.core.model import ImageRecord, RunStatus
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.core.policy import PromotionPolicy
from dockyard.core.releases import Deployment
from dockyard.engine.deploying import (
    Attached,
    Deploying,
    Target,
    attach_from_commit,
    attach_recorded,
)
from dockyard.engine.events import CancelToken, EventSink
from dockyard.engine.release_config import environment_named, environments_of, pipeline_at
from dockyard.engine.release_results import ReleaseOutcome
from dockyard.store.images import ImageStore
from dockyard.store.runs import RunStore

if TYPE_CHECKING:
    from dockyard.engine.releases import ReleaseService

_DIGEST_PREFIX = re.compile(r"^(sha256:)?[0-9a-f]{7,64}$")


def roll_back(
    service: ReleaseService,
    repo: str,
    environment: str,
    to: str | None,
    comment: str,
    sink: EventSink,
) -> ReleaseOutcome:
    if not comment.strip():
        raise UserInputError("A rollback needs a reason; give it with --comment TEXT.")
    environments = environments_of(service.home, service.db, repo)
    env = environment_named(environments, repo, environment)
    current = service.ledger.current_deployment(repo, environment)
    recorded = _recorded_target(service, repo, environment, to, current)
    notes: list[str] = []
    if recorded is not None:
        target = Target(
            recorded.digest, recorded.image, recorded.commit, recorded.tag, recorded.run_id
        )
        attached, notes = attach_recorded(repo, environment, recorded.config, service.secrets)
    else:
        assert to is not None
        image = _image_for_tag(service, repo, env, to, sink)
        target = Target(image.digest, image.reference, image.commit, image.tag, image.run_id)
        attached = _attach_at_commit(service, repo, env, image.commit)
    run = RunStore(service.db).get(target.run_id) if target.run_id else None
    deploying = Deploying(service.home, service.db, service.identity, sink, CancelToken())
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
    was = f" from {current.tag or current.commit[:12]}" if current else ""
    return ReleaseOutcome(
        deployment,
        f"{environment} rolled back{was} to {target.label}; automatic deployment to it is "
        f"paused until: dockyard unpin {repo} {environment}",
    )


def _recorded_target(
    service: ReleaseService, repo: str, environment: str, to: str | None, current: Deployment | None
) -> Deployment | None:
    """The released deployment ``to`` names; None when ``to`` is a tag never deployed here."""
    released = [
        d for d in service.ledger.deployments(repo, environment, 1000) if d.status.was_released
    ]
    if to is None:
        earlier = [d for d in released if current is None or d.id < current.id]
        if not earlier:
            raise UserInputError(
                f"{environment} has no release before the current one; name one with --to TAG."
            )
        return earlier[0]
    if to.isdigit():
        for deployment in released:
            if deployment.id == int(to):
                return deployment
        raise UserInputError(
            f"Release {to} was never deployed successfully to {environment}; "
            f"list releases with: dockyard status {repo}"
        )
    for deployment in released:
        if deployment.tag == to:
            return deployment
    if _DIGEST_PREFIX.match(to):
        wanted = to.removeprefix("sha256:")
        matches = {
            d.digest for d in released if d.digest.removeprefix("sha256:").startswith(wanted)
        }
        if len(matches) > 1:
            raise UserInputError(f"More than one release digest starts with {to}; give more of it.")
        for deployment in released:
            if deployment.digest in matches:
                return deployment
        raise UserInputError(f"No release of {environment} has a digest starting with {to}.")
    return None


def _image_for_tag(
    service: ReleaseService, repo: str, env: EnvironmentConfig, tag: str, sink: EventSink
) -> ImageRecord:
    image = ImageStore(service.db).by_tag(repo, tag)
    if image is None or not image.tested:
        image = _build_tag(service, repo, tag, sink)
    # A rollback needs no approval and skips `after:`, but never takes an untested image.
    decision = PromotionPolicy(EnvironmentConfig(env.name)).accepts(image)
    if not decision:
        raise UserInputError(decision.reason)
    return image


def _build_tag(service: ReleaseService, repo: str, tag: str, sink: EventSink) -> ImageRecord:
    from dockyard.engine.pipeline import start_pipeline

    outcome = start_pipeline(
        home=service.home, db=service.db, location=repo, ref=tag,
        started_by=service.identity, sink=sink, deploy=False,
    )  # fmt: skip
    if outcome.run.status != RunStatus.SUCCEEDED:
        if outcome.error is not None:
            raise outcome.error
        raise PipelineFailed(
            f"The pipeline of {tag} {outcome.run.status}; nothing was rolled back."
        )
    image = ImageStore(service.db).for_run(outcome.run.id)
    if image is None:
        raise PipelineFailed(f"The pipeline of {tag} recorded no image; nothing was rolled back.")
    return image


def _attach_at_commit(
    service: ReleaseService, repo: str, env: EnvironmentConfig, commit: str
) -> Attached:
    """The environment as that commit's dockyard.yml defines it, with its files."""
    at_commit = pipeline_at(service.home, repo, commit).environment(env.name)
    return attach_from_commit(service.home, repo, at_commit, commit, service.secrets)
