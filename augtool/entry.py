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


def main() -> None:
    install()
    run()
