"""Promotion and approval rules: what reaches an environment and who may let it in."""

from __future__ import annotations

from datetime import timedelta

from dockyard.core.identity import identity_key, same_person
from dockyard.core.model import ImageRecord, utcnow
from dockyard.core.pipeline_file import ApprovalConfig, EnvironmentConfig
from dockyard.core.policy import ApprovalPolicy, PromotionPolicy, digest_prefix, reviewed
from dockyard.core.releases import (
    Approval,
    ApprovalRequest,
    ApprovalStatus,
    Deployment,
    DeploymentStatus,
    Pin,
)

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
NOW = utcnow()


def image(tested: bool = True, digest: str = DIGEST) -> ImageRecord:
    return ImageRecord("/r", "c" * 40, digest, "reg/app", "v1", "run1", tested)


def deployment(digest: str, status: DeploymentStatus) -> Deployment:
    return Deployment(
        1, "/r", "staging", digest, f"reg/app@{digest}", "c" * 40, "v1", "run1", {}, status,
        NOW, NOW, "dev", (), False, None, "", "",
    )  # fmt: skip


def request(
    approvals: tuple[Approval, ...] = (),
    *,
    expires: object = None,
    status: ApprovalStatus = ApprovalStatus.PENDING,
) -> ApprovalRequest:
    return ApprovalRequest(
        7, "/r", "production", "run1", DIGEST, f"reg/app@{DIGEST}", "c" * 40, "v1", "fp1", {},
        "dev@x", NOW, expires, status, approvals,  # type: ignore[arg-type]
    )  # fmt: skip


def approval(who: str, digest: str = DIGEST, fp: str = "fp1") -> Approval:
    return Approval(who, "ok", NOW, digest, fp)


STAGING = EnvironmentConfig("staging", auto=True)
PRODUCTION = EnvironmentConfig("production", after="staging", approval=ApprovalConfig())
PIN = Pin("/r", "staging", "ops@x", "bad release", NOW)


def test_untested_image_is_refused_everywhere() -> None:
    decision = PromotionPolicy(STAGING).accepts(image(tested=False))
    assert not decision
    assert "did not pass the test stage" in decision.reason


def test_tested_image_is_accepted_by_a_first_environment() -> None:
    assert PromotionPolicy(STAGING).accepts(image())


def test_after_requires_a_successful_deployment_of_that_digest() -> None:
    policy = PromotionPolicy(PRODUCTION)
    assert not policy.accepts(image(), [])
    assert not policy.accepts(image(), [deployment(DIGEST, DeploymentStatus.FAILED)])
    assert not policy.accepts(image(), [deployment(OTHER, DeploymentStatus.DEPLOYED)])
    refused = policy.accepts(image(), [deployment(DIGEST, DeploymentStatus.INTERRUPTED)])
    assert "never deployed successfully to staging" in refused.reason
    assert policy.accepts(image(), [deployment(DIGEST, DeploymentStatus.DEPLOYED)])
    # Superseded since: it ran there, which is what promotion asks.
    assert policy.accepts(image(), [deployment(DIGEST, DeploymentStatus.SUPERSEDED)])


def test_pinned_environment_refuses_automatic_deployment() -> None:
    decision = PromotionPolicy(STAGING).automatic(image(), pin=PIN)
    assert not decision
    assert "pinned" in decision.reason and "unpin" in decision.reason
    assert PromotionPolicy(STAGING).automatic(image())


def test_approval_environment_is_never_automatic() -> None:
    assert not PromotionPolicy(PRODUCTION).automatic(
        image(), [deployment(DIGEST, DeploymentStatus.DEPLOYED)]
    )


def test_four_eyes_refuses_the_requester() -> None:
    decision = ApprovalPolicy(ApprovalConfig()).may_approve(request(), "dev@x", NOW)
    assert not decision
    assert "four-eyes" in decision.reason and "dev@x" in decision.reason
    assert ApprovalPolicy(ApprovalConfig()).may_approve(request(), "lead@x", NOW)


