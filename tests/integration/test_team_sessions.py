"""A connection the team ledger refuses to use leaves no session on the server: a schema
this client does not know is said once, in a sentence, and the login that found it is
closed at once (the window tries again every two seconds). Real PostgreSQL and keyring."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.core.errors import LedgerUnreachable
from dockyard.engine.ledger_source import DeferredLedger
from dockyard.store.team import NEWEST
from testbed.teamdb import TeamDatabase

pytestmark = [pytest.mark.postgres, pytest.mark.keyring]


def _sessions(team: TeamDatabase) -> int:
    with team.admin() as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND usename = %s",
            (team.name, team.developer),
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_schema_this_client_does_not_know_leaves_no_session(
    tmp_path: Path, team: TeamDatabase
) -> None:
    team.connect_home(tmp_path, team.developer)
    with team.admin() as admin:
        admin.execute(
            "UPDATE dockyard.meta SET value = %s WHERE key = 'schema_version'", (str(NEWEST + 1),)
        )
    ledger = DeferredLedger(tmp_path)
    try:
        with pytest.raises(LedgerUnreachable, match="newer than this Dockyard knows"):
            ledger.opened()
        assert _sessions(team) == 0
    finally:
        ledger.close()
