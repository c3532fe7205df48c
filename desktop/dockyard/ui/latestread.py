"""Views that read their state in a worker, where only the newest read counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, TypeVarTuple

from PySide6.QtWidgets import QLabel

from dockyard.ui.worker import TaskRunner

S = TypeVar("S")
Ts = TypeVarTuple("Ts")


class LatestRead(Generic[S]):
    """Mixin: ``_read(fn, ...)`` runs ``fn`` in a worker and hands its result (the view's
    state ``S``) to ``_apply``.

    A read started later makes earlier ones stale (their results are dropped), so a slow
    answer never overwrites a newer one. ``message`` says what is going on or what failed.
    The view sets ``tasks``, ``message``, ``loading = False`` and ``_generation = 0``.
    """

    tasks: TaskRunner
    message: QLabel
    loading: bool
    _generation: int

    def _read(self, fn: Callable[[*Ts], S], *args: *Ts) -> None:
        self._generation += 1
        generation = self._generation
        self.loading = True
        self.tasks.submit(
            fn,
            *args,
            on_result=lambda state: self._arrived(generation, state),
            on_error=lambda message, _details: self._failed(generation, message),
        )

    def _arrived(self, generation: int, state: S) -> None:
        if generation == self._generation:
            self.loading = False
            self._apply(state)

    def _failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.loading = False
            self._say(message)

    def _apply(self, state: S) -> None:
        raise NotImplementedError

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
