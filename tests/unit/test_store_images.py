"""Images built by runs, found again by digest or commit."""

from __future__ import annotations

import pytest

from dockyard.core.model import ImageRecord
from dockyard.store.database import Database
from dockyard.store.images import ImageStore

COMMIT = "c0ffee" + "0" * 34


@pytest.fixture
def images(store_db: Database) -> ImageStore:
    return ImageStore(store_db)


def image(
    digest: str, run_id: str, *, tag: str | None = "v1.0.0", tested: bool = False
) -> ImageRecord:
    return ImageRecord("web", COMMIT, digest, "localhost:5000/shop/web", tag, run_id, tested)


def test_record_and_find_by_digest(images: ImageStore) -> None:
    built = image("sha256:aaa", "run-1", tested=True)
    images.record(built)
    assert images.by_digest("web", "sha256:aaa") == built
    assert images.by_digest("api", "sha256:aaa") is None
    assert built.reference == "localhost:5000/shop/web@sha256:aaa"


def test_recording_again_never_untests_and_keeps_the_tag(images: ImageStore) -> None:
    images.record(image("sha256:aaa", "run-1", tested=True))
    images.record(image("sha256:aaa", "run-1", tag=None, tested=False))
    found = images.by_digest("web", "sha256:aaa")
    assert found is not None and found.tested and found.tag == "v1.0.0"
