"""Files a recipe's steps read besides the sources (a folder of background noises).

A transform declares the parameters that name such folders (its ``resources`` class attribute);
a folder is written relative to the recipe's folder, as ``input.path`` is. Before a run, every
file in them is hashed (:func:`for_recipe`): the hashes go into the manifest header, and a
rerun keeps no earlier output when one changed (see :mod:`augtool.run.incremental`). The
derive path reads them through :class:`Resources`, which refuses a file whose bytes are not
the hashed ones, so a variant is never made from a noise the header does not name.

Medium-blind: what a file holds (a clip, an image) is the medium's to decode.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augtool.errors import InputError


class ResourceError(InputError):
    """A resource file is missing or is not the one hashed; the message names it."""


def declared(steps: Iterable[Any]) -> list[str]:
    """The resource folders ``steps`` read (blocks walked), as written, each once, sorted."""
    found: set[str] = set()
    for step in _leaves(steps):
        for param in getattr(type(step), "resources", ()):
            found.add(posixpath.normpath(str(step.config[param])))
    return sorted(found)


def _leaves(steps: Iterable[Any]) -> Iterator[Any]:
    for step in steps:
        children = getattr(step, "children", None)
        if children is not None:
            yield from _leaves(children)
        else:
            yield step


def hash_folders(root: Path, folders: list[str]) -> dict[str, str]:
    """sha256 of every file under ``folders`` (relative to ``root``), by its path from
    ``root`` in POSIX form; a folder that is missing or holds no file is an error."""
    hashes: dict[str, str] = {}
    for folder in folders:
        base = root / folder
        if not base.is_dir():
            raise InputError(
                f"{base}: resource folder not found ({folder!r} in the recipe is relative to "
                f"the recipe's folder {root})"
            )
        names = sorted(_files(base))
        if not names:
            raise InputError(f"{base}: resource folder holds no file")
        for name in names:
            key = posixpath.join(folder, name)
            hashes[key] = _sha256(root / key)
    return dict(sorted(hashes.items()))


def _files(base: Path) -> Iterator[str]:
    """Regular files under ``base`` (hidden ones left out), POSIX paths from it."""
    for folder, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(folder) / name
            if not name.startswith(".") and path.is_file():
                yield path.relative_to(base).as_posix()


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ResourceError(f"{path}: cannot read the resource ({exc.strerror or exc})") from None


@dataclass
class Resources:
    """The resource files a run's steps may read: ``root`` (the recipe's folder) and the
    sha256 of each file by its path from there. What a medium decodes of them is kept in
    :meth:`remember` for the life of this object (never pickled: each process decodes its own)."""

    root: str
    files: dict[str, str]
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def names(self, folder: str) -> list[str]:
        """The files of ``folder`` (as the recipe writes it), sorted: paths from the root."""
        prefix = posixpath.normpath(folder) + "/"
        return [name for name in self.files if name.startswith(prefix)]

    def read(self, name: str) -> bytes:
        """The bytes of file ``name``; raises :class:`ResourceError` when they are not the
        hashed ones (or ``name`` is not one of the files)."""
        expected = self.files.get(name)
        path = Path(os.path.normpath(Path(self.root) / name))
        if expected is None:
            raise ResourceError(f"{path}: not a resource file of this run")
        try:
            data = path.read_bytes()
        except OSError as exc:
            reason = exc.strerror or exc
            raise ResourceError(f"{path}: cannot read the resource ({reason})") from None
        if hashlib.sha256(data).hexdigest() != expected:
            raise ResourceError(f"{path}: changed since it was hashed (sha256 {expected[:12]}…)")
        return data

    def remember(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()``, once per ``key`` for this object (a decoded file); it must depend only on
        what ``key`` names, so that it never changes a byte."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def header(self, input_root: Path) -> dict[str, Any]:
        """What the manifest header records: the root from the input folder (where ``validate
        --source`` finds it again) and the files' hashes."""
        root = Path(os.path.relpath(Path(self.root).resolve(), input_root.resolve())).as_posix()
        return {"root": root, "files": dict(self.files)}

    def __getstate__(self) -> dict[str, Any]:
        return {"root": self.root, "files": self.files, "_memo": {}}


def for_recipe(steps: Iterable[Any], recipe_dir: Path) -> Resources | None:
    """The resources of a recipe's ``steps``, hashed now and checked by the steps that read
    them; None when they read none."""
    folders = declared(steps)
    if not folders:
        return None
    resources = Resources(str(recipe_dir.resolve()), hash_folders(recipe_dir, folders))
    for step in _leaves(steps):
        if getattr(type(step), "resources", ()):
            step.check_resources(resources)
    return resources


def from_header(recorded: Any, source_root: Path) -> Resources | None:
    """The resources a manifest header records (``resources``), found from ``source_root``
    (the input folder the run read); None when it records none."""
    if not isinstance(recorded, dict) or not isinstance(recorded.get("files"), dict):
        return None
    root = source_root / str(recorded.get("root", "."))
    files = {str(k): str(v).lower() for k, v in recorded["files"].items()}
    return Resources(os.path.normpath(root.resolve()), files)


__all__ = ["ResourceError", "Resources", "declared", "for_recipe", "from_header", "hash_folders"]
