"""One deployment per environment at a time, across processes and threads.

Two deployments to one environment at once end with the ledger naming one release and
the daemon running the other. The lock lives in the ledger (``try_lock_environment``) so
every Dockyard process sharing it — terminals, the window, a team's desktops — sees it.
Waiting happens here, between short polls, never inside a database transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dockyard.core.errors import UserInputError
from dockyard.engine.events import CancelToken, wait_or_cancel
from dockyard.store.ledger import DeploymentLock, ReleaseLedger

POLL = 0.5
log = logging.getLogger("dockyard.releases")

Notify = Callable[[str], None]


def log_waiting(message: str) -> None:
    log.warning("%s", message)


@contextmanager
def environment_locked(
    ledger: ReleaseLedger,
    repo: str,
    environment: str,
    *,
    what: str,
    identity: str,
    wait: bool,
    on_wait: Notify,
    cancel: CancelToken,
) -> Iterator[DeploymentLock]:
    """Hold the environment's deployment lock; wait for it (telling ``on_wait`` once), or
    refuse with one sentence when ``wait`` is false."""
    told = False
    while True:
        lock, holder = ledger.try_lock_environment(repo, environment, what=what, taken_by=identity)
        if lock is not None:
            break
        busy = (
            f"the deployment of {holder.what} to {environment} by {holder.describe()}"
            if holder is not None
            else f"another deployment to {environment}"  # its record is not readable yet
        )
        if not wait:
            raise UserInputError(
                f"{environment} of {repo} is busy with {busy}; try again when it has finished, "
                "or leave out --no-wait to wait for it."
            )
        if not told:
            on_wait(f"Waiting for {busy} to finish…")
            told = True
        wait_or_cancel(cancel, POLL)
    try:
        yield lock
    finally:
        ledger.unlock_environment(lock)
