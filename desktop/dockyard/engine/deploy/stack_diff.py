"""What a change of a release's compose file lets in, service by service, for the approval
card: ``~ stack compose.deploy.yml changed`` alone hides that a dependent now runs another
image, or that a service was added; the approver is shown each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError


def service_changes(
    was: str | None,
    now: str,
    was_pins: Mapping[str, str] | None = None,
    now_pins: Mapping[str, str] | None = None,
) -> list[str]:
    """``+ stack service worker (image …)``, ``~ stack service cache: image a -> b``,
    ``~ stack service web: privileged changed``, ``- stack service worker``; then the
    file's other top-level keys that changed (``~ stack volumes changed``); with no file
    before (``was`` None), its services. Images are shown as pinned (``pins``), so a tag
    that moved to another digest shows as a change of image."""
    before, after = _document(was, was_pins), _document(now, now_pins)
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


def _document(content: str | None, pins: Mapping[str, str] | None) -> dict[str, Any]:
    if content is None:
        return {}
    try:
        document = _mapping(YAML(typ="safe").load(content))
    except YAMLError:
        return {}
    apply_pins(_mapping(document.get("services")), pins or {})
    return document


def apply_pins(services: Mapping[str, Any], pins: Mapping[str, str]) -> None:
    """Each pinned service of a loaded compose document runs its pin."""
    for name, pinned in pins.items():
        spec = services.get(name)
        if isinstance(spec, dict):
            spec["image"] = pinned


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
