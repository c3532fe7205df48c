"""What the docker and compose CLIs here can do, kept under ``DOCKYARD_HOME/cache/tools.json``.

Finding it out runs the docker CLI four or five times (``docker buildx version`` for each
docker on PATH, ``docker --version``, ``docker compose version``): ~0.1 s of CPU in every
process that runs a pipeline, to learn what the last one learnt. An answer is kept with
what it rests on — PATH, the size and time of each ``docker`` and ``docker-compose`` found
there, the folders the docker CLI finds its plugins in (buildx, compose) and its
configuration (which may name more) — and found out again when any of that changed. A
file that cannot be read or written is only a miss; deleting it is safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dockyard.engine.home import dockyard_home

FILE = Path("cache") / "tools.json"
# Where the docker CLI looks for plugins besides its configuration folder (docker/cli's
# pluginmanager: defaultSystemPluginDirs on Linux).
SYSTEM_PLUGIN_FOLDERS = (
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
)
_writing = threading.Lock()  # the probes run on threads of their own (tools.probe_tools)


def kept(name: str, find_out: Callable[[], Any]) -> Any:
    """The kept answer of ``name`` while what it rests on is unchanged, else
    ``find_out()`` (a JSON value), kept for the next process."""
    path = dockyard_home() / FILE
    key = _fingerprint()
    answers = _read(path)
    entry = answers.get(name)
    if isinstance(entry, dict) and entry.get("key") == key and "answer" in entry:
        return entry["answer"]
    answer = find_out()
    with _writing:
        _write(path, {**_read(path), name: {"key": key, "answer": answer}})
    return answer


def _fingerprint() -> str:
    config = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    paths = [
        *map(Path, executables_on_path("docker")),
        *map(Path, executables_on_path("docker-compose")),
        config / "config.json",
        config / "cli-plugins",
        *map(Path, SYSTEM_PLUGIN_FOLDERS),
    ]
    facts = [os.environ.get("PATH", "")] + [_stat(path) for path in paths]
    return hashlib.sha256("\n".join(facts).encode()).hexdigest()


def executables_on_path(command: str) -> dict[str, str]:
    """Every distinct ``command`` on PATH, in PATH order: its real path → as found."""
    found: dict[str, str] = {}
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = shutil.which(command, path=folder) if folder else None
        if candidate:
            found.setdefault(os.path.realpath(candidate), candidate)
    return found


def _stat(path: Path) -> str:
    try:
        facts = path.stat()
    except OSError:
        return f"{path} -"
    return f"{path} {facts.st_size} {facts.st_mtime_ns} {facts.st_ino}"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, answers: dict[str, Any]) -> None:
    """Whole or not at all (another process may read it meanwhile)."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tools-")
        try:
            with os.fdopen(descriptor, "w") as out:
                json.dump(answers, out)
            os.replace(temporary, path)
        except OSError:
            Path(temporary).unlink(missing_ok=True)
