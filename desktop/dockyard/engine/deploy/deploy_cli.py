"""Running the docker or compose CLI on a generated compose file, for stack mode and for
container mode's dependent services.

The file is written into a private temporary folder (removed afterwards) and the CLI sees
only what it needs of Dockyard's environment: the endpoint's ``DOCKER_HOST`` & co.,
``${DOCKYARD_IMAGE}`` and what its credential helpers need, so a compose file interpolates
nothing else this process holds.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from dockyard.core.errors import InfrastructureError, PipelineFailed
from dockyard.engine.deploy.spec import LogFn

IMAGE_VARIABLE = "DOCKYARD_IMAGE"
CLI_TIMEOUT = 600.0
# What the CLI and the credential helpers of its config (secretservice, pass) need.
_PASSED = (
    "PATH", "HOME", "DOCKER_CONFIG", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR",
    "GNUPGHOME", "PASSWORD_STORE_DIR",
)  # fmt: skip


def run_on_file(
    command: Callable[[Path], list[str]],
    text: str,
    *,
    what: str,
    environment: str,
    cli_env: Mapping[str, str],
    image: str,
    log: LogFn,
    extra_env: Callable[[Path], Mapping[str, str]] = lambda folder: {},
) -> None:
    """Run ``command(path of the written file)``; its output goes to the log, a failure is
    one sentence naming ``what`` and the environment with the CLI's last line.

    ``extra_env(folder)`` may add variables that point into the private folder.
    """
    with tempfile.TemporaryDirectory(prefix="dockyard-deploy-") as name:
        folder = Path(name)
        path = folder / "compose.yml"
        path.write_text(text)
        env = {key: os.environ[key] for key in _PASSED if key in os.environ}
        env |= {**cli_env, IMAGE_VARIABLE: image, **extra_env(folder)}
        try:
            done = subprocess.run(
                command(path), capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            raise InfrastructureError(
                f"{what} for {environment} did not finish in {CLI_TIMEOUT:g} s; check that "
                "the Docker host is reachable, then deploy again."
            ) from None
    output = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    for line in output:
        log(f"{what}: {line}")
    if done.returncode != 0:
        reason = output[-1] if output else f"exit code {done.returncode}"
        raise PipelineFailed(
            f"{what} for {environment} failed: {reason}" + ("" if reason.endswith(".") else ".")
        )
