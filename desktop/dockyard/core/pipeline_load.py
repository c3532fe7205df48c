"""Reading a dockyard.yml: YAML to ``PipelineConfig``, each section by its parser.

Apart from ``pipeline_file`` (the dataclasses) so that the section parsers can build those
dataclasses without the two modules importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from dockyard.core import pipeline_sections as sections
from dockyard.core.pipeline_fields import FieldReader, Located, PipelineFileError, describe
from dockyard.core.pipeline_file import BUILD_SECRETS_SCOPE, PipelineConfig


def load_pipeline(
    text: str | None,
    *,
    filename: str = "dockyard.yml",
    exists: Callable[[str], bool] = lambda path: False,
) -> PipelineConfig:
    """Read and validate a pipeline file; ``text=None`` (no file) gives the defaults."""
    reader = FieldReader(filename)
    document = _parse_yaml(text, filename)
    root = Located(document, "", _document_line(document))
    if document is not None and not isinstance(document, dict):
        raise reader.error(
            root,
            "expected a mapping with keys such as image, build, test and environments, "
            f"got {describe(document)}",
        )
    entries = reader.mapping(root, sections.TOP_KEYS)
    config = PipelineConfig(
        image=reader.optional(entries, "image", lambda at: sections.image(reader, at)),
        build=sections.build(reader, entries.get("build")),
        test=sections.test(reader, entries.get("test"), exists),
        trigger=sections.trigger(reader, entries.get("trigger")),
        environments=sections.environments(reader, entries.get("environments")),
    )
    names = {environment.name for environment in config.environments}
    if config.build.secrets and BUILD_SECRETS_SCOPE in names:
        raise reader.error(
            entries["environments"],
            f"an environment named {BUILD_SECRETS_SCOPE!r} would share the keyring entries of "
            "build.secrets; rename the environment",
        )
    return config


def _parse_yaml(text: str | None, filename: str) -> Any:
    if text is None:
        return None
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "unreadable YAML"
        raise PipelineFileError(
            filename, line, "", f"not valid YAML: {problem}; fix the syntax"
        ) from None
    except YAMLError as exc:
        raise PipelineFileError(filename, None, "", f"not valid YAML: {exc}") from None


def _document_line(document: Any) -> int:
    lc = getattr(document, "lc", None)
    return int(lc.line) + 1 if lc is not None and lc.line is not None else 1
