"""The ``augtool`` command (and ``python -m augtool``): stop cleanly on Ctrl-C from the first line.

The command line imports typer, rich and then numpy, Pillow and joblib, which takes a good part of
a second; a ``KeyboardInterrupt`` raised in an import prints a long traceback from the import
system, or is turned into an ``ImportError``. So the handlers are installed here, before
anything heavy is imported: until a command takes over (see ``augtool.cli``), Ctrl-C or SIGTERM
prints one line and exits 130 at once. Nothing has been written by then that needs cleaning up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from types import FrameType

from augtool.errors import EXIT_INTERRUPTED, INTERRUPTED


def stop(signum: int, frame: FrameType | None) -> None:
    """The start-up handler: one line, exit 130, no unwinding through half-imported modules."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # no stderr: the code says it
        os.write(sys.stderr.fileno(), f"{INTERRUPTED}\n".encode())
    os._exit(EXIT_INTERRUPTED)


def install() -> None:
    """Put :func:`stop` in place for Ctrl-C and SIGTERM."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, stop)


def run() -> None:
    """The command line proper (imports typer and the rest)."""
    from augtool.cli import main as cli

    cli()


#: How long an interrupted command waits for the threads a library left running (loky's pool
#: manager) before it exits without them.
STRAGGLER_SECONDS = 10.0


def exit_without_stragglers(code: int, seconds: float = STRAGGLER_SECONDS) -> None:
    """After an interrupt: exit ``code`` now if another thread is still running ``seconds``
    later. Python joins such threads at exit, and loky's manager thread, whose workers were
    just killed, can wait forever on a pipe no process reads any more; a user who pressed
    Ctrl-C must get the prompt back. Everything augtool writes is closed by now."""
    deadline = time.monotonic() + seconds
    others = [
        t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon
    ]
    for thread in others:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in others):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)


def main() -> None:
    install()
    try:
        run()
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED:
            exit_without_stragglers(EXIT_INTERRUPTED)
        raise
