"""Named domain errors. The CLI turns each into one ``Error: …`` line and an exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class AugtoolError(Exception):
    """Base class: the message is the whole user-facing line; ``exit_code`` says how to leave."""

    exit_code = EXIT_USAGE


class ParamError(ValueError):
    """A parameter value does not have the expected form (raised by the param kinds)."""


class RecipeError(AugtoolError):
    """The recipe is unreadable or invalid; names the file, line and column."""

    def __init__(self, file: str, message: str, line: int | None = None, column: int | None = None):
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        where = file if line is None else f"{file}:{line}:{column}"
        super().__init__(f"{where}: {message}")


class InputError(AugtoolError):
    """The input folder cannot be used (missing, not a folder, unknown layout, name clash)."""


class OutputError(AugtoolError):
    """The output folder cannot be used (inside the input, not an augtool output, locked)."""


class ManifestError(AugtoolError):
    """A manifest cannot be read at all (unknown schema, not JSON Lines)."""


class WriteError(AugtoolError):
    """Writing an output failed (disk full, permission): the run stops, resumable."""

    exit_code = EXIT_FAILED