def test_self_approval_allowed_when_configured() -> None:
    policy = ApprovalPolicy(ApprovalConfig(self_approval=True))
    assert policy.may_approve(request(), "dev@x", NOW)
    assert policy.satisfied(request((approval("dev@x"),)))


def test_expired_or_closed_requests_cannot_be_approved() -> None:
    policy = ApprovalPolicy(ApprovalConfig(timeout=60))
    expired = request(expires=NOW - timedelta(seconds=1))
    assert "expired" in policy.may_approve(expired, "lead@x", NOW).reason
    rejected = request(status=ApprovalStatus.REJECTED)
    assert "rejected, not pending" in policy.may_approve(rejected, "lead@x", NOW).reason
    assert policy.expires(NOW) == NOW + timedelta(seconds=60)
    assert ApprovalPolicy(ApprovalConfig()).expires(NOW) is None


def test_pinned_environment_refuses_approval_until_unpinned() -> None:
    decision = ApprovalPolicy(None).may_approve(request(), "lead@x", NOW, pin=PIN)
    assert not decision and "unpin it first" in decision.reason


def test_required_counts_distinct_approvers() -> None:
    policy = ApprovalPolicy(ApprovalConfig(required=2))
    one = request((approval("lead@x"),))
    assert not policy.satisfied(one)
    assert policy.missing(one) == 1
    assert "1 of 2 approvals" in policy.satisfied(one).reason
    # The same person twice is still one approver.
    assert policy.missing(request((approval("lead@x"), approval("lead@x")))) == 1
    assert policy.satisfied(request((approval("lead@x"), approval("ops@x"))))


def test_approval_counts_only_for_what_it_was_shown() -> None:
    policy = ApprovalPolicy(ApprovalConfig())
    assert not policy.satisfied(request((approval("lead@x", digest=OTHER),)))
    assert not policy.satisfied(request((approval("lead@x", fp="fp-old"),)))
    assert policy.satisfied(request((approval("lead@x"),)))


def test_requesters_own_approval_never_counts_under_four_eyes() -> None:
    policy = ApprovalPolicy(ApprovalConfig())
    assert not policy.satisfied(request((approval("dev@x"),)))


def test_identities_compare_trimmed_and_case_insensitively() -> None:
    assert same_person("DEV@Example.ORG", " dev@example.org\t")
    assert same_person("Ｄev@example.org", "dev@example.org")  # fullwidth look-alike
    assert not same_person("dev@example.org", "ops@example.org")
    assert identity_key("  Lead@X ") == "lead@x"


def test_four_eyes_is_not_walked_around_by_changing_case_or_spaces() -> None:
    policy = ApprovalPolicy(ApprovalConfig())
    for disguise in ("DEV@X", " dev@x ", "Dev@X\n"):
        decision = policy.may_approve(request(), disguise, NOW)
        assert not decision and "four-eyes" in decision.reason, disguise
        assert not policy.satisfied(request((approval(disguise),)))


def test_one_person_in_two_spellings_counts_once() -> None:
    policy = ApprovalPolicy(ApprovalConfig(required=2))
    assert policy.missing(request((approval("lead@x"), approval("LEAD@x ")))) == 1
    assert policy.satisfied(request((approval("lead@x"), approval("ops@x"))))


def test_digest_prefixes_people_type() -> None:
    assert digest_prefix("sha256:" + "A" * 12, 12) == "a" * 12
    assert digest_prefix(" " + "a" * 64, 12) == "a" * 64
    assert digest_prefix("a" * 11, 12) is None
    assert digest_prefix("a" * 65, 12) is None
    assert digest_prefix("v1.0.0", 1) is None
    assert digest_prefix("abcdef0", 7) == "abcdef0"


def test_approval_is_refused_when_the_request_is_not_what_was_reviewed() -> None:
    assert reviewed(request(), DIGEST)
    assert reviewed(request(), "a" * 12)
    assert reviewed(request(), "sha256:" + "a" * 20)
    other = reviewed(request(), OTHER)
    assert not other
    assert "sha256:aaaaaaaaaaaa" in other.reason and "sha256:bbbbbbbbbbbb" in other.reason
    assert "dockyard status" in other.reason
    assert "12 hex" in reviewed(request(), "aaaa").reason
