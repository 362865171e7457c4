"""How the commands end on an error: one ``Error: …`` line, its exit code, and under ``--json``
the error as a JSON object on stdout. Errors become exit codes here, and only here."""

from __future__ import annotations

import json
import signal
import sys
from typing import Any, NoReturn

import typer

from augtool import entry
from augtool.errors import EXIT_INTERRUPTED, EXIT_USAGE, INTERRUPTED, AugtoolError, UsageError


def fail(message: str, code: int = EXIT_USAGE, as_json: bool = False) -> NoReturn:
    """One ``Error: …`` line on stderr and exit ``code``; under ``--json`` also the error as
    a JSON object on stdout, where a script reads the command's result."""
    if as_json:
        typer.echo(json.dumps({"error": _error(message, code)}, indent=2))
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def _error(message: str, code: int) -> dict[str, Any]:
    return {"message": message, "exit_code": code}


class errors_to_exit:
    """Turn domain errors into one ``Error: …`` line and their exit code; Ctrl-C into 130.

    Within it, the start-up handlers of :mod:`augtool.entry` (exit at once) give way to
    Python's own (SIGINT raises ``KeyboardInterrupt``, SIGTERM ends the process), so that a
    command cleans up on the way out: a temporary file, a worker pool."""

    def __init__(self, as_json: bool = False) -> None:
        self.as_json = as_json

    def __enter__(self) -> None:
        self.startup: dict[int, Any] = {}
        if signal.getsignal(signal.SIGINT) is entry.stop:
            self.startup[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
        if signal.getsignal(signal.SIGTERM) is entry.stop:
            self.startup[signal.SIGTERM] = signal.signal(signal.SIGTERM, signal.SIG_DFL)
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        for number, handler in self.startup.items():
            signal.signal(number, handler)
        if isinstance(exc, UsageError):
            fail(exc.spelled(_option), exc.exit_code, self.as_json)
        if isinstance(exc, AugtoolError):
            fail(str(exc), exc.exit_code, self.as_json)
        if isinstance(exc, KeyboardInterrupt) or _caused_by_an_interrupt(exc):
            if self.as_json:
                typer.echo(json.dumps({"error": _error(INTERRUPTED, EXIT_INTERRUPTED)}, indent=2))
            typer.echo(INTERRUPTED, err=True)
            raise typer.Exit(EXIT_INTERRUPTED)
        return False


def _caused_by_an_interrupt(exc: BaseException | None) -> bool:
    """An unexpected error after Ctrl-C or SIGTERM came during ``expand``, whose exception
    Python or a library dropped or turned into another: numpy, interrupted while importing,
    raised ``ImportError: numpy._core.multiarray failed to import`` (exit 1, a traceback)."""
    if not isinstance(exc, Exception) or isinstance(exc, typer.Exit):
        return False
    interrupts = sys.modules.get("augtool.run.executors.interrupts")  # not imported: no run
    return interrupts is not None and bool(interrupts.interrupt_came())


def _option(name: str) -> str:
    """An API argument as the command line spells it: ``--backend``; OUT is -o's metavar."""
    return "OUT" if name == "output" else "--" + name.replace("_", "-")
