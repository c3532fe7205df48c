"""ExternalChanges notices commits made by other connections and processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dockyard.core.model import Run
from dockyard.store.changes import ExternalChanges
from dockyard.store.database import open_database
from dockyard.store.runs import RunStore


def test_a_commit_by_another_process_is_noticed_once(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    changes = ExternalChanges(db)
    try:
        assert changes.changed() is False  # the first look only takes the baseline
        assert changes.changed() is False
        script = (
            "import sys; from pathlib import Path\n"
            "from dockyard.store.database import open_database\n"
            "from dockyard.store.runs import RunStore\n"
            "from dockyard.core.model import Run\n"
            "store = RunStore(open_database(Path(sys.argv[1])))\n"
            "store.create(Run(id='r1', repo='/a', ref='main'))\n"
        )
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)],
            check=True,
            env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "desktop")},
        )
        assert changes.changed() is True
        assert changes.changed() is False
        # The window's own threads write through other connections: noticed as well.
        RunStore(db).create(Run(id="r2", repo="/a", ref="main"))
        assert changes.changed() is True
    finally:
        changes.close()
        db.close()
