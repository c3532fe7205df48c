"""A compose test file pointed at the tested image, as Docker Hub's Autotest ran it.

Services whose ``build:`` is the pipeline's own build (same context and Dockerfile, and no
other target) run the image the build stage made instead of a second build, so what was
tested is what will be delivered. Every other ``build:`` service (a ``sut`` built from
``Dockerfile.test``, say) is built by compose. Both file formats are read: the current
one (``services:``) and version 1 (services at the top level, no ``version:``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from dockyard.core.errors import UserInputError

# Beside the original, so that compose resolves relative paths (build contexts, volumes,
# env files) and the project directory exactly as it would for the original file.
GENERATED_PREFIX = ".dockyard-test."


@dataclass(frozen=True)
class PipelineBuild:
    """What the build stage built: resolved paths, so compose's can be compared."""

    context: Path
    dockerfile: str
    target: str | None = None

    def is_same(self, context: Path, dockerfile: str, target: str | None) -> bool:
        ours = (self.context / self.dockerfile).resolve()
        return (
            context.resolve() == self.context.resolve()
            and (context / dockerfile).resolve() == ours
            and target in (None, self.target)
        )


@dataclass
class TestFile:
    """The file to hand to compose and what it does with the tested image."""

    __test__ = False  # not a pytest test class, despite the name

    path: Path
    version1: bool = False
    tested: list[str] = field(default_factory=list)  # services that run the tested image
    built: list[str] = field(default_factory=list)  # services compose builds itself
    # Those of them without image:, whose images compose names itself: the test's own,
    # removed with it (``compose down --rmi local``).
    unnamed: list[str] = field(default_factory=list)


def prepare_test_file(compose_file: Path, image: str, build: PipelineBuild) -> TestFile:
    """Point the pipeline's own build services at ``image``; the original is left alone."""
    yaml = YAML(typ="rt")
    try:
        document = yaml.load(compose_file.read_text())
    except Exception as exc:
        raise UserInputError(f"{compose_file.name} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise UserInputError(
            f"{compose_file.name} is not a compose file: expected a mapping with services:."
        )
    version1 = "services" not in document and "version" not in document
    services = document if version1 else (document.get("services") or {})
    result = TestFile(compose_file, version1=version1)
    for name, spec in services.items():
        if not isinstance(spec, dict) or "build" not in spec:
            continue
        if _is_pipeline_build(compose_file.parent, spec, build, version1):
            spec.pop("build")
            if version1:
                spec.pop("dockerfile", None)  # v1 keeps it beside build:
            spec["image"] = image
            result.tested.append(str(name))
        else:
            result.built.append(str(name))
            if "image" not in spec:
                result.unnamed.append(str(name))
    if result.tested:
        result.path = compose_file.with_name(GENERATED_PREFIX + compose_file.name)
        with result.path.open("w") as out:
            yaml.dump(document, out)
    return result


def _is_pipeline_build(
    folder: Path, spec: dict[str, Any], build: PipelineBuild, version1: bool
) -> bool:
    value = spec["build"]
    if isinstance(value, dict):
        context = str(value.get("context", "."))
        dockerfile = str(value.get("dockerfile", "Dockerfile"))
        target = value.get("target")
    else:
        context = str(value)
        dockerfile = str(spec.get("dockerfile", "Dockerfile")) if version1 else "Dockerfile"
        target = None
    if "$" in context + dockerfile or "://" in context or context.startswith("git@"):
        return False  # interpolated or remote: not something the build stage built
    return build.is_same(folder / context, dockerfile, None if target is None else str(target))
