"""A child process's output (or a container's log stream) copied into a stage log."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterable
from typing import IO

from dockyard.engine.pipeline.stagecontext import StageContext

Observer = Callable[[list[str]], None]


def pump(stream: IO[bytes], ctx: StageContext, observe: Observer | None = None) -> None:
    """Copy a pipe into the log in batches (one write per read, not one per line)."""
    chunks = iter(lambda: stream.read1(65536), b"")  # type: ignore[attr-defined]
    log_chunks(chunks, ctx, observe)


def log_chunks(chunks: Iterable[bytes], ctx: StageContext, observe: Observer | None = None) -> None:
    """Log whole lines as they complete; ``observe`` sees each batch after it is logged."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *raw, pending = pending.split(b"\n")
        if raw:
            lines = [line.decode("utf-8", errors="replace").rstrip("\r") for line in raw]
            ctx.log_lines(lines)
            if observe is not None:
                observe(lines)
    if pending:
        last = pending.decode("utf-8", errors="replace").rstrip("\r")
        ctx.log(last)
        if observe is not None:
            observe([last])


def follow(
    process: subprocess.Popen[bytes],
    *,
    timeout: float,
    ctx: StageContext,
    observe: Observer | None = None,
    stop: Callable[[], None] | None = None,
) -> int | None:
    """Log a child's output until it exits; its exit code, or None when the timeout hit.

    A cancel or the timeout calls ``stop`` (by default: kill the process), which must end
    the output so that this returns.
    """
    timed_out = threading.Event()

    def kill() -> None:
        if process.poll() is None:
            process.kill()

    halt = stop or kill

    def on_timeout() -> None:
        timed_out.set()
        halt()

    timer = threading.Timer(timeout, on_timeout)
    timer.daemon = True
    timer.start()
    unregister = ctx.cancel.on_cancel(halt)
    try:
        assert process.stdout is not None
        pump(process.stdout, ctx, observe)
        code = process.wait()
    finally:
        timer.cancel()
        unregister()
    return None if timed_out.is_set() else code
