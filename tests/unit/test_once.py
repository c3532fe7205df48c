"""core.once: a probe started in the background is not run again by whoever asks next."""

from __future__ import annotations

import threading
import time

import pytest

from dockyard.core.once import once


def test_a_caller_that_comes_during_the_computation_waits_for_its_answer() -> None:
    calls: list[int] = []

    @once
    def slow() -> str:
        calls.append(1)
        time.sleep(0.2)
        return "answer"

    background = threading.Thread(target=slow)
    background.start()
    time.sleep(0.05)
    assert slow() == "answer"
    background.join()
    assert slow() == "answer"
    assert calls == [1]


def test_a_failure_is_not_kept() -> None:
    attempts: list[int] = []

    @once
    def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("not yet")
        return len(attempts)

    with pytest.raises(RuntimeError):
        flaky()
    assert flaky() == 2
    assert flaky() == 2
