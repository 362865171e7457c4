"""``flat``: images anywhere below the split root; no labels. ``auto``'s last resort."""

from __future__ import annotations

from pathlib import Path

from augtool.layouts.base import Layout
from augtool.layouts.discovery import Dataset, Walk, split_folder_sources


class FlatLayout(Layout):
    name = "flat"
    detect_order = 90

    def detect(self, root: Path, candidates: list[str], split_names: set[str]) -> bool:
        return True

    def discover(
        self,
        root: Path,
        walk: Walk,
        split_names: set[str],
        augmented: set[str],
        follow_links: bool,
    ) -> Dataset:
        return split_folder_sources(root, self.name, walk, split_names, augmented, classes=False)
