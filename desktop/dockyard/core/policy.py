"""Promotion and approval rules (docs/architecture.md, principles 1, 5, 6, 7), pure and tested.

The policies only judge; they return a ``Decision`` with a reason a person can read, and
the release service turns a refusal into an error or a skipped environment.

- Promotion: an environment accepts only a digest whose image passed the test stage, and
  with ``after: X`` only one that was deployed successfully to X. A pinned environment
  refuses *automatic* deployment; an explicit rollback is what pins, so it is not refused.
- Approval: the request must be pending and not expired; with ``self_approval: false``
  (the default) the identity that started the run cannot approve it; ``required: N``
  distinct approvers are needed (people are compared by ``core.identity``: trimmed and
  case-insensitive); an approval counts only while the digest and the
  configuration fingerprint it was shown are still the request's. Approving while the
  environment is pinned is refused ("unpin first"): the pin says someone deliberately put
  an older release back, and a pending approval of a newer one would silently undo that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from dockyard.core.identity import identity_key, same_person
from dockyard.core.model import ImageRecord
from dockyard.core.pipeline_file import ApprovalConfig, EnvironmentConfig
from dockyard.core.releases import Approval, ApprovalRequest, ApprovalStatus, Deployment, Pin


@dataclass(frozen=True)
class Decision:
    """Whether something may happen, and why (one sentence, for people)."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def _short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]


_HEX = frozenset("0123456789abcdef")


def digest_prefix(text: str, minimum: int) -> str | None:
    """The hex part of a digest or digest prefix a person typed (``sha256:`` optional),
    lower-cased; None unless it is ``minimum`` to 64 hex characters."""
    hex_part = text.strip().lower().removeprefix("sha256:")
    if not minimum <= len(hex_part) <= 64 or not set(hex_part) <= _HEX:
        return None
    return hex_part


def reviewed(request: ApprovalRequest, shown: str) -> Decision:
    """Whether the request still asks for the digest the approver reviewed (``shown``: the
    digest or a prefix of at least 12 hex characters). A newer run may have replaced the
    request between reading and approving; approving that unseen release is refused."""
    wanted = digest_prefix(shown, 12)
    if wanted is None:
        return Decision(
            False,
            f"--digest takes the digest you reviewed or at least its first 12 hex characters "
            f"(sha256: optional), not {shown.strip()!r}.",
        )
    if request.digest.removeprefix("sha256:").startswith(wanted):
        return Decision(True, f"{request.environment} still waits for {_short(request.digest)}.")
    label = request.label
    return Decision(
        False,
        f"{request.environment} now waits for sha256:{_short(request.digest)}… ({label}), not "
        f"the sha256:{wanted[:12]}… you reviewed, so nothing was done; review it first "
        f"(dockyard status {request.repo}).",
    )


class PromotionPolicy:
    """Which digests an environment accepts."""

    def __init__(self, environment: EnvironmentConfig) -> None:
        self.environment = environment

    def accepts(self, image: ImageRecord, previous_history: Iterable[Deployment] = ()) -> Decision:
        """Whether ``image`` may go to this environment at all (manual or automatic).

        ``previous_history`` is the ledger history of the ``after:`` environment.
        """
        env = self.environment
        if not image.tested:
            return Decision(
                False,
                f"{_short(image.digest)} did not pass the test stage, so {env.name} does not "
                "accept it; fix the tests and run the pipeline again.",
            )
        if env.after:
            released = any(
                d.digest == image.digest and d.status.was_released for d in previous_history
            )
            if not released:
                return Decision(
                    False,
                    f"{env.name} comes after {env.after}, and {_short(image.digest)} was never "
                    f"deployed successfully to {env.after}; deploy it there first.",
                )
        return Decision(True, f"{_short(image.digest)} passed the tests" + _after_note(env))

    def automatic(
        self,
        image: ImageRecord,
        previous_history: Iterable[Deployment] = (),
        pin: Pin | None = None,
    ) -> Decision:
        """Whether the pipeline may deploy ``image`` here by itself, without a person."""
        env = self.environment
        if not env.auto:
            return Decision(False, f"{env.name} needs an approval before each deployment.")
        if pin is not None:
            return Decision(
                False,
                f"{env.name} is pinned after a rollback by {pin.pinned_by} ({pin.reason}); "
                "unpin it to resume automatic deployment.",
            )
        return self.accepts(image, previous_history)


def _after_note(env: EnvironmentConfig) -> str:
    return f" and ran in {env.after}." if env.after else "."


def stricter(latest: ApprovalConfig | None, at_release: ApprovalConfig | None) -> ApprovalConfig:
    """The rules a pending release is approved under: the stricter of the latest run's
    ``dockyard.yml`` and that of the release's own commit, so that neither a later
    commit (a work-in-progress branch that never passed its tests) nor an older one can
    loosen the rules the other sets. The timeout is the latest's (it only sets when a new
    request expires)."""
    now, then = latest or ApprovalConfig(), at_release or ApprovalConfig()
    return ApprovalConfig(
        required=max(now.required, then.required),
        self_approval=now.self_approval and then.self_approval,
        timeout=now.timeout,
    )


class ApprovalPolicy:
    """Four-eyes, how many approvers, and whether an approval still counts."""

    def __init__(self, config: ApprovalConfig | None) -> None:
        self.config = config or ApprovalConfig()

    def expires(self, created: datetime) -> datetime | None:
        if self.config.timeout is None:
            return None
        return created + timedelta(seconds=self.config.timeout)

    def may_approve(
        self, request: ApprovalRequest, approver: str, now: datetime, pin: Pin | None = None
    ) -> Decision:
        env = request.environment
        if request.status is not ApprovalStatus.PENDING:
            return Decision(
                False,
                f"The release for {env} is {request.status}, not pending; "
                "run the pipeline again to request a new approval.",
            )
        if request.expires is not None and request.expires <= now:
            return Decision(
                False,
                f"The approval request for {env} expired at {request.expires:%Y-%m-%d %H:%M} "
                "UTC; run the pipeline again to request a new approval.",
            )
        if pin is not None:
            return Decision(
                False,
                f"{env} is pinned after a rollback by {pin.pinned_by} ({pin.reason}); "
                f"unpin it first (dockyard unpin REPO {env}), then approve.",
            )
        if not self.config.self_approval and same_person(approver, request.requested_by):
            return Decision(
                False,
                f"{approver} started this release and cannot approve it (four-eyes rule "
                f"for {env}); ask someone else to approve.",
            )
        return Decision(True, f"{approver} may approve the release for {env}.")

    def counting(self, request: ApprovalRequest) -> list[Approval]:
        """The approvals that still count: shown the request's digest and configuration,
        one per approver, and not by the requester under the four-eyes rule."""
        counted: dict[str, Approval] = {}
        for approval in request.approvals:
            if approval.digest != request.digest:
                continue
            if approval.config_fingerprint != request.config_fingerprint:
                continue
            if not self.config.self_approval and same_person(
                approval.approver, request.requested_by
            ):
                continue
            counted[identity_key(approval.approver)] = approval
        return list(counted.values())

    def missing(self, request: ApprovalRequest) -> int:
        """How many more distinct approvers are needed (0: approved)."""
        return max(0, self.config.required - len(self.counting(request)))

    def satisfied(self, request: ApprovalRequest) -> Decision:
        missing = self.missing(request)
        if missing == 0:
            names = ", ".join(a.approver for a in self.counting(request))
            return Decision(True, f"Approved by {names}.")
        return Decision(
            False,
            f"{len(self.counting(request))} of {self.config.required} approvals for "
            f"{request.environment}; {missing} more needed.",
        )
