"""Helpers the tests share: the files an output folder holds by contract."""

from __future__ import annotations

import hashlib
from pathlib import Path


def tree(root: Path) -> dict[str, str]:
    """Every file's sha256 by relative path, except run.json and .augtool/ (outside the
    determinism contract)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "run.json" and ".augtool" not in p.parts
    }
