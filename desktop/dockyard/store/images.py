"""Images built by runs, so that a digest or a commit leads back to one image.

Rows are keyed by (repo, digest, run): the same digest may come out of two runs
(reproducible builds, a re-run of a tag); lookups prefer tested images, then the newest.
"""

from __future__ import annotations

from dockyard.core.model import ImageRecord, utcnow
from dockyard.store.columns import time_to_text
from dockyard.store.database import Database
from dockyard.store.sql import SqlRow

_PREFERRED = "ORDER BY tested DESC, recorded DESC, id DESC LIMIT 1"


class ImageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, image: ImageRecord) -> None:
        """Record (or update) the image a run built; ``tested`` never goes back to False."""
        with self._db.transaction() as connection:
            connection.execute(
                "INSERT INTO images (repo, commit_sha, digest, name, tag, run_id, tested, recorded)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (repo, digest, run_id) DO UPDATE SET"
                " commit_sha = excluded.commit_sha, name = excluded.name,"
                " tag = coalesce(excluded.tag, images.tag),"
                " tested = CASE WHEN excluded.tested > images.tested THEN excluded.tested"
                " ELSE images.tested END",
                (
                    image.repo,
                    image.commit,
                    image.digest,
                    image.name,
                    image.tag,
                    image.run_id,
                    int(image.tested),
                    time_to_text(utcnow()),
                ),
            )

    def by_digest(self, repo: str, digest: str) -> ImageRecord | None:
        return self._one("repo = ? AND digest = ?", (repo, digest))

    def _one(self, where: str, parameters: tuple[object, ...]) -> ImageRecord | None:
        row = (
            self._db.connect()
            .execute(f"SELECT * FROM images WHERE {where} {_PREFERRED}", parameters)
            .fetchone()
        )
        return None if row is None else _from_row(row)


def _from_row(row: SqlRow) -> ImageRecord:
    return ImageRecord(
        repo=row["repo"],
        commit=row["commit_sha"],
        digest=row["digest"],
        name=row["name"],
        tag=row["tag"],
        run_id=row["run_id"],
        tested=bool(row["tested"]),
    )
