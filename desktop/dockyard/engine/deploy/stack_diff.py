"""What a change of a release's compose file lets in, service by service, for the approval
card: ``~ stack compose.deploy.yml changed`` alone hides that a dependent now runs another
image, or that a service was added; the approver is shown each.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError


def service_changes(was: str | None, now: str) -> list[str]:
    """``+ stack service worker (image …)``, ``~ stack service cache: image a -> b``,
    ``~ stack service web: privileged changed``, ``- stack service worker``; then the
    file's other top-level keys that changed (``~ stack volumes changed``); with no file
    before (``was`` None), its services."""
    before, after = _document(was), _document(now)
    old_services, new_services = _mapping(before.get("services")), _mapping(after.get("services"))
    lines = []
    for name in sorted(set(old_services) | set(new_services)):
        old, new = old_services.get(name), new_services.get(name)
        if old == new:
            continue
        if old is None:
            image = _mapping(new).get("image")
            lines.append(f"+ stack service {name}" + (f" (image {image})" if image else ""))
        elif new is None:
            lines.append(f"- stack service {name}")
        else:
            old, new = _mapping(old), _mapping(new)
            keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            if "image" in keys:
                keys.remove("image")
                lines.append(
                    f"~ stack service {name}: image {old.get('image', 'none')} -> "
                    f"{new.get('image', 'none')}"
                )
            if keys:
                lines.append(f"~ stack service {name}: {', '.join(keys)} changed")
    for key in sorted((set(before) | set(after)) - {"services"}):
        if was is not None and before.get(key) != after.get(key):
            lines.append(f"~ stack {key} changed")
    return lines


def _document(content: str | None) -> dict[str, Any]:
    if content is None:
        return {}
    try:
        return _mapping(YAML(typ="safe").load(content))
    except YAMLError:
        return {}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
