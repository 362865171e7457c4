"""Helpers the tests share: the processes a run leaves (from /proc), and a lost interrupt."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import weakref
from pathlib import Path

#: Set in a child's environment so that :func:`ended` can have it print every thread's stack.
FAULTHANDLER = {"PYTHONFAULTHANDLER": "1"}


def children_of(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pids: set[int], seconds: float = 15.0) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = {pid for pid in pids if alive(pid)}
        if not left:
            return left
        time.sleep(0.1)
    return {pid for pid in pids if alive(pid)}


def drop_an_interrupt(signum: int = signal.SIGINT) -> None:
    """A signal whose handler runs in a weakref callback, as the import system's module-lock
    one: Python drops the ``KeyboardInterrupt`` (``Exception ignored in …``) and goes on."""

    class Thing:
        pass

    thing = Thing()
    ref = weakref.ref(thing, lambda _: signal.raise_signal(signum))
    del thing
    assert ref() is None


def ended(proc: subprocess.Popen, seconds: float = 120.0) -> tuple[bytes, bytes]:
    """``proc``'s output once it ends. A process that does not end within ``seconds`` fails the
    test with the stack of every thread of it and its workers (started with
    :data:`FAULTHANDLER`, SIGABRT makes Python print them), so a hang says where it hangs."""
    try:
        return proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        for pid in [*sorted(children_of(proc.pid)), proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGABRT)
        try:
            _, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
        raise AssertionError(
            f"still running {seconds:.0f} s later; its stacks:\n{stderr.decode(errors='replace')}"
        ) from None
