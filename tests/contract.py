"""Helpers the tests share: the files an output folder holds by contract."""

from __future__ import annotations

import hashlib
from pathlib import Path

from augtool.manifest import STATE_DIR, STATE_FILES

#: The top-level entries of an output that hold augtool's run state: its files at the root, and
#: the folder earlier versions kept them in.
STATE = frozenset({STATE_DIR, *STATE_FILES})


def tree(root: Path) -> dict[str, str]:
    """Every file's sha256 by relative path, except run.json and the run state (outside the
    determinism contract)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "run.json" and not is_state(root, p)
    }


def is_state(root: Path, path: Path) -> bool:
    """Whether ``path`` below the output ``root`` is augtool's run state (or in a ``.augtool``
    folder anywhere)."""
    return path.relative_to(root).parts[0] in STATE or ".augtool" in path.parts
