"""Path safety: a recorded path is judged on its text, before anything is looked up on disk."""

from __future__ import annotations

import re
from typing import Any

from augtool.validate.checks import text
from augtool.validate.report import Findings

_DRIVE = re.compile(r"^[A-Za-z]:")
_SEPARATORS = re.compile(r"[/\\]")


def unsafe_reason(path: Any) -> str | None:
    """Why a recorded path must not be looked up under the output (``None``: it is safe).
    A pure check of the text: nothing is opened or stat'ed."""
    if not isinstance(path, str) or not path:
        return "not a path"
    if "\0" in path:
        return "contains a NUL character"
    if path.startswith(("/", "\\")):
        return "absolute path"
    if path.startswith("~"):
        return "home-relative path"
    if _DRIVE.match(path):
        return "drive-letter path"
    parts = _SEPARATORS.split(path)
    if ".." in parts:
        return "goes up out of the folder (..)"
    if any(part in ("", ".") for part in parts):
        return "not a canonical relative path (empty or '.' part)"
    return None


def listed_path_safe(found: Findings, path: Any) -> bool:
    """Whether a listed path may be looked up; an unsafe one is reported and never opened."""
    reason = unsafe_reason(path)
    if reason is not None:
        found.add("unsafe_path", text(path), f"unsafe path ({reason}); not opened")
    return reason is None


def source_path_safe(found: Findings, path: Any) -> bool:
    """Whether a recorded source path may be looked up under ``--source``."""
    reason = unsafe_reason(path)
    if reason is not None:
        found.add("unsafe_path", text(path), f"unsafe source path ({reason})")
    return reason is None
