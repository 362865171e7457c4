"""Where a run keeps its state in the output: hidden files at its root (names in
:mod:`augtool.manifest.names`), which no dataset loader takes for data.

Earlier augtool versions kept the same files in an ``OUT/.augtool/`` folder, which
torchvision's class-folder dataset lists as a class (it takes every sub-folder, hidden ones
too). Such an output still works: its state is read
from there while the root holds none (:func:`state_file`), and the next run, under its lock,
moves it to the root and removes the folder (:func:`adopt_legacy_state`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from augtool.atomic import TEMP_PREFIX
from augtool.manifest import LEGACY_STATE_NAMES, LOCK_NAME, STATE_DIR

#: The prefix of the sort's temporary folders that earlier versions made in ``.augtool/``.
_LEGACY_SORT_PREFIX = "augtool-sort-"


def state_file(output_root: Path, name: str) -> Path:
    """The state file ``name`` as a run reads it: at the root, or in the ``.augtool/`` folder
    of an output an earlier version made, when only that one exists."""
    path = output_root / name
    if os.path.lexists(path):
        return path
    legacy = output_root / STATE_DIR / LEGACY_STATE_NAMES[name]
    return legacy if legacy.is_file() else path


def adopt_legacy_state(output_root: Path) -> None:
    """Under the run's lock: move an earlier version's state from ``.augtool/`` to the root
    (a file already at the root wins) and remove the folder. Only augtool's own files are
    removed; a folder holding anything else stays (and keeps it)."""
    folder = output_root / STATE_DIR
    if folder.is_symlink() or not folder.is_dir():
        return
    for name, old in LEGACY_STATE_NAMES.items():
        path = folder / old
        if name != LOCK_NAME and path.is_file() and not os.path.lexists(output_root / name):
            os.replace(path, output_root / name)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    for child in folder.iterdir():
        if child.name.startswith(TEMP_PREFIX) and not child.is_dir():
            child.unlink()
        elif child.name.startswith(_LEGACY_SORT_PREFIX) and child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
    with contextlib.suppress(OSError):
        folder.rmdir()


def remove_legacy_state(output_root: Path) -> None:
    """--force: an earlier version's state folder goes with the rest of the earlier run."""
    folder = output_root / STATE_DIR
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder)
