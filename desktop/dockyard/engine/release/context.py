"""What the release helpers (status, recovery, retry, rollback) need of the release service.

``releases.ReleaseService`` is a ``ReleaseContext`` and calls those helpers; they name these
classes instead of the service, so no helper imports the module that imports it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core.pipeline_file import EnvironmentConfig
from dockyard.core.releases import ApprovalRequest, Deployment
from dockyard.engine.events import CancelToken, EventSink
from dockyard.engine.release.results import ReleaseOutcome
from dockyard.engine.secrets import SecretStore
from dockyard.store.audit import AuditLog
from dockyard.store.database import Database
from dockyard.store.ledger import SqliteReleaseLedger

if TYPE_CHECKING:
    from dockyard.engine.release.deploying import Attached, Deploying


@dataclass(eq=False)
class ReleaseRecords:
    """Where releases are recorded, and who acts."""

    home: Path
    db: Database
    identity: str
    ledger: SqliteReleaseLedger
    audit: AuditLog
    secrets: SecretStore

    @classmethod
    def open(
        cls, home: Path, db: Database, identity: str, secrets: SecretStore | None = None
    ) -> ReleaseRecords:
        return cls(
            home, db, identity, SqliteReleaseLedger(db), AuditLog(db),
            secrets or SecretStore(home=home, db=db),
        )  # fmt: skip


class ReleaseContext(ReleaseRecords, ABC):
    """The records plus the service's own steps the helpers build on."""

    @abstractmethod
    def deploying(self, sink: EventSink = ..., cancel: CancelToken | None = None) -> Deploying: ...

    @abstractmethod
    def releases(self, repo: str, environment: str) -> list[Deployment]: ...

    @abstractmethod
    def attach_for_request(
        self, repo: str, env: EnvironmentConfig, request: ApprovalRequest
    ) -> Attached: ...

    @abstractmethod
    def deploy_resolved(
        self,
        environments: Sequence[EnvironmentConfig],
        env: EnvironmentConfig,
        request: ApprovalRequest,
        attached: Attached,
        deploying: Deploying,
        comment: str = "",
    ) -> ReleaseOutcome: ...
