"""One deployment, end to end: endpoint → snapshot → ledger → deployer → ledger → audit.

Shared by automatic deployment after a run, approvals, promotion and rollback, so every
path records the same things: a ledger row that is ``deploying`` before the daemon is
touched, the outcome, an audit entry, and a log kept as an extra stage of the run
(``deploy-<environment>``) that ``dockyard logs`` and the window show.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, field, replace
from pathlib import Path

from dockyard.core.errors import (
    DockyardError,
    InfrastructureError,
    PipelineFailed,
    UserInputError,
)
from dockyard.core.model import Run, Stage, StageStatus, utcnow
from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.core.redaction import redact
from dockyard.core.releases import Deployment, DeploymentStatus, Release
from dockyard.engine.deploy import ConfigSnapshot, DeploymentRequest, build_snapshot
from dockyard.engine.deploy.deployers import deployer_for
from dockyard.engine.deploy.pins import pin_dependents
from dockyard.engine.deploy.spec import StackFile
from dockyard.engine.endpoints.client import open_client
from dockyard.engine.endpoints.registry import EndpointRegistry
from dockyard.engine.events import CancelToken, EventSink, StageChanged
from dockyard.engine.gitsource import GitSource
from dockyard.engine.pipeline.compose_endpoint import compose_environment
from dockyard.engine.release.config import pipeline_at, settings_of, unroutable_image
from dockyard.engine.release.deploy_lock import Notify, environment_locked, log_waiting
from dockyard.engine.secrets import NOT_SET, SecretStore
from dockyard.store.audit import AuditLog
from dockyard.store.database import Database
from dockyard.store.ledger import DeploymentLock, SqliteReleaseLedger
from dockyard.store.logs import StageLogWriter, stage_log_path
from dockyard.store.runs import RunStore
from dockyard.store.shared_logs import share_log


@dataclass(frozen=True)
class Attached:
    """The configuration attached at deploy time, and the secret values it needs."""

    snapshot: ConfigSnapshot
    secret_values: Mapping[str, str]  # only the secrets that have a value

    @property
    def not_set(self) -> list[str]:
        """Secrets without a value (only an approval request may be made so)."""
        return sorted(name for name, mark in self.snapshot.secrets.items() if mark == NOT_SET)


def attach_release(
    home: Path,
    repo: str,
    env: EnvironmentConfig,
    release: Release,
    secrets: SecretStore,
    *,
    allow_not_set: bool = False,
) -> Attached:
    """The snapshot of ``release`` (built from its commit), deployed with ``env`` (the
    settings the deploy uses), and the keyring's current values.

    The one rule for every snapshot of a release (its request, ``promote``, ``approve``,
    a retry, the automatic deployment after a run): what ships is the release's own
    commit, its files and its environment's configuration (``env_file``, ``configs``,
    ``secrets``, …) as that commit's dockyard.yml declares them; where it goes (host and
    mode) is ``env``'s, so a later commit can move the environment but not change what an
    approval covers. An environment that commit does not declare is taken as ``env``.

    ``allow_not_set``: a secret without a value (or no keyring at all) is recorded as
    ``NOT_SET`` instead of refused; for approval requests, which wait for it.
    """
    commit = release.commit
    pipeline = pipeline_at(home, repo, commit)
    declared = next((e for e in pipeline.environments if e.name == env.name), env)
    _require_stack_file(repo, env, declared, release)
    aimed = replace(declared, host=env.host, mode=env.mode)
    if allow_not_set:
        found = {name: secrets.find_quietly(repo, env.name, name) for name in aimed.secrets}
    else:
        found = {name: secrets.get(repo, env.name, name) for name in aimed.secrets}
    marks = secrets.fingerprints().marks(found)
    # A stack's app service may be the one whose build: is the pipeline's own.
    build = pipeline.build if aimed.compose else None
    with GitSource(repo, home, fetch=False) as source:
        snapshot = build_snapshot(aimed, lambda path: source.read_file(commit, path), marks, build)
    if snapshot.stack is not None:
        snapshot = replace(snapshot, stack=_pinned(home, aimed, snapshot.stack))
    return Attached(snapshot, {name: value for name, value in found.items() if value is not None})


def _require_stack_file(
    repo: str, env: EnvironmentConfig, declared: EnvironmentConfig, release: Release
) -> None:
    """Refuse, before anything is recorded, a release whose commit has no compose file for
    an environment that is a stack now (it moved to ``mode: stack`` since): a stack is its
    compose file's services, and that commit has none to deploy."""
    if env.mode == "stack" and declared.compose is None:
        raise UserInputError(
            f"{release.label} was built before {env.name} moved to stack mode and has no "
            f"stack file for it; release a new one through the pipeline (dockyard run {repo})."
        )


