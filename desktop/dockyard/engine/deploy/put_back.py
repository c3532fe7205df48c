"""Putting the release that ran before back as a whole after a new one failed.

Stack mode and container mode's dependents change services beside the app before its
health gate says whether the release is good; when it is not, the earlier release (the
one the ledger records as running, ``DeploymentRequest.replaces``) is deployed again from
its recorded snapshot, under its own deployment id and labels, so the ledger and the
daemon agree on it again. What is said about it goes into the log and the failure.
"""

from __future__ import annotations

from collections.abc import Callable

from dockyard.core.errors import DockyardError
from dockyard.engine.deploy.spec import DeploymentRequest, LogFn


def put_back(
    earlier: DeploymentRequest,
    what: str,
    deploy: Callable[[], object],
    runs_now: Callable[[], str],
    log: LogFn,
) -> str:
    """Run ``deploy`` (which puts ``earlier`` back: ``what``, in words) and return the
    sentence the failure ends with; ``runs_now()`` says what runs when it failed too."""
    log(f"The release failed; putting back {earlier.label} as a whole: {what}.")
    try:
        deploy()
    except DockyardError as exc:
        sentence = (
            f"Putting {earlier.label} back as a whole failed too: {exc.message.rstrip('.')}; "
            f"{runs_now()}; put it back with: dockyard rollback {earlier.repo} "
            f"{earlier.environment} --to {earlier.deployment_id} --comment REASON"
        )
        log(f"ERROR: {sentence}")
        return sentence
    log(f"{earlier.environment} runs {earlier.label} again, as a whole")
    return f"{earlier.label} was put back as a whole: {what}."
