"""Conversions between Python values and SQLite columns, shared by the store modules.

Datetimes are stored as ISO-8601 UTC text with microseconds, so that text order is
time order and a value read back equals the value written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime


def time_to_text(moment: datetime) -> str:
    """UTC text for ``moment``; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def optional_time_to_text(moment: datetime | None) -> str | None:
    return None if moment is None else time_to_text(moment)


def text_to_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def optional_text_to_time(text: str | None) -> datetime | None:
    return None if text is None else text_to_time(text)


def canonical_json(value: object) -> str:
    """One spelling per value (sorted keys, no spaces), so it can be hashed and compared."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def mapping_to_json(value: Mapping[str, object]) -> str:
    return canonical_json(dict(value))


def json_to_dict(text: str) -> dict[str, object]:
    loaded = json.loads(text)
    return loaded if isinstance(loaded, dict) else {}