def _pinned(home: Path, env: EnvironmentConfig, stack: StackFile) -> StackFile:
    """The dependents' tags resolved to digests on the environment's host (``pins``)."""
    client = open_client(EndpointRegistry(home).get(env.host))
    try:
        return pin_dependents(client, stack, env.name)
    finally:
        client.close()


def attach_recorded(
    repo: str, env: EnvironmentConfig, config: Mapping[str, object], secrets: SecretStore
) -> tuple[Attached, list[str]]:
    """The recorded snapshot, with today's secret values (values are never kept), aimed
    where ``env`` lives now (its host and mode).

    Returns notes for the log when a secret changed since: the snapshot recorded with the
    new deployment carries the fingerprints of what was really applied.
    """
    recorded = ConfigSnapshot.from_json(dict(config))
    values = {name: secrets.get(repo, env.name, name) for name in recorded.secrets}
    fingerprints = secrets.fingerprints()
    applied = fingerprints.marks(values)
    notes = [
        f"Secret {name} changed since that release; its current value is used "
        "(Dockyard never keeps secret values)."
        for name, value in values.items()
        if not fingerprints.matches(recorded.secrets.get(name, NOT_SET), value)
    ]
    return Attached(replace(recorded, secrets=applied).aimed(env), values), notes


class DeployStage:
    """The ``deploy-<env>`` stage of a run: its log file, status and live events."""

    def __init__(
        self,
        home: Path,
        db: Database,
        run: Run | None,
        environment: str,
        sink: EventSink,
        kind: str = "deploy",
    ) -> None:
        self.db = db
        self.runs = RunStore(db)
        self.run = run
        self.sink = sink
        self.stage = Stage(f"{kind}-{environment}", StageStatus.RUNNING, started=utcnow())
        self.writer: StageLogWriter | None = None
        if run is not None:
            self.writer = StageLogWriter(stage_log_path(home, run.id, self.stage.name))
            self._publish()

    def __call__(self, line: str) -> None:
        clean = redact(line)
        if self.writer is not None and self.run is not None:
            self.writer.append([clean])

    def finish(self, status: StageStatus, summary: str = "") -> None:
        self.stage.status, self.stage.summary = status, redact(summary)
        self.stage.finished = utcnow()
        if self.run is not None:
            self._publish()
        if self.writer is not None:
            self.writer.close()
            if self.run is not None:
                share_log(self.db, self.writer.path, self.run.id, self.stage.name)
            self.writer = None

    def _publish(self) -> None:
        assert self.run is not None
        if self.stage not in self.run.stages:
            self.run.stages.append(self.stage)
        self.runs.save_stage(self.run.id, self.stage)
        self.sink(StageChanged(self.run.id, deepcopy(self.stage)))


