"""``imagefolder``: the first folder below the split root is the class (``train/cat/x.jpg``),
as torchvision's ``ImageFolder`` reads it; no label files."""

from __future__ import annotations

from pathlib import Path

from augtool.layouts.base import Layout
from augtool.layouts.discovery import (
    Dataset,
    Walk,
    found_split_folders,
    split_folder_sources,
    split_parts,
)


class ImageFolderLayout(Layout):
    name = "imagefolder"
    detect_order = 80
    class_folders = True

    def detect(self, root: Path, candidates: list[str], split_names: set[str]) -> bool:
        """Any image in a subfolder of a split folder (of the input, when it has no splits)."""
        split_mode = bool(found_split_folders(candidates, split_names))
        for rel in candidates:
            split, below = split_parts(rel, split_names)
            if split_mode and split is None:
                continue
            if len(below) > 1:
                return True
        return False

    def discover(
        self,
        root: Path,
        walk: Walk,
        split_names: set[str],
        augmented: set[str],
        follow_links: bool,
    ) -> Dataset:
        return split_folder_sources(root, self.name, walk, split_names, augmented, classes=True)
