"""``busybox:stable`` built locally FROM scratch with the host's static busybox.

No image can be pulled from the internet on the test machines; test Dockerfiles say
``FROM busybox:stable``, which elsewhere also just works.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import docker

DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["sh"]
"""


def until_stopped(command: str) -> str:
    """A shell line that runs ``command`` until the container is stopped. As PID 1, busybox's
    httpd and sleep ignore SIGTERM, so every stop would wait out the whole grace period
    (10 s by default) where a real server ends at once; the shell's trap ends it with the
    status of a process that SIGTERM killed (143), as Swarm and Docker then report it."""
    return f"trap 'exit 143' TERM; {command} & wait"


def find_static_busybox() -> Path:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        path = Path(candidate)
        if path.exists() and b"ld-linux" not in path.read_bytes()[:4096]:
            return path
    raise RuntimeError("no static busybox found: make test installs busybox-static")


def ensure_busybox(client: docker.DockerClient, tag: str = "busybox:stable") -> str:
    try:
        return str(client.images.get(tag).id)
    except docker.errors.ImageNotFound:
        pass
    with tempfile.TemporaryDirectory(prefix="dybb-") as folder:
        shutil.copy(find_static_busybox(), Path(folder) / "busybox")
        (Path(folder) / "Dockerfile").write_text(DOCKERFILE)
        image, _ = client.images.build(path=folder, tag=tag, rm=True)
    return str(image.id)
