"""A zero-argument function computed once per process, safe to call from several threads:
a caller that comes while another computes waits for that answer instead of computing it
a second time. An exception is not kept (the next call tries again)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Once(Generic[T]):
    def __init__(self, compute: Callable[[], T]) -> None:
        self._compute = compute
        self._lock = threading.Lock()
        self._answer: list[T] = []
        functools.update_wrapper(self, compute)

    def __call__(self) -> T:
        with self._lock:
            if not self._answer:
                self._answer.append(self._compute())
            return self._answer[0]


def once(compute: Callable[[], T]) -> Once[T]:
    return Once(compute)