@dataclass
class Deploying:
    """Everything a deployment needs from the service that starts it."""

    home: Path
    db: Database
    identity: str
    sink: EventSink
    cancel: CancelToken
    wait: bool = True  # for an environment another deployment holds; False: refuse
    on_wait: Notify = log_waiting
    _held: dict[tuple[str, str], DeploymentLock] = field(default_factory=dict, init=False)

    @contextmanager
    def exclusive(self, repo: str, environment: str, what: str) -> Iterator[None]:
        """Hold the environment's deployment lock (re-entrant within this Deploying)."""
        key = (repo, environment)
        if key in self._held:
            yield
            return
        with environment_locked(
            SqliteReleaseLedger(self.db), repo, environment, what=what, identity=self.identity,
            wait=self.wait, on_wait=self.on_wait, cancel=self.cancel,
        ) as lock:  # fmt: skip
            self._held[key] = lock
            try:
                yield
            finally:
                self._held.pop(key, None)

    def deploy(
        self,
        *,
        repo: str,
        env: EnvironmentConfig,
        position: int,
        target: Release,
        attached: Attached,
        run: Run | None,
        approved_by: Sequence[str] = (),
        rollback: bool = False,
        rolled_back_from: int | None = None,
        comment: str = "",
        notes: Sequence[str] = (),
    ) -> Deployment:
        """Deploy and record; raises (after recording the failure) when it did not work."""
        self._require_image_route(repo, env, target)
        with self.exclusive(repo, env.name, target.label):
            return self._deploy(
                repo, env, position, target, attached, run, approved_by, rollback,
                rolled_back_from, comment, notes,
            )  # fmt: skip

    def _deploy(
        self,
        repo: str,
        env: EnvironmentConfig,
        position: int,
        target: Release,
        attached: Attached,
        run: Run | None,
        approved_by: Sequence[str],
        rollback: bool,
        rolled_back_from: int | None,
        comment: str,
        notes: Sequence[str],
    ) -> Deployment:
        ledger = SqliteReleaseLedger(self.db)
        record = ledger.start_deployment(
            repo=repo, environment=env.name, digest=target.digest, image=target.image,
            commit=target.commit, tag=target.tag, run_id=target.run_id,
            config=attached.snapshot.to_json(), deployed_by=self.identity,
            approved_by=approved_by, rollback=rollback, rolled_back_from=rolled_back_from,
            comment=comment,
        )  # fmt: skip
        kind = "rollback" if rollback else "deploy"
        stage = DeployStage(self.home, self.db, run, env.name, self.sink, kind)
        what = "Rolling back" if rollback else "Deploying"
        stage(f"{what} {target.label} ({target.image}) to {env.name} on {env.host} ({env.mode})")
        for note in notes:
            stage(note)
        began = time.monotonic()
        try:
            self._run_deployer(env, record.id, repo, target, attached, approved_by, rollback, stage)
        except DockyardError as exc:
            stage(f"ERROR: {exc.message}")
            stage.finish(StageStatus.FAILED, exc.message)
            failed = ledger.finish_deployment(record.id, DeploymentStatus.FAILED, exc.message)
            self._audit(failed, env, position, "failed", exc.message)
            raise
        except Exception as exc:
            reason = f"Deploying to {env.name} failed unexpectedly: {exc}"
            stage(f"ERROR: {reason}")
            stage.finish(StageStatus.FAILED, reason)
            failed = ledger.finish_deployment(record.id, DeploymentStatus.FAILED, reason)
            self._audit(failed, env, position, "failed", reason)
            raise PipelineFailed(reason) from exc
        if not ledger.holds_environment(self._held[(repo, env.name)]):
            self._lock_lost(ledger, record.id, repo, env, position, stage)
        stage(f"{env.name} runs {target.label} ({time.monotonic() - began:.1f}s).")
        stage.finish(StageStatus.SUCCEEDED, f"{target.label} deployed")
        done = ledger.finish_deployment(record.id, DeploymentStatus.DEPLOYED)
        self._audit(done, env, position, "deployed", "")
        return done

    def _lock_lost(
        self,
        ledger: SqliteReleaseLedger,
        deployment_id: int,
        repo: str,
        env: EnvironmentConfig,
        position: int,
        stage: DeployStage,
    ) -> None:
        """The environment's lock ended while it deployed (on the team ledger: the server
        ended its session): not this deployment's own success. Left interrupted, the next
        command records what the daemon runs, as after a crash."""
        reason = (
            f"This deployment lost its lock on {env.name} while it ran (the team server closed "
            "its session, or another Dockyard took it as stale), so another deployment may "
            f"have run there at the same time; see dockyard status {repo} for what runs."
        )
        stage(f"ERROR: {reason}")
        stage.finish(StageStatus.FAILED, reason)
        lost = ledger.finish_deployment(deployment_id, DeploymentStatus.INTERRUPTED, reason)
        self._audit(lost, env, position, "interrupted", reason)
        raise InfrastructureError(reason)

    def _require_image_route(self, repo: str, env: EnvironmentConfig, target: Release) -> None:
        """Refuse, before anything is recorded, an image without a registry for another host.

        Runs check this at checkout; this covers approvals and rollbacks of releases
        recorded before. When git cannot be read, the deployer's own check still applies.
        """
        if "@" in target.image:
            return  # name@digest: any host can pull it
        try:
            build_host = pipeline_at(self.home, repo, target.commit).build.host
        except DockyardError:
            return
        if build_host != env.host:
            raise UserInputError(unroutable_image(env, build_host))

    def _run_deployer(
        self,
        env: EnvironmentConfig,
        deployment_id: int,
        repo: str,
        target: Release,
        attached: Attached,
        approved_by: Sequence[str],
        rollback: bool,
        log: Callable[[str], None],
    ) -> None:
        endpoint = EndpointRegistry(self.home).get(env.host)
        replaces = self._running_before(repo, env, attached)
        # A compose file is deployed by the docker/compose CLI on the same endpoint, as
        # compose tests are. The release's own snapshot says so: a rollback while git
        # cannot be read knows the environment only from the audit trail.
        with_file = attached.snapshot.stack or (replaces and replaces.snapshot.stack)
        cli_env = compose_environment(endpoint) if with_file else None
        client = open_client(endpoint)
        try:
            request = DeploymentRequest(
                repo=repo, environment=env.name, image=target.image, digest=target.digest,
                commit=target.commit, tag=target.tag, run_id=target.run_id,
                deployment_id=deployment_id, deployed_by=self.identity,
                approved_by=tuple(approved_by), rollback=rollback, snapshot=attached.snapshot,
                secret_values=attached.secret_values, replaces=replaces,
            )  # fmt: skip
            deployer_for(env.mode, client, cli_env).deploy(request, log, self.cancel)
        finally:
            client.close()

    def _running_before(
        self, repo: str, env: EnvironmentConfig, attached: Attached
    ) -> DeploymentRequest | None:
        """The release the ledger records as running, to be put back as a whole if this one
        fails: as it was deployed and approved (its snapshot, deployment id and labels), so
        nothing unapproved runs and the ledger and the daemon agree on it afterwards. Only
        in the same mode: another mode's deployer does not know its objects."""
        current = SqliteReleaseLedger(self.db).current_deployment(repo, env.name)
        if current is None or not current.config:
            return None
        snapshot = ConfigSnapshot.from_json(current.config)
        if snapshot.mode != env.mode:
            return None
        # Secret versions are named by their value's fingerprint: the earlier ones exist
        # while it runs; a value is passed on only where it is the very one recorded.
        values = {
            name: value
            for name, value in attached.secret_values.items()
            if snapshot.secrets.get(name) == attached.snapshot.secrets.get(name)
        }
        return DeploymentRequest(
            repo=repo, environment=env.name, image=current.image, digest=current.digest,
            commit=current.commit, tag=current.tag, run_id=current.run_id,
            deployment_id=current.id, deployed_by=current.deployed_by,
            approved_by=current.approved_by, rollback=current.rollback, snapshot=snapshot,
            secret_values=values,
        )  # fmt: skip

    def _audit(
        self,
        deployment: Deployment,
        env: EnvironmentConfig,
        position: int,
        outcome: str,
        error: str,
    ) -> None:
        AuditLog(self.db).append(
            "rollback" if deployment.rollback else "deploy",
            actor=self.identity,
            repo=deployment.repo,
            environment=env.name,
            details={
                "deployment": deployment.id,
                "outcome": outcome,
                "error": error,
                "digest": deployment.digest,
                "image": deployment.image,
                "commit": deployment.commit,
                "tag": deployment.tag,
                "run": deployment.run_id,
                "approved_by": list(deployment.approved_by),
                "rolled_back_from": deployment.rolled_back_from,
                "comment": deployment.comment,
                "config_fingerprint": ConfigSnapshot.from_json(deployment.config).fingerprint(),
                "target": str(deployment.target or ""),
                "environment_config": settings_of(env, position),
            },
        )
