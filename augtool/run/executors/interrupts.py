"""Ctrl-C and SIGTERM during a run, the same for every executor: held while a worker starts,
turned into one ``KeyboardInterrupt`` (exit 130) otherwise, and noted when Python drops it."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block is done, then deliver them as they would have
    been (Ctrl-C raises ``KeyboardInterrupt``, as does SIGTERM under the CLI).

    loky starts its worker processes inside ``submit``; interrupted there, it was left with a
    half-started worker (which printed a traceback) and raised an ``UnboundLocalError`` from its
    clean-up in place of the interrupt: a traceback and exit 1 instead of exit 130. Measured by
    sending SIGINT at 0 to 0.8 s after a run's journal appeared: the 0.1 s case failed so.

    The two signals are also blocked in this thread's signal mask, which a process (or thread)
    started here inherits, across exec: loky's workers and its manager thread (which replaces a
    worker that timed out or died) are born with them blocked and never react to them. A Ctrl-C
    at a terminal goes to the whole process group; a worker still importing its libraries raised
    ``KeyboardInterrupt`` and printed a 20 to 60 line traceback beside the run's one line (10
    runs of 10 interrupted 0.8 s after start at ``--jobs 2``). The main process handles the
    interrupt and kills its workers (:func:`stop_workers`, with SIGKILL, which no mask holds).
    A blocked signal stays pending: unblocked at the end of the block, it comes to the main
    process as it would have.

    Only the main thread receives Python's signal handlers, so elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        held.append(signum)

    numbers = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, hold) for number in numbers}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, numbers)
    try:
        yield
    finally:
        # Unblocked while ``hold`` is still there: a signal that waited runs it now.
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in dict.fromkeys(held):  # each signal once, in the order it came
            handler = previous[number]
            if callable(handler):
                handler(number, None)
            elif handler != signal.SIG_IGN:  # the default action (None: set outside Python)
                os.kill(os.getpid(), number)


#: An interrupt came during the run: set by :func:`_interrupt` (and by the hook for dropped
#: exceptions) within :func:`interrupts_stop_the_run`, which clears it on the way out.
_interrupted = False


def _interrupt(signum: int, frame: Any) -> None:
    """SIGINT and SIGTERM during a run: note that one came, then raise ``KeyboardInterrupt``.

    Python drops an exception raised where it cannot propagate: in a weakref callback (the
    import system's module-lock callback, ``Exception ignored in: <function
    _get_module_lock.<locals>.cb …>``), in a ``__del__``. A Ctrl-C landing there was lost,
    and the run went on to write its manifest and exit 0 (1 run in about 150 interrupted 0.25
    to 0.7 s after start); the note lets the run stop at its next safe point."""
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if an interrupt came (its own may have been dropped)."""
    if _interrupted:
        raise KeyboardInterrupt


def interrupt_came() -> bool:
    """Whether an interrupt came in :func:`interrupts_stop_the_run` (raised or dropped)."""
    return _interrupted


@contextlib.contextmanager
def interrupts_stop_the_run() -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM (a CI timeout, ``kill``) both raise
    ``KeyboardInterrupt``, so a run stops the same way for either (workers stopped, finished
    work journaled, exit 130), and are noted for :func:`raise_if_interrupted`. A
    ``KeyboardInterrupt`` that Python drops is not printed (``Exception ignored in …``): the
    run says it was interrupted, in one line. The handlers and the hook are put back after
    the block (the CLI's ``expand`` runs in it)."""
    global _interrupted
    _interrupted = False
    hook = sys.unraisablehook

    def unraisable(info: Any) -> None:
        global _interrupted
        if isinstance(info.exc_value, KeyboardInterrupt):
            _interrupted = True
            return
        hook(info)

    numbers = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, _interrupt) for number in numbers}
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        _interrupted = False  # for the next run in this process
        sys.unraisablehook = hook
        for number, handler in previous.items():
            if handler is not None:  # None: set outside Python, cannot be put back
                signal.signal(number, handler)
