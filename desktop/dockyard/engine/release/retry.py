"""Retrying an approved deployment that failed, without a new second person.

A registry that was down or a missing login must not use the approval up: within the
approval's lifetime, the same digest with the same configuration fingerprint may be
deployed again by anyone (audited as ``retry-deployment``). Anything else — a changed
configuration, an expired approval, nothing that failed — is refused with one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dockyard.core.errors import UserInputError
from dockyard.core.model import utcnow
from dockyard.core.policy import Decision
from dockyard.core.releases import ApprovalRequest, ApprovalStatus, Deployment, DeploymentStatus
from dockyard.engine.deploy import ConfigSnapshot, diff_snapshots
from dockyard.engine.release.config import environment_named, environments_of
from dockyard.engine.release.context import ReleaseContext
from dockyard.engine.release.results import ReleaseOutcome
from dockyard.store.ledger import ReleaseLedger

RETRYABLE = (DeploymentStatus.FAILED, DeploymentStatus.INTERRUPTED)


@dataclass(frozen=True)
class RetryCheck:
    decision: Decision
    request: ApprovalRequest | None = None
    failed: Deployment | None = None


def check_retry(ledger: ReleaseLedger, repo: str, environment: str, now: datetime) -> RetryCheck:
    """Whether the last deployment of ``environment`` is an approved one that failed and
    may be deployed again under its approval (the configuration is checked on retry)."""
    latest = ledger.latest_deployment(repo, environment)
    request = ledger.latest_request(repo, environment)
    if latest is None or latest.status not in RETRYABLE or not latest.approved_by:
        what = (
            "nothing was deployed there yet"
            if latest is None
            else f"its last deployment ({latest.label}) is {latest.status}"
            + ("" if latest.approved_by or latest.status not in RETRYABLE else ", not approved")
        )
        return RetryCheck(
            Decision(
                False,
                f"Nothing to retry in {environment}: {what}; --retry only redeploys an "
                "approved release whose deployment failed.",
            )
        )
    label = latest.label
    if request is None or request.status is not ApprovalStatus.APPROVED:
        return RetryCheck(
            Decision(
                False,
                f"The approval of {label} for {environment} no longer applies (a newer release "
                f"was requested since); see: dockyard status {repo}",
            )
        )
    if request.digest != latest.digest:
        return RetryCheck(
            Decision(
                False,
                f"The failed deployment of {label} to {environment} is not the last approved "
                "release; run its pipeline again to request a new approval.",
            )
        )
    if request.expires is not None and request.expires <= now:
        return RetryCheck(
            Decision(
                False,
                f"The approval of {label} for {environment} expired at "
                f"{request.expires:%Y-%m-%d %H:%M}; run its pipeline again to request a new "
                "one.",
            )
        )
    return RetryCheck(
        Decision(True, f"{label} may be deployed to {environment} again under its approval."),
        request,
        latest,
    )


def retry_deployment(service: ReleaseContext, repo: str, environment: str) -> ReleaseOutcome:
    environments = environments_of(service.home, service.db, repo)
    env = environment_named(environments, repo, environment)
    deploying = service.deploying()
    request, failed = _allowed(service, repo, environment)
    with deploying.exclusive(repo, environment, f"{failed.label} (retry)"):
        # Again once the lock is held: another process may have retried meanwhile.
        request, failed = _allowed(service, repo, environment)
        attached = service.attach_for_request(repo, env, request)
        fingerprint = attached.snapshot.fingerprint()
        if fingerprint != request.config_fingerprint:
            approved = ConfigSnapshot.from_json(dict(request.config))
            _refuse_another_target(environment, failed, approved, attached.snapshot)
            changes = diff_snapshots(approved, attached.snapshot)
            what = "; ".join(changes) or "the configuration fingerprint differs"
            raise UserInputError(
                f"The configuration of {environment} changed since {failed.label} was approved "
                f"({what}); a retry would deploy what nobody approved: run its pipeline again "
                "for a new approval."
            )
        service.audit.append(
            "retry-deployment", actor=service.identity, repo=repo, environment=environment,
            details={"request": request.id, "failed_deployment": failed.id,
                     "digest": request.digest, "config_fingerprint": fingerprint},
        )  # fmt: skip
        return service.deploy_resolved(
            environments, env, request, attached, deploying,
            comment=f"retry of deployment {failed.id}",
        )  # fmt: skip


def _refuse_another_target(
    environment: str, failed: Deployment, approved: ConfigSnapshot, now: ConfigSnapshot
) -> None:
    """The approved digest goes only where it was approved for, never where the settings
    (a newer commit's dockyard.yml) moved the environment since."""
    if now.target is None or now.target == approved.target:
        return
    raise UserInputError(
        f"{environment}'s target changed since {failed.label} was approved "
        f"({now.target.changes_from(approved.target)}); a retry only deploys where it was "
        f"approved for: request the release again (dockyard promote {failed.repo} "
        f"{environment} --digest {failed.digest}) and approve it."
    )


def _allowed(
    service: ReleaseContext, repo: str, environment: str
) -> tuple[ApprovalRequest, Deployment]:
    check = check_retry(service.ledger, repo, environment, utcnow())
    if not check.decision:
        raise UserInputError(check.decision.reason)
    assert check.request is not None and check.failed is not None
    return check.request, check.failed
