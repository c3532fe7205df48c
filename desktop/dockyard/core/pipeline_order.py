"""Promotion order of the environments of dockyard.yml, from their ``after`` keys.

Each environment follows at most one other, so the order is a forest walked in file
order: an environment comes right when the one it follows has come.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from dockyard.core.pipeline_fields import FieldReader, Located
from dockyard.core.pipeline_file import EnvironmentConfig


def promotion_order(
    reader: FieldReader, located: dict[str, tuple[EnvironmentConfig, Located]]
) -> tuple[EnvironmentConfig, ...]:
    """Check every ``after`` names another environment and none loops, then order them."""
    environments = [environment for environment, _ in located.values()]
    names = [environment.name for environment in environments]
    for environment, at in located.values():
        after = environment.after
        if after is None:
            continue
        where = reader.mapping(at)["after"]
        if after == environment.name:
            raise reader.error(where, "an environment cannot come after itself")
        if after not in located:
            others = [name for name in names if name != environment.name]
            close = difflib.get_close_matches(after, others, n=1)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else (
                    "known: " + ", ".join(others) if others else "no other environment is defined"
                )
            )
            raise reader.error(where, f"'{after}' is not an environment of this file; {hint}")
    _reject_cycles(reader, located)
    ordered: list[EnvironmentConfig] = []
    placed: set[str] = set()
    while len(ordered) < len(environments):
        ready = next(
            environment
            for environment in environments
            if environment.name not in placed
            and (environment.after is None or environment.after in placed)
        )
        ordered.append(ready)
        placed.add(ready.name)
    return tuple(ordered)


def _reject_cycles(
    reader: FieldReader, located: dict[str, tuple[EnvironmentConfig, Located]]
) -> None:
    for start, (environment, at) in located.items():
        chain = [start]
        after = environment.after
        while after is not None and after not in chain:
            chain.append(after)
            after = located[after][0].after
        if after == start:
            loop = " → ".join([*chain, start])
            raise reader.error(
                reader.mapping(at)["after"],
                f"the environments {loop} follow each other in a cycle; "
                "remove one of these after: keys",
            )


def promotes_from(environments: Sequence[EnvironmentConfig], name: str) -> str | None:
    """Where ``name`` takes its releases from: its ``after:``, else the environment before
    it in promotion order (None for the first)."""
    names = [environment.name for environment in environments]
    position = names.index(name)
    return environments[position].after or (names[position - 1] if position else None)


def promotes_to(environments: Sequence[EnvironmentConfig], name: str) -> str | None:
    """Where a release of ``name`` goes next: the environment that names it in ``after:``,
    else the next one in promotion order unless that one follows another."""
    explicit = next((e.name for e in environments if e.after == name), None)
    if explicit is not None:
        return explicit
    names = [environment.name for environment in environments]
    if name not in names or names.index(name) + 1 >= len(names):
        return None
    following = environments[names.index(name) + 1]
    return following.name if following.after is None else None
