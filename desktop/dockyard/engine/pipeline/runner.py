"""Runs one pipeline: checkout → build → test → deliver, recorded and streamed.

The runner owns its connection to Docker (one per worker; Docker's SDK only where it is
needed, ``sdkclient`` says why), writes every log line to disk as it arrives (redacted
first), records each stage in the store and reports plain events.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Callable, Sequence
from copy import deepcopy
from pathlib import Path

from dockyard.core.errors import Cancelled, DockyardError, UserInputError
from dockyard.core.locations import default_name, normalise_location
from dockyard.core.model import (
    STAGE_NAMES,
    ImageRecord,
    Run,
    RunStatus,
    Stage,
    StageStatus,
    iso,
    utcnow,
)
from dockyard.core.pipeline_file import (
    BUILD_SECRETS_SCOPE,
    PipelineConfig,
    expand_build_args,
)
from dockyard.core.pipeline_load import load_pipeline
from dockyard.core.redaction import redact
from dockyard.core.releases import DeploymentOutcome, release_label
from dockyard.engine.commitfiles import referenced_files
from dockyard.engine.endpoints.daemon_api import DaemonApi
from dockyard.engine.endpoints.reading import LONG_TIMEOUT, open_api
from dockyard.engine.endpoints.registry import Endpoint, EndpointRegistry
from dockyard.engine.events import (
    CancelToken,
    EventSink,
    RunChanged,
    StageChanged,
    ignore_events,
)
from dockyard.engine.gitsource import GitSource, ResolvedRef
from dockyard.engine.pipeline import build as build
from dockyard.engine.pipeline import deliver, teststage
from dockyard.engine.pipeline.buildkit import BuildRequest
from dockyard.engine.pipeline.compose import compose_project
from dockyard.engine.pipeline.compose_endpoint import compose_environment
from dockyard.engine.pipeline.delivery import Delivered, DeliveryHook, DeliveryResult
from dockyard.engine.pipeline.runqueue import queued
from dockyard.engine.pipeline.sdkclient import LazyClient
from dockyard.engine.pipeline.stagecontext import StageContext
from dockyard.engine.pipeline.testfile import PipelineBuild
from dockyard.engine.pipeline.tools import probe_tools
from dockyard.engine.release.config import require_image_route
from dockyard.engine.secrets import SecretStore
from dockyard.store.database import Database
from dockyard.store.diskspace import keep_reserve, release_reserve
from dockyard.store.failures import store_failure
from dockyard.store.images import ImageStore
from dockyard.store.logs import StageLogWriter, stage_log_path
from dockyard.store.runs import RunStore, new_run_id
from dockyard.store.shared_logs import share_log

log = logging.getLogger("dockyard.pipeline")


class PipelineRunner:
    def __init__(
        self,
        *,
        home: Path,
        db: Database,
        location: str,
        ref: str | None = None,
        started_by: str,
        sink: EventSink = ignore_events,
        cancel: CancelToken | None = None,
        secrets: SecretStore | None = None,
        after_delivery: DeliveryHook | None = None,
    ) -> None:
        self.home = home
        self.db = db
        self.runs = RunStore(db)
        self.sink = sink
        self.cancel = cancel or CancelToken()
        self.secrets = secrets or SecretStore(home=home, db=db)
        self.after_delivery = after_delivery
        self.redact = redact  # every secret value this process knows
        self.error: DockyardError | None = None
        self.deployments: tuple[DeploymentOutcome, ...] = ()  # from the delivery hook
        self.config: PipelineConfig | None = None
        self.resolved: ResolvedRef | None = None
        self.image_id = ""
        self.image: ImageRecord | None = None
        self.location = normalise_location(location)
        self.run_record = Run(
            id=new_run_id(),
            repo=self.location,
            ref=ref or "HEAD",
            started_by=started_by,
            stages=[Stage(name) for name in STAGE_NAMES],
        )

    # -- reporting -------------------------------------------------------------------------

    def _publish_run(self) -> None:
        self.runs.save(self.run_record)
        self.sink(RunChanged(deepcopy(self.run_record)))

    def _publish_stage(self, stage: Stage) -> None:
        self.runs.save_stage(self.run_record.id, stage)
        self.sink(StageChanged(self.run_record.id, deepcopy(stage)))

    # -- running ---------------------------------------------------------------------------

    def run(self) -> Run:
        run = self.run_record
        probe_tools()  # in the background, while the checkout runs
        keep_reserve(self.home)  # room to record the failure should this run fill the disk
        self.runs.create(run)
        self.sink(RunChanged(deepcopy(run)))
        workdir = self.home / "work" / run.id
        try:
            with queued(self.home, run.repo, run.ref, self.cancel):
                run.status = RunStatus.RUNNING
                self._publish_run()
                self._run_stages(workdir)
        except Cancelled as exc:
            self._finish(RunStatus.CANCELLED, exc)
        except DockyardError as exc:
            self._finish(RunStatus.FAILED, exc)
        except Exception as exc:
            failure = store_failure(exc, self.home)
            if failure is None:
                log.exception("run %s failed unexpectedly", run.id)
                self._finish(RunStatus.FAILED, DockyardError(f"Unexpected error: {exc}"))
            else:
                log.warning("run %s: %s", run.id, failure.message)
                shutil.rmtree(workdir, ignore_errors=True)  # room first, then the record
                release_reserve(self.home)
                self._finish(RunStatus.FAILED, failure)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return deepcopy(run)

    def _finish(self, status: RunStatus, error: DockyardError | None) -> None:
        run = self.run_record
        for stage in run.stages:
            if stage.status == StageStatus.RUNNING:
                stage.status = (
                    StageStatus.CANCELLED if status == RunStatus.CANCELLED else StageStatus.FAILED
                )
                stage.finished = utcnow()
                self._publish_stage(stage)
            elif stage.status == StageStatus.PENDING:
                stage.status = StageStatus.SKIPPED
                self._publish_stage(stage)
        run.status = status
        run.finished = utcnow()
        if error is not None:
            self.error = error
            run.error = error.message
        self._publish_run()

    def _run_stages(self, workdir: Path) -> None:
        self._stage("checkout", lambda ctx: self._checkout(ctx, workdir))
        assert self.config is not None
        endpoint = self._build_endpoint()
        client = LazyClient(endpoint)
        try:
            api = open_api(endpoint, timeout=LONG_TIMEOUT, client=client.get)  # or unreachable
        except BaseException:
            client.close()
            raise
        try:
            self._stage("build", lambda ctx: self._build(ctx, api, client, workdir))
            if self.config.test is None:
                self._skip("test", "no test configured (no compose.test.yml and no test: block)")
            else:
                self._stage("test", lambda ctx: self._test(ctx, api, client, workdir))
            tested = self.run_record.stage("test").status == StageStatus.SUCCEEDED
            if self.config.image:
                self._stage("deliver", lambda ctx: self._deliver(ctx, api, tested))
            else:
                self._skip(
                    "deliver", "no image: in dockyard.yml; the local image id is its identity"
                )
                self._record_image(self.image_id, "", tested)
        finally:
            api.close()
            client.close()
        result = DeliveryResult(RunStatus.SUCCEEDED)
        if self.after_delivery is not None and self.image is not None:
            environments = self.config.environments
            result = self.after_delivery(
                Delivered(self.image, environments, self.run_record, self.sink, self.cancel)
            )
        self.deployments = result.deployments
        if result.error is not None:
            self.error = result.error
        self._finish(result.status, result.error if result.status == RunStatus.FAILED else None)

    def _build_endpoint(self) -> Endpoint:
        assert self.config is not None
        return EndpointRegistry(self.home).get(self.config.build.host)

    def _skip(self, name: str, reason: str) -> None:
        stage = self.run_record.stage(name)
        stage.status = StageStatus.SKIPPED
        stage.summary = reason
        self._publish_stage(stage)
        with StageLogWriter(stage_log_path(self.home, self.run_record.id, name)) as writer:
            writer.append([f"Skipped: {reason}"])
        share_log(self.db, writer.path, self.run_record.id, name)

    def _stage(self, name: str, body: Callable[[StageContext], None]) -> None:
        self.cancel.raise_if_cancelled()
        stage = self.run_record.stage(name)
        stage.status = StageStatus.RUNNING
        stage.started = utcnow()
        self._publish_stage(stage)
        writer = StageLogWriter(stage_log_path(self.home, self.run_record.id, name))

        def log_lines(lines: Sequence[str]) -> None:
            clean = [self.redact(line) for line in lines]
            writer.append(clean)  # one write per batch: the UI thread shares the GIL

        ctx = StageContext(
            self.run_record.id, self.home / "work" / self.run_record.id, log_lines, self.cancel
        )
        ctx.workdir.mkdir(parents=True, exist_ok=True)
        try:
            body(ctx)
        except Cancelled:
            ctx.log("Cancelled.")
            raise
        except DockyardError as exc:
            ctx.log(f"ERROR: {exc.message}")
            stage.summary = exc.message
            raise
        except Exception as exc:
            failure = store_failure(exc, self.home)  # no log line: the disk may be full
            if failure is not None:
                stage.summary = failure.message
            raise
        finally:
            writer.close()
            share_log(self.db, writer.path, self.run_record.id, name)
            self.run_record.warnings.extend(ctx.warnings)
        stage.status = StageStatus.SUCCEEDED
        stage.finished = utcnow()
        self._publish_stage(stage)

    # -- stages ----------------------------------------------------------------------------

    def _checkout(self, ctx: StageContext, workdir: Path) -> None:
        run = self.run_record
        ctx.log(f"Opening {run.repo}")
        with GitSource(run.repo, self.home) as source:
            if source.fetch_warning:
                ctx.warn(source.fetch_warning)
            resolved = source.resolve(run.ref)
            self.resolved = resolved
            run.commit, run.tag, run.author, run.message = (
                resolved.commit,
                resolved.tag,
                resolved.author,
                resolved.message,
            )
            ctx.log(f"{run.ref} is commit {resolved.commit} ({resolved.message})")
            text = source.read_file(resolved.commit, "dockyard.yml")
            ctx.log(
                "Using dockyard.yml of this commit"
                if text is not None
                else "No dockyard.yml: defaults"
            )
            self.config = load_pipeline(
                text, exists=lambda path: source.exists(resolved.commit, path)
            )
            require_image_route(self.config)  # before building what could not be deployed
            for path, key in referenced_files(self.config):  # links out, huge files: refused now
                source.check_file(resolved.commit, path, key)
            self._load_secrets(ctx)
            run.image_name = self.config.image or ""
            self._publish_run()
            source.export(resolved.commit, workdir / "src")
            ctx.log(f"Exported the tree of {resolved.commit[:12]}")

    def _load_secrets(self, ctx: StageContext) -> None:
        """Known secret values are redacted from every log line from here on (reading a
        value registers it with the redactor); a missing one fails the deployment that
        needs it, not the run."""
        assert self.config is not None
        for environment in self.config.environments:
            for name in environment.secrets:
                self.secrets.find_quietly(self.run_record.repo, environment.name, name)

    def _image_tag_name(self) -> str:
        assert self.config is not None
        if self.config.image:
            return self.config.image
        slug = re.sub(r"[^a-z0-9._-]+", "-", default_name(self.run_record.repo).lower()).strip("-.")
        return f"dockyard/{slug or 'repo'}"

    def _labels(self) -> dict[str, str]:
        run = self.run_record
        return {
            "org.opencontainers.image.revision": run.commit,
            "org.opencontainers.image.version": release_label(run.tag, run.commit),
            "org.opencontainers.image.source": run.repo,
            "org.opencontainers.image.created": iso(utcnow()) or "",
            "dockyard.repo": run.repo,
            "dockyard.run": run.id,
        }

    def _build(self, ctx: StageContext, api: DaemonApi, client: LazyClient, workdir: Path) -> None:
        assert self.config is not None and self.resolved is not None
        run = self.run_record
        context = (workdir / "src" / self.config.build.context).resolve()
        if not context.is_relative_to((workdir / "src").resolve()):
            raise DockyardError("build.context must stay inside the repository.")
        values = {
            "DOCKYARD_GIT_TAG": run.tag or "",
            "DOCKYARD_GIT_COMMIT": run.commit,
            "DOCKYARD_GIT_BRANCH": self.resolved.branch or "",
            "DOCKYARD_RUN_ID": run.id,
        }
        settings = self.config.build
        request = BuildRequest(
            context=context,
            dockerfile=settings.dockerfile,
            tag=f"{self._image_tag_name()}:{run.commit}",
            labels=self._labels(),
            buildargs=expand_build_args(settings.args, values),
            target=settings.target,
            network=settings.network,
            timeout=settings.timeout,
            secrets={name: self._build_secret(name) for name in settings.secrets},
        )
        self.image_id = build.build_image(
            api,
            client.get,
            request,
            endpoint_env=compose_environment(self._build_endpoint()),
            ctx=ctx,
        )
        ctx.log(f"Built image {self.image_id}")

    def _build_secret(self, name: str) -> str:
        """A build secret's value from the keyring (which registers it with the redactor)."""
        value = self.secrets.find(self.run_record.repo, BUILD_SECRETS_SCOPE, name)
        if value is None:
            raise UserInputError(
                f"Build secret {name!r} is not in the keyring; set it with: dockyard secret "
                f"set {self.run_record.repo} {BUILD_SECRETS_SCOPE} {name}"
            )
        return value

    def _test(self, ctx: StageContext, api: DaemonApi, client: LazyClient, workdir: Path) -> None:
        assert self.config is not None and self.config.test is not None
        test = self.config.test
        image = f"{self._image_tag_name()}:{self.run_record.commit}"
        if test.command:
            teststage.run_command_test(
                client.get(),
                image=image,
                command=test.command,
                timeout=test.timeout,
                labels={"dockyard.run": self.run_record.id, "dockyard.stage": "test"},
                ctx=ctx,
            )
        else:
            assert test.compose is not None
            teststage.run_compose_test(
                api,
                workdir / "src",
                compose_file=test.compose,
                service=test.service,
                image=image,
                build=PipelineBuild(
                    (workdir / "src" / self.config.build.context).resolve(),
                    self.config.build.dockerfile,
                    self.config.build.target,
                ),
                timeout=test.timeout,
                project=compose_project(self.run_record.id),
                env=compose_environment(self._build_endpoint()),
                ctx=ctx,
            )
        ctx.log("Test passed.")

    def _deliver(self, ctx: StageContext, api: DaemonApi, tested: bool) -> None:
        assert self.config is not None and self.config.image
        run = self.run_record
        tags = [run.commit] + ([run.tag] if run.tag else [])
        digest = deliver.push_image(api, self.image_id, name=self.config.image, tags=tags, ctx=ctx)
        self._record_image(digest, self.config.image, tested)
        ctx.log(f"Delivered {self.config.image}@{digest}")

    def _record_image(self, digest: str, name: str, tested: bool) -> None:
        run = self.run_record
        run.digest = digest
        self.image = ImageRecord(
            repo=run.repo,
            commit=run.commit,
            digest=digest,
            name=name,
            tag=run.tag,
            run_id=run.id,
            tested=tested,
        )
        ImageStore(self.db).record(self.image)
        self._publish_run()
