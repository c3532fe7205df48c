"""Names and labels of what Dockyard deploys: the daemon is the source of truth.

Every container, service, Swarm secret and config carries ``dockyard.repo`` and
``dockyard.environment``, so ``inspect`` and the reconciler find them by label, and two
desktops pointed at the same daemon agree on what runs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime

from dockyard.core.releases import release_label
from dockyard.engine.deploy.spec import DeploymentRequest, RunningRelease

REPO = "dockyard.repo"
ENVIRONMENT = "dockyard.environment"
RELEASE = "dockyard.release"
COMMIT = "dockyard.commit"
DIGEST = "dockyard.digest"
RUN = "dockyard.run"
DEPLOYMENT = "dockyard.deployment"
APPROVED_BY = "dockyard.approved-by"
DEPLOYED_BY = "dockyard.deployed-by"
CONFIG = "dockyard.config"
ROLLBACK = "dockyard.rollback"
# A hash of the live spec Dockyard set (service mode), to notice `docker service update --env-add`.
SPEC = "dockyard.spec"
# On Swarm secrets and configs: which secret name / container path a version belongs to.
SECRET_NAME = "dockyard.secret"
CONFIG_TARGET = "dockyard.file"
MANAGED = "dockyard.managed"
# Stack mode, on the app service: the stack's other services, so one removed by hand shows.
DEPENDENTS = "dockyard.dependents"
# On the app (service or container): a hash of each dependent's definition once the release
# ran (``definitions``), so a dependent changed by hand shows as drift.
DEPENDENT_SPECS = "dockyard.dependents.spec"

LABELS = (
    REPO, ENVIRONMENT, RELEASE, COMMIT, DIGEST, RUN, DEPLOYMENT, APPROVED_BY, CONFIG, ROLLBACK,
)  # fmt: skip

_UNSAFE = re.compile(r"[^a-z0-9]+")


def _slug(text: str, limit: int) -> str:
    return _UNSAFE.sub("-", text.lower()).strip("-")[:limit].strip("-")


def resource_name(repo: str, environment: str) -> str:
    """``dy-<name>-<6 hex of sha1(repo)>-<env>``: valid as container and service name."""
    name = _slug(repo.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"), 20) or "app"
    mark = hashlib.sha1(repo.encode()).hexdigest()[:6]
    return f"dy-{name}-{mark}-{_slug(environment, 63 - len(name) - 11) or 'env'}"


def selector(repo: str, environment: str) -> dict[str, list[str]]:
    """The Docker list filter for one environment's objects."""
    return {"label": [f"{REPO}={repo}", f"{ENVIRONMENT}={environment}"]}


def labels_for(request: DeploymentRequest) -> dict[str, str]:
    return {
        REPO: request.repo,
        ENVIRONMENT: request.environment,
        RELEASE: release_label(request.tag, request.commit),
        COMMIT: request.commit,
        DIGEST: request.digest,
        RUN: request.run_id or "",
        DEPLOYMENT: str(request.deployment_id),
        APPROVED_BY: ",".join(request.approved_by),
        DEPLOYED_BY: request.deployed_by,
        CONFIG: request.snapshot.fingerprint(),
        ROLLBACK: "true" if request.rollback else "false",
    }


def digest_of(image: str, labels: Mapping[str, str]) -> str:
    """The digest an image reference names; the label when it names none (a local id)."""
    if "@" in image:
        return image.rsplit("@", 1)[1]
    if image.startswith("sha256:"):
        return image
    return labels.get(DIGEST, "")


def release_from(
    labels: Mapping[str, str],
    *,
    image: str,
    config_fingerprint: str,
    state: str,
    healthy: bool | None,
    since: datetime | None,
    name: str,
    restarts: int = 0,
    exit_code: int | None = None,
) -> RunningRelease:
    deployment = labels.get(DEPLOYMENT, "")
    return RunningRelease(
        repo=labels.get(REPO, ""),
        environment=labels.get(ENVIRONMENT, ""),
        image=image,
        digest=digest_of(image, labels),
        deployment_id=int(deployment) if deployment.isdigit() else None,
        config_fingerprint=config_fingerprint,
        state=state,
        healthy=healthy,
        since=since,
        name=name,
        restarts=restarts,
        exit_code=exit_code,
    )


def parse_time(text: str | None) -> datetime | None:
    """Docker's RFC 3339 times carry nanoseconds, which ``fromisoformat`` refuses."""
    if not text or text.startswith("0001-"):
        return None
    match = re.fullmatch(r"([^.Z+]+?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", text)
    if not match:
        return None
    base, fraction, zone = match.groups()
    fraction = f".{fraction[:6]}" if fraction else ""
    try:
        return datetime.fromisoformat(base + fraction + ("+00:00" if zone in (None, "Z") else zone))
    except ValueError:
        return None
