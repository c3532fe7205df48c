"""Which process owns a run or deployment, and whether it is gone (for crash recovery)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dockyard.store.owner import ZOMBIE, ProcessOwner, start_marker

needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def test_this_process_is_alive_and_another_host_cannot_be_checked() -> None:
    me = ProcessOwner.current()
    assert me.pid == os.getpid() and me.alive() is True
    assert ProcessOwner("elsewhere.example.test", me.pid, me.started).alive() is None
    assert ProcessOwner("", 0, "").alive() is False  # rows from before owners were recorded


@needs_proc
def test_a_finished_process_is_gone_even_before_it_is_reaped() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    marker = None
    deadline = time.monotonic() + 30
    while marker != ZOMBIE and time.monotonic() < deadline:
        marker = start_marker(child.pid)  # not reaped yet: a zombie once it exits
        time.sleep(0.02)
    try:
        assert marker == ZOMBIE
        assert ProcessOwner.current().host
        owner = ProcessOwner(ProcessOwner.current().host, child.pid, "boot:1")
        assert owner.alive() is False
    finally:
        child.wait()
    assert start_marker(child.pid) is None
