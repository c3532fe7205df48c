"""The release service: promotion after a run, approvals, rollback, pins and status.

Policies (what may happen) live in ``dockyard.core.policy``; this module applies them,
deploys through ``engine.release.deploying`` and records every step in the ledger and the audit
trail. Which environments a repository has is decided in ``engine.release.config``.

A rejected release marks its run ``failed`` with the rejection as its error: the run did
not deliver what it was started for, and the list of runs should say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from dockyard.core.errors import Cancelled, DockyardError, InfrastructureError, UserInputError
from dockyard.core.model import ImageRecord, Run, RunStatus, utcnow
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.core.pipeline_order import promotes_from
from dockyard.core.policy import ApprovalPolicy, PromotionPolicy, reviewed
from dockyard.core.releases import (
    ApprovalRequest,
    ApprovalStatus,
    Deployment,
    DeploymentOutcome,
    OutcomeStatus,
)
from dockyard.engine.deploy import ConfigSnapshot, diff_snapshots
from dockyard.engine.events import CancelToken, EventSink, ignore_events
from dockyard.engine.pipeline.delivery import Delivered, DeliveryResult
from dockyard.engine.release.config import (
    approval_rules,
    environment_named,
    environments_of,
    pipeline_at,
    settings_of,
)
from dockyard.engine.release.context import ReleaseContext
from dockyard.engine.release.deploy_lock import Notify, log_waiting
from dockyard.engine.release.deploying import (
    Attached,
    Deploying,
    attach_recorded,
    attach_release,
)
from dockyard.engine.release.results import (
    RecoveryReport,
    ReleaseChanges,
    ReleaseOutcome,
    RepoStatus,
)
from dockyard.engine.release.retry import check_retry, retry_deployment
from dockyard.engine.release.rollback import RollbackChoices, roll_back, rollback_choices
from dockyard.engine.release.status import changes_between, recover_interrupted, repo_status
from dockyard.engine.secrets import NOT_SET, SecretStore
from dockyard.store.audit import AuditLog
from dockyard.store.database import Database
from dockyard.store.images import ImageStore
from dockyard.store.ledger import SqliteReleaseLedger
from dockyard.store.runs import RunStore


class ReleaseService(ReleaseContext):
    def __init__(
        self, *, home: Path, db: Database, identity: str, secrets: SecretStore | None = None
    ) -> None:
        secrets = secrets or SecretStore(home=home, db=db)
        super().__init__(home, db, identity, SqliteReleaseLedger(db), AuditLog(db), secrets)
        # When another deployment holds an environment: wait (telling on_wait), or refuse.
        self.wait = True
        self.on_wait: Notify = log_waiting

    def deploying(
        self, sink: EventSink = ignore_events, cancel: CancelToken | None = None
    ) -> Deploying:
        deploying = Deploying(self.home, self.db, self.identity, sink, cancel or CancelToken())
        deploying.wait, deploying.on_wait = self.wait, self.on_wait
        return deploying

    # -- promotion ---------------------------------------------------------------------

    def after_delivery(self, delivered: Delivered) -> DeliveryResult:
        """The runner's delivery hook: deploy to automatic environments, stop at a gate."""
        outcomes: list[DeploymentOutcome] = []
        deploying = self.deploying(delivered.sink, delivered.cancel)
        run = delivered.run
        try:
            status = self._promote(
                delivered.image, delivered.environments, 0, run, run.started_by, deploying,
                outcomes,
            )  # fmt: skip
        except Cancelled as exc:
            return DeliveryResult(RunStatus.CANCELLED, exc, tuple(outcomes))
        except DockyardError as exc:
            return DeliveryResult(RunStatus.FAILED, exc, tuple(outcomes))
        return DeliveryResult(status, None, tuple(outcomes))

    def _promote(
        self,
        image: ImageRecord,
        environments: Sequence[EnvironmentConfig],
        start: int,
        run: Run | None,
        requested_by: str,
        deploying: Deploying,
        outcomes: list[DeploymentOutcome],
    ) -> RunStatus:
        """Send ``image`` through environments[start:] in promotion order, adding each
        environment's outcome to ``outcomes``."""
        repo = image.repo
        for position, env in enumerate(environments):
            if position < start:
                continue
            history = self.ledger.deployments(repo, env.after, 500) if env.after else []
            pin = self.ledger.pin_of(repo, env.name)
            decision = PromotionPolicy(env).accepts(image, history)
            if env.auto and pin is not None:
                why = "pinned after a rollback; unpin to resume"
                outcomes.append(_outcome(env, OutcomeStatus.PINNED, image, why))
                continue
            if not decision:
                outcomes.append(_outcome(env, OutcomeStatus.SKIPPED, image, decision.reason))
                continue
            if env.auto:
                target = image.release
                try:
                    attached = attach_release(self.home, repo, env, image.release, self.secrets)
                    deploying.deploy(
                        repo=repo, env=env, position=position, target=target,
                        attached=attached, run=run,
                    )  # fmt: skip
                except DockyardError as exc:
                    outcomes.append(_outcome(env, OutcomeStatus.FAILED, image, exc.message))
                    raise
                outcomes.append(_outcome(env, OutcomeStatus.DEPLOYED, image))
                continue
            self._request_approval(env, position, image, requested_by)
            outcomes.append(_outcome(env, OutcomeStatus.AWAITING_APPROVAL, image))
            return RunStatus.AWAITING_APPROVAL
        return RunStatus.SUCCEEDED

    def _request_approval(
        self, env: EnvironmentConfig, position: int, image: ImageRecord, requested_by: str
    ) -> ApprovalRequest:
        # A secret not set yet (or no keyring here) does not stop the run: the request
        # records it as not set, and approving waits until the approver's keyring has it.
        attached = attach_release(
            self.home, image.repo, env, image.release, self.secrets, allow_not_set=True
        )
        snapshot = attached.snapshot
        request = self.ledger.request_approval(
            repo=image.repo, environment=env.name, run_id=image.run_id, digest=image.digest,
            image=image.reference, commit=image.commit, tag=image.tag,
            config_fingerprint=snapshot.fingerprint(), config=snapshot.to_json(),
            requested_by=requested_by, expires=ApprovalPolicy(env.approval).expires(utcnow()),
        )  # fmt: skip
        self.audit.append(
            "approval-requested",
            actor=requested_by,
            repo=image.repo,
            environment=env.name,
            details={
                "request": request.id, "run": image.run_id, "digest": image.digest,
                "tag": image.tag, "commit": image.commit,
                "config_fingerprint": request.config_fingerprint,
                "target": str(snapshot.target or ""),
                "environment_config": settings_of(env, position),
                "secrets_not_set": attached.not_set,
            },
        )  # fmt: skip
        return request

    def promote(self, repo: str, environment: str, digest: str) -> ReleaseOutcome:
        """Send a recorded digest onward: deploy where automatic, else request an approval."""
        environments = environments_of(self.home, self.db, repo)
        env = environment_named(environments, repo, environment)
        image = ImageStore(self.db).by_digest(repo, digest)
        if image is None:
            raise UserInputError(f"{digest} was never built for {repo}; run its pipeline first.")
        position = environments.index(env)
        outcomes: list[DeploymentOutcome] = []
        self._promote(
            image, environments[: position + 1], position, None, self.identity, self.deploying(),
            outcomes,
        )  # fmt: skip
        outcome = outcomes[-1]
        if outcome.status in (OutcomeStatus.SKIPPED, OutcomeStatus.PINNED):
            raise UserInputError(outcome.reason)
        deployment = self.ledger.current_deployment(repo, environment)
        label = image.release.label
        if outcome.status is OutcomeStatus.DEPLOYED:
            return ReleaseOutcome(deployment, f"{environment} runs {label}.")
        return ReleaseOutcome(None, f"{label} waits for approval in {environment}.")

    def promotable_digest(self, repo: str, environment: str) -> str:
        """What ``promote`` sends by default: the digest running in the environment this one
        comes after (``after:``, else the one before it in promotion order)."""
        environments = environments_of(self.home, self.db, repo)
        source = promotes_from(
            environments, environment_named(environments, repo, environment).name
        )
        current = self.ledger.current_deployment(repo, source) if source else None
        if current is None:
            where = f"nothing runs in {source}" if source else f"{environment} comes first"
            raise UserInputError(
                f"Nothing to promote to {environment} ({where}); name a digest with --digest."
            )
        return current.digest

    # -- approvals ---------------------------------------------------------------------

    def _pending(self, repo: str, environment: str, digest: str | None = None) -> ApprovalRequest:
        """The request waiting in the environment; with ``digest`` (what the person
        reviewed), refused unless it still asks for that digest."""
        pending = self.ledger.pending_approval(repo, environment)
        latest = self.ledger.latest_request(repo, environment) if pending is None else None
        if latest is not None and latest.status is ApprovalStatus.EXPIRED:
            expired = ApprovalPolicy(None).may_approve(latest, self.identity, utcnow())
            raise UserInputError(expired.reason)
        if pending is None:
            raise UserInputError(
                f"Nothing waits for approval in {environment} of {repo}; "
                f"see: dockyard status {repo}"
            )
        if digest is not None and not (still := reviewed(pending, digest)):
            raise UserInputError(still.reason)
        return pending

    def approve(
        self, repo: str, environment: str, comment: str = "", *, digest: str | None = None
    ) -> ReleaseOutcome:
        """Approve the pending release; with ``digest`` (what the approver reviewed), only
        if the pending request is still that digest."""
        environments = environments_of(self.home, self.db, repo)
        env = environment_named(environments, repo, environment)
        request = self._pending(repo, environment, digest)
        policy = ApprovalPolicy(approval_rules(self.home, repo, env, request))
        pin = self.ledger.pin_of(repo, environment)
        decision = policy.may_approve(request, self.identity, utcnow(), pin)
        if not decision:
            raise UserInputError(decision.reason)
        attached = self.attach_for_request(repo, env, request)
        request = self._bind_secrets(request, attached)
        fingerprint = attached.snapshot.fingerprint()
        if fingerprint != request.config_fingerprint:
            self._supersede(env, environments.index(env), request, attached.snapshot)
        request = self.ledger.add_approval(
            request.id, self.identity, comment, request.digest, fingerprint
        )
        self.audit.append(
            "approve", actor=self.identity, repo=repo, environment=environment,
            details={"request": request.id, "digest": request.digest, "comment": comment,
                     "config_fingerprint": fingerprint},
        )  # fmt: skip
        satisfied = policy.satisfied(request)
        if not satisfied:
            goes = f"{satisfied.reason} It goes to {attached.snapshot.target}."
            return ReleaseOutcome(None, goes)
        return self._deploy_approved(environments, env, request, attached)

    def attach_for_request(
        self, repo: str, env: EnvironmentConfig, request: ApprovalRequest
    ) -> Attached:
        """Today's snapshot of what the request would deploy (secrets may have changed)."""
        try:
            pipeline_at(self.home, repo, request.commit)
        except InfrastructureError:
            # git unreadable: files cannot have changed; secrets still can.
            attached, _notes = attach_recorded(repo, env, request.config, self.secrets)
            return attached
        return attach_release(self.home, repo, env, request.release, self.secrets)

    def _bind_secrets(self, request: ApprovalRequest, attached: Attached) -> ApprovalRequest:
        """Bind the request to the secret fingerprints computed now, where that changes
        nothing anyone was shown: a secret that was not set when the request was made
        (the pending request said so), or an old-format fingerprint of the same value.

        Only when the snapshot then equals today's exactly: any other difference (files,
        values, a secret set before and changed since) is left for ``approve`` to refuse.
        """
        recorded = ConfigSnapshot.from_json(dict(request.config))
        fingerprints = self.secrets.fingerprints()
        now_set, remarked = [], {}
        for name, mark in recorded.secrets.items():
            value, new_mark = attached.secret_values.get(name), attached.snapshot.secrets.get(name)
            if value is None or new_mark is None or mark == new_mark:
                continue
            if mark == NOT_SET:
                now_set.append(name)
            elif not fingerprints.matches(mark, value):
                continue
            remarked[name] = new_mark
        bound = replace(recorded, secrets={**recorded.secrets, **remarked})
        if not remarked or bound.fingerprint() != attached.snapshot.fingerprint():
            return request
        rebound = self.ledger.rebind_request(
            request.id, was_fingerprint=request.config_fingerprint,
            config_fingerprint=bound.fingerprint(), config=bound.to_json(),
        )  # fmt: skip
        self.audit.append(
            "approval-rebound", actor=self.identity, repo=request.repo,
            environment=request.environment,
            details={"request": request.id, "secrets_set": sorted(now_set),
                     "config_fingerprint_was": request.config_fingerprint,
                     "config_fingerprint": rebound.config_fingerprint},
        )  # fmt: skip
        return rebound

    def _supersede(
        self, env: EnvironmentConfig, position: int, request: ApprovalRequest, new: ConfigSnapshot
    ) -> None:
        """Refuse an approval of what changed since it was shown (its configuration, or its
        target: a newer commit's dockyard.yml moved the environment), audited."""
        recorded = ConfigSnapshot.from_json(dict(request.config))
        if new.target is not None and new.target != recorded.target:
            changed = f"{env.name}'s target changed"
            what = new.target.changes_from(recorded.target)
        else:
            changed = f"The configuration of {env.name} changed"
            changes = diff_snapshots(recorded, new)
            what = "; ".join(changes) or "the configuration fingerprint differs"
        if self.db.dialect == "postgres":
            # The team server records whoever asks as the requester: a replacement made here
            # would be the approver's own request, which they may not approve. The change is
            # the requester's to bring back for review.
            reason = (
                f"{changed} since this release was requested ({what}); the approval did not "
                f"count. Ask {request.requested_by} to run the pipeline again (or promote the "
                "digest) so the change is reviewed."
            )
            replacement = None
        else:
            image = ImageRecord(
                request.repo, request.commit, request.digest, _name_of(request.image),
                request.tag, request.run_id, True,
            )  # fmt: skip
            replacement = self._request_approval(env, position, image, request.requested_by)
            reason = (
                f"{changed} since this release was shown for approval ({what}); the approval "
                f"did not count: review request {replacement.id} (dockyard status "
                f"{request.repo}) and approve again."
            )
        self.audit.append(
            "approval-refused", actor=self.identity, repo=request.repo, environment=env.name,
            details={"request": request.id, "digest": request.digest, "reason": reason,
                     "replaced_by": replacement.id if replacement else None},
        )  # fmt: skip
        raise UserInputError(reason)

    def _deploy_approved(
        self,
        environments: Sequence[EnvironmentConfig],
        env: EnvironmentConfig,
        request: ApprovalRequest,
        attached: Attached,
    ) -> ReleaseOutcome:
        deploying = self.deploying()
        target = request.release
        # Taken before the approval is resolved: refused (--no-wait), the approval still waits.
        with deploying.exclusive(request.repo, env.name, target.label):
            self._still_pending(request)
            self.ledger.resolve_approval(request.id, ApprovalStatus.APPROVED, by=self.identity)
            return self.deploy_resolved(environments, env, request, attached, deploying)

    def _still_pending(self, request: ApprovalRequest) -> None:
        """After waiting for the environment, the request may have been replaced."""
        now = self.ledger.approval_request(request.id)
        if now is not None and now.status is not ApprovalStatus.PENDING:
            raise UserInputError(
                f"The release waiting for {request.environment} changed while this approval "
                f"waited (request {request.id} is {now.status}); see: dockyard status "
                f"{request.repo}"
            )

    def deploy_resolved(
        self,
        environments: Sequence[EnvironmentConfig],
        env: EnvironmentConfig,
        request: ApprovalRequest,
        attached: Attached,
        deploying: Deploying,
        comment: str = "",
    ) -> ReleaseOutcome:
        """Deploy an approved request (the caller holds the environment's lock) and send
        the image onward; the run ends with the outcome."""
        rules = approval_rules(self.home, request.repo, env, request)
        approvers = [a.approver for a in ApprovalPolicy(rules).counting(request)]
        runs = RunStore(self.db)
        run = runs.get(request.run_id)
        target = request.release
        position = environments.index(env)
        try:
            deployment = deploying.deploy(
                repo=request.repo, env=env, position=position, target=target,
                attached=attached, run=run, approved_by=approvers, comment=comment,
            )  # fmt: skip
            image = ImageStore(self.db).by_digest(request.repo, request.digest)
            status = RunStatus.SUCCEEDED
            if image is not None:
                status = self._promote(
                    image, environments, position + 1, run, request.requested_by, deploying, []
                )
        except DockyardError as exc:
            self._settle_run(runs, run, RunStatus.FAILED, exc.message)
            raise
        self._settle_run(runs, run, status, "")
        return ReleaseOutcome(deployment, f"{env.name} runs {target.label} on {deployment.target}, "
                              f"approved by {', '.join(approvers)}.")  # fmt: skip

    @staticmethod
    def _settle_run(runs: RunStore, run: Run | None, status: RunStatus, error: str) -> None:
        if run is None:
            return
        run.status, run.error = status, error
        run.finished = utcnow()
        runs.save(run)

    def retry(self, repo: str, environment: str, *, digest: str | None = None) -> ReleaseOutcome:
        """Deploy the failed approved release again under its approval (``engine.release.retry``);
        with ``digest`` (what the person looked at), only if that is the release."""
        if digest is not None:
            approved = check_retry(self.ledger, repo, environment, utcnow()).request
            if approved is not None and not (still := reviewed(approved, digest)):
                raise UserInputError(still.reason)
        return retry_deployment(self, repo, environment)

    def reject(
        self, repo: str, environment: str, comment: str, *, digest: str | None = None
    ) -> ApprovalRequest:
        if not comment.strip():
            raise UserInputError("A rejection needs a reason; give it with --comment TEXT.")
        environment_named(environments_of(self.home, self.db, repo), repo, environment)
        request = self._pending(repo, environment, digest)
        rejected = self.ledger.resolve_approval(
            request.id, ApprovalStatus.REJECTED, by=self.identity, comment=comment
        )
        self.audit.append(
            "reject", actor=self.identity, repo=repo, environment=environment,
            details={"request": request.id, "digest": request.digest, "comment": comment},
        )  # fmt: skip
        runs = RunStore(self.db)
        self._settle_run(
            runs, runs.get(request.run_id), RunStatus.FAILED,
            f"Rejected for {environment} by {self.identity}: {comment}",
        )  # fmt: skip
        return rejected

    # -- rollback, pins, history, status -------------------------------------------------

    def rollback(
        self,
        repo: str,
        environment: str,
        to: str | None,
        comment: str,
        *,
        sink: EventSink = ignore_events,
    ) -> ReleaseOutcome:
        return roll_back(self, repo, environment, to, comment, sink)

    def rollback_choices(self, repo: str, environment: str) -> RollbackChoices:
        """The releases a rollback may go to, what runs now, and the default target."""
        return rollback_choices(self, repo, environment)

    def unpin(self, repo: str, environment: str) -> None:
        environment_named(environments_of(self.home, self.db, repo), repo, environment)
        if not self.ledger.unpin(repo, environment):
            raise UserInputError(f"{environment} of {repo} is not pinned; nothing to unpin.")
        self.audit.append("unpin", actor=self.identity, repo=repo, environment=environment)

    def releases(self, repo: str, environment: str) -> list[Deployment]:
        """Earlier releases of the environment (newest first), for the rollback list."""
        return [d for d in self.ledger.deployments(repo, environment, 200) if d.status.was_released]

    def status(self, repo: str) -> RepoStatus:
        """What runs where: the ledger joined with what each daemon reports. Only reads:
        recovery of interrupted work is ``recover``, run at start-up."""
        return repo_status(self, repo)

    def recover(self) -> RecoveryReport:
        """Settle runs and deployments a crashed process left in flight (see
        ``recover_interrupted``): for start-up, never a side effect of a read."""
        return recover_interrupted(self.home, self.db, self.identity, self.secrets)

    def changes_between(
        self, repo: str, environment: str, target: Deployment | ApprovalRequest
    ) -> ReleaseChanges:
        return changes_between(self, repo, environment, target)


def _name_of(reference: str) -> str:
    return reference.split("@", 1)[0] if "@" in reference else ""


def _outcome(
    env: EnvironmentConfig, status: OutcomeStatus, image: ImageRecord, why: str = ""
) -> DeploymentOutcome:
    return DeploymentOutcome(env.name, status, image.digest, why)
