"""Completeness: every listed file exists and is a regular file, and nothing else is in the
output (apart from the manifest and the files the contract names).

The output folder is walked once without following symbolic links, so a link can neither lead
the check outside the output nor loop it forever; each listed path is then crossed off what the
walk saw, and what is left over is extra."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from augtool.manifest import CONTRACT_FILES
from augtool.run.tree import kind_of
from augtool.run.tree import walk as walk_output
from augtool.validate.report import Findings


@dataclass
class Tree:
    """The output folder as one walk saw it: regular files with their sizes, and everything
    else that is not a folder (links, FIFOs, sockets, devices) with what it is."""

    files: dict[str, int] = field(default_factory=dict)
    others: dict[str, str] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)


def walk(root: Path, manifest_name: str) -> Tree:
    """The output as :func:`augtool.run.tree.walk` sees it, the manifest and the files the
    contract names left out."""
    tree = Tree()
    for entry in walk_output(root, skip={manifest_name, *CONTRACT_FILES}):
        if entry.mode is None:
            tree.unreadable.add(entry.path)
        elif entry.is_file:
            tree.files[entry.path] = entry.size
        else:
            tree.others[entry.path] = kind_of(entry.mode)
    return tree


class Completeness:
    """Listed against found: each listed path is crossed off the walk, the rest is extra."""

    def __init__(self, tree: Tree, found: Findings) -> None:
        self.tree = tree
        self.found = found
        for folder in sorted(tree.unreadable):
            found.add("unreadable", folder, "cannot be listed; its files were not checked")

    def locate(self, path: str) -> int | None:
        """The size the walk found for ``path``, a regular file; ``None`` (and a problem) when
        the walk did not reach it as one."""
        size = self.tree.files.pop(path, None)
        if size is not None:
            return size
        other = self.tree.others.pop(path, None)
        if other is not None:
            self.found.add("not_regular", path, f"is {other}, not a regular file; not followed")
            return None
        parent = self._blocked_parent(path)
        if parent is None:
            self.found.add("missing", path, "listed in the manifest but missing")
        elif parent in self.tree.others:
            message = f"lies behind {parent}, a symbolic link; not followed"
            self.found.add("not_regular", path, message)
        else:
            self.found.add("unreadable", path, f"lies in {parent}, which cannot be listed")
        return None

    def _blocked_parent(self, path: str) -> str | None:
        """The folder on the way to ``path`` that the walk did not enter (a link, unlistable)."""
        parts = path.split("/")
        for end in range(1, len(parts)):
            parent = "/".join(parts[:end])
            if parent in self.tree.others or parent in self.tree.unreadable:
                return parent
        return None

    def finish(self) -> None:
        """What the walk found and no line listed."""
        extras = {path: "" for path in self.tree.files}
        extras.update((path, f" ({kind}; not followed)") for path, kind in self.tree.others.items())
        for path in sorted(extras):
            self.found.add("extra", path, f"present but not in the manifest{extras[path]}")
