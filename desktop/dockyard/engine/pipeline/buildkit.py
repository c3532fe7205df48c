"""Builds with BuildKit through the docker CLI, streamed into the build log.

``docker buildx build`` where the buildx plugin is installed, else ``DOCKER_BUILDKIT=1
docker build`` of a docker CLI older than 23.0 (which has BuildKit built in; 23.0 and later
need buildx for it). Every ``docker`` on PATH is considered, so a newer CLI without buildx
ahead of Debian's 20.10 one does not hide it. The CLI talks to the run's endpoint through
the same environment as compose (``compose_endpoint``), runs in a process group of its own
(cancelling kills the group, and the daemon stops the build when its client goes) and hands
build secrets over as 0600 files in a private folder removed right after the build.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.core.durations import format_duration
from dockyard.core.errors import PipelineFailed
from dockyard.core.once import once
from dockyard.engine.pipeline.pipes import follow
from dockyard.engine.pipeline.stagecontext import StageContext
from dockyard.engine.pipeline.toolcache import executables_on_path, kept

# "#5 [stage-0 2/4] RUN make" opens a step; "#5 ERROR: ..." is that step failing.
_STEP = re.compile(r"^#(\d+) (\[[^\]]+\] .*)$")
_STEP_ERROR = re.compile(r"^#(\d+) ERROR: (.*)$")
# BuildKit resolves every FROM image in a step of this name before anything runs.
_BASE_STEP = "[internal] load metadata for "
_SOLVE_PREFIX = re.compile(
    r"^(failed to solve( with frontend \S+)?: )?(failed to create LLB definition: )?"
)
_CLI_VERSION = re.compile(r"version (\d+)\.(\d+)")
# BuildKit came with the 18.09 CLI; from 23.0 on, `docker build` needs buildx for it.
_BUILTIN_BUILDKIT = ((18, 9), (23, 0))


@dataclass(frozen=True)
class BuildCli:
    command: tuple[str, ...]  # up to the options: (docker, "buildx", "build", "--load")
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def description(self) -> str:
        if "buildx" in self.command:
            return f"{self.command[0]} buildx build (BuildKit)"
        return f"DOCKER_BUILDKIT=1 {self.command[0]} build (BuildKit)"


def _probe(command: list[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None


@once
def buildkit_cli() -> BuildCli | None:
    """The docker CLI that builds with BuildKit here, or None (then the legacy builder);
    found out once while the CLIs stay as they are (``toolcache``)."""
    found = kept("buildkit", _find_buildkit_cli)
    return None if found is None else BuildCli(tuple(found[0]), dict(found[1]))


def _find_buildkit_cli() -> tuple[list[str], dict[str, str]] | None:
    clis = list(executables_on_path("docker").values())
    for docker in clis:
        probe = _probe([docker, "buildx", "version"])
        if probe is not None and probe.returncode == 0:
            return [docker, "buildx", "build", "--load"], {}
    for docker in clis:
        probe = _probe([docker, "--version"])
        match = _CLI_VERSION.search(probe.stdout) if probe and probe.returncode == 0 else None
        if match is not None:
            version = (int(match.group(1)), int(match.group(2)))
            if _BUILTIN_BUILDKIT[0] <= version < _BUILTIN_BUILDKIT[1]:
                return [docker, "build"], {"DOCKER_BUILDKIT": "1"}
    return None


@dataclass(frozen=True)
class BuildRequest:
    context: Path
    dockerfile: str
    tag: str
    labels: Mapping[str, str]
    buildargs: Mapping[str, str]
    target: str | None
    network: str | None
    timeout: float
    secrets: Mapping[str, str]  # id -> value, for RUN --mount=type=secret,id=...


class StepTracker:
    """Follows the plain progress output: which step runs, which failed, the last error."""

    def __init__(self) -> None:
        self.steps: dict[str, str] = {}
        self.current = ""
        self.failed_step = ""
        self.last_message = ""

    def __call__(self, lines: list[str]) -> None:
        for line in lines:
            if match := _STEP_ERROR.match(line):
                self.failed_step = self.steps.get(match.group(1), "")
            elif match := _STEP.match(line):
                self.steps[match.group(1)] = self.current = match.group(2).strip()
            elif line.strip() and not line.startswith(("#", "-----", " > ")):
                self.last_message = line.strip()

    def message(self) -> str:
        """The CLI's last error line, without the frontend's boilerplate prefixes."""
        message = re.sub(r"^(error|ERROR):\s*", "", self.last_message) or "see the build log"
        return _SOLVE_PREFIX.sub("", message)

    def failure(self) -> str:
        """What follows "The build failed": the step (if known) and the last error line."""
        step = self.failed_step or self.current
        return f" at step {step}: {self.message()}" if step else f": {self.message()}"

    def unpulled_base(self) -> str:
        """The base image when resolving a FROM failed (cannot be pulled), else ""."""
        step = self.failed_step or self.current
        return step.removeprefix(_BASE_STEP) if step.startswith(_BASE_STEP) else ""


def build_with_cli(
    cli: BuildCli, request: BuildRequest, endpoint_env: Mapping[str, str], ctx: StageContext
) -> str:
    """Build and return the image id; raises PipelineFailed with the failing step."""
    with (
        _secret_files(request.secrets) as secret_args,
        tempfile.TemporaryDirectory(prefix="dockyard-iid-") as folder,
    ):
        iidfile = Path(folder) / "iid"
        command = [*cli.command, *_options(request, iidfile), *secret_args, str(request.context)]
        # An empty value means "unset" (e.g. DOCKER_TLS_VERIFY for a plain socket).
        env = {**os.environ, **endpoint_env, **cli.env}
        env = {key: value for key, value in env.items() if value != ""}
        ctx.log(f"Building with {cli.description}")
        tracker = StepTracker()
        code = _run(command, request, env, ctx, tracker)
        ctx.cancel.raise_if_cancelled()
        if code is None:
            raise build_timed_out(request.timeout, tracker.current)
        if code != 0 and tracker.unpulled_base():
            raise base_unavailable(tracker.unpulled_base(), request.dockerfile, tracker.message())
        if code != 0:
            raise PipelineFailed(f"The build failed{_hint(tracker.failure(), request)}")
        return iidfile.read_text().strip()


def build_timed_out(timeout: float, step: str) -> PipelineFailed:
    """The sentence for a build stopped by build.timeout (both builders say the same)."""
    during = f" during step {step}" if step else ""
    return PipelineFailed(
        f"The build did not finish within {format_duration(timeout)}; it was stopped{during}. "
        "Raise build.timeout in dockyard.yml if it needs longer, or set build.network if "
        "that step waits for the network."
    )


def base_unavailable(image: str, dockerfile: str, reason: str) -> PipelineFailed:
    """The sentence for a FROM image the build host could not get (both builders)."""
    return PipelineFailed(
        f"The build could not get its base image {image} (FROM in {dockerfile}): {reason}; "
        f"check the image's name and tag, pull it on the build host (docker pull {image}) "
        "or configure a registry mirror, then run again."
    )


def _options(request: BuildRequest, iidfile: Path) -> list[str]:
    options = [
        "--progress=plain",
        "--file",
        str(request.context / request.dockerfile),
        "--tag",
        request.tag,
        "--iidfile",
        str(iidfile),
    ]
    for name, value in request.labels.items():
        options += ["--label", f"{name}={value}"]
    for name, value in request.buildargs.items():
        options += ["--build-arg", f"{name}={value}"]
    if request.target:
        options += ["--target", request.target]
    if request.network:
        options += ["--network", request.network]
    return options


@contextlib.contextmanager
def _secret_files(secrets: Mapping[str, str]) -> Iterator[list[str]]:
    """``--secret id=NAME,src=FILE`` options; the files exist only during the build."""
    if not secrets:
        yield []
        return
    folder = Path(tempfile.mkdtemp(prefix="dockyard-build-secrets-"))
    try:
        folder.chmod(0o700)
        args = []
        for name, value in secrets.items():
            path = folder / name
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(value)
            args += ["--secret", f"id={name},src={path}"]
        yield args
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(
    command: list[str],
    request: BuildRequest,
    env: Mapping[str, str],
    ctx: StageContext,
    tracker: StepTracker,
) -> int | None:
    """Run the CLI, streaming its output; its exit code, or None when the timeout hit."""
    with subprocess.Popen(
        command,
        cwd=request.context,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, killed as a whole
    ) as process:

        def stop() -> None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

        return follow(process, timeout=request.timeout, ctx=ctx, observe=tracker, stop=stop)


def _hint(failure: str, request: BuildRequest) -> str:
    """The failure, with what to do where the daemon's words leave it unclear."""
    if "unknown instruction" in failure and _has_heredoc(request.context / request.dockerfile):
        return (
            f"{failure}; heredocs (<<EOF) need Docker Engine 23.0 or later on the build host, "
            "or a '# syntax=docker/dockerfile:1' line (which pulls that frontend image)."
        )
    if "network bridge not found" in failure:
        return (
            f"{failure}; the Docker host has no default bridge network: set build.network "
            "(host, or none) in dockyard.yml."
        )
    return f"{failure}."


def _has_heredoc(dockerfile: Path) -> bool:
    try:
        return "<<" in dockerfile.read_text(errors="replace")
    except OSError:
        return False
