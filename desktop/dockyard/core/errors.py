"""Errors a user can cause or meet, each carrying the CLI exit code it maps to.

Every message is one sentence saying what is wrong and what to do; the CLI prints it
on stderr and the window shows it in a dialog, never a traceback. Messages are redacted
when made: a value read from the keyring (or a program's output quoting it) never
reaches the ledger, the audit trail, a terminal or a dialog through an error.
"""

from __future__ import annotations

from dockyard.core.redaction import redact


class DockyardError(Exception):
    """Base of every error meant for the user."""

    exit_code = 1

    def __init__(self, message: str, *, details: str = "") -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.details = redact(details)

    def __str__(self) -> str:
        return self.message


class PipelineFailed(DockyardError):
    """The pipeline or a deployment failed (a test failed, a deploy was not healthy)."""

    exit_code = 1


class UserInputError(DockyardError):
    """Bad input: usage, a bad dockyard.yml, unknown repo/env/tag, a refused approval."""

    exit_code = 2


class InfrastructureError(DockyardError):
    """Something outside Dockyard is unreachable: Docker, registry, git remote, keyring."""

    exit_code = 3


class LedgerCannotRecord(InfrastructureError):
    """The ledger cannot record now (its server away, a full disk, a locked database):
    nothing was recorded, and the same request succeeds once it is back."""


class LedgerUnreachable(LedgerCannotRecord):
    """The team ledger's server cannot be reached (or went away): nothing was recorded."""


class LedgerClosed(InfrastructureError):
    """The ledger was closed for good (its window closed): it opens no connection any more.
    Whoever meets it is the window's leftover work, and ends quietly."""


class Cancelled(DockyardError):
    """The user cancelled the work."""

    exit_code = 1
