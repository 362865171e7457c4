"""Named domain errors. The CLI turns each into one ``Error: …`` line and an exit code."""

from __future__ import annotations

# Not typing's: `import augtool` loads this module, and stays cheap without typing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: What an interrupted command prints (exit 130), whenever the interrupt lands.
INTERRUPTED = "Interrupted: finished work is kept; run the same command again to resume."


class AugtoolError(Exception):
    """Base class: the message is the whole user-facing line; ``exit_code`` says how to leave."""

    exit_code = EXIT_USAGE


class ParamError(ValueError):
    """A parameter value does not have the expected form (raised by the param kinds)."""


class UsageError(AugtoolError, ValueError):
    """Arguments that make no sense: out of range, unknown, or two that exclude each other.

    The template names each argument as ``{name}`` and each value as a keyword, as in
    ``UsageError("{backend} {value!r}: ...", value=backend)``, so that the Python API says
    ``backend`` and the command line ``--backend`` (:meth:`spelled`); ``str()`` is the API's."""

    def __init__(self, template: str, **values: Any) -> None:
        self.template = template
        self.values = values
        super().__init__(self.spelled(lambda name: name))

    def spelled(self, spell: Callable[[str], str]) -> str:
        """The message with each argument's name replaced by ``spell(name)``."""
        return self.template.format_map(_Spelled(self.values, spell))


class _Spelled(dict[str, object]):
    def __init__(self, values: dict[str, Any], spell: Callable[[str], str]) -> None:
        super().__init__(values)
        self.spell = spell

    def __missing__(self, name: str) -> str:
        return self.spell(name)


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
