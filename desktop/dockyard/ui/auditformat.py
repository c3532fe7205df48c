"""How one audit entry reads in the History table: a full local date and time, and its
details as a short sentence (the complete JSON stays in the row's tooltip)."""

from __future__ import annotations

from datetime import datetime

# Identifiers and snapshots a reader does not scan for; they remain in the tooltip.
HIDDEN_DETAILS = frozenset(
    {"config_fingerprint", "environment_config", "image", "deployment", "request"}
)
BARE_DETAILS = frozenset({"tag", "outcome"})  # self-explanatory values, shown without a key
# Then the rest.
FIRST_DETAILS = ("tag", "outcome", "target", "comment", "reason", "error", "approved_by")


def audit_moment(moment: datetime) -> str:
    """Date and time in the local zone: an audit trail spans days, so the date matters."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def describe_details(details: dict[str, object]) -> str:
    """``{"commit": "3f2a…", "comment": "go", "tag": "v1.1.0", "approved_by": []}`` reads
    ``v1.1.0 · “go” · commit 3f2a1b9``: what a reader looks for first, empty values
    skipped, hashes shortened."""
    parts = []
    ordered = [key for key in FIRST_DETAILS if key in details]
    ordered += [key for key in details if key not in FIRST_DETAILS]
    for key in ordered:
        value = details[key]
        if key in HIDDEN_DETAILS or value is None or value in ("", [], {}):
            continue
        text = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        if key == "comment":
            parts.append(f"“{text}”")
        elif key == "commit":
            parts.append(f"commit {text[:7]}")
        elif key == "target":  # where a deployment went (the engine's words)
            parts.append(f"on {text}")
        elif key == "digest":
            parts.append(f"digest {text.removeprefix('sha256:')[:12]}")
        elif key in BARE_DETAILS:
            parts.append(text)
        else:
            parts.append(f"{key.replace('_', ' ')} {text}")
    return " · ".join(parts)
