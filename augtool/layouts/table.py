"""The ``table`` layout: text datasets whose files hold many examples each (docs/text.md).

A CSV or JSONL file (or a ``.txt`` of one example per line) is one source; its split is its top
folder (``train/reviews.csv``) or its own name (``train.csv``). Its rows' labels are columns,
carried unchanged by the medium, so nothing here moves labels. Each source's variants go into
one variant file (``packs_variants``), in which the medium writes ``variants`` variants of each
row.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from augtool.layouts.base import Layout
from augtool.layouts.discovery import Dataset, Skip, Source, Walk, sorted_skips

#: the ending of a variant file's row table (augtool.media.text.stream)
ROWS_ENDING = ".rows.jsonl"

#: the endings ``auto`` takes as a table (a ``.txt`` alone is an image-less flat file)
TABLE_ENDINGS = (".csv", ".jsonl")


def split_of(rel: str, names: set[str]) -> str | None:
    """The split a file belongs to by its top folder or, at the top, its own stem."""
    parts = rel.split("/")
    if len(parts) > 1:
        return parts[0] if parts[0] in names else None
    stem = os.path.splitext(parts[0])[0]
    return stem if stem in names else None


_VARIANT = re.compile(r"__v\d+$")


class TableLayout(Layout):
    name = "table"
    detect_order = 40
    packs_variants = True

    def detect(self, root: Path, candidates: list[str], split_names: set[str]) -> bool:
        return any(c.lower().endswith(TABLE_ENDINGS) for c in candidates)

    def discover(
        self,
        root: Path,
        walk: Walk,
        split_names: set[str],
        augmented: set[str],
        follow_links: bool,
    ) -> Dataset:
        """Every file is a source; when some are in a split, those outside any are skipped."""
        splits = {rel: split_of(rel, split_names) for rel in walk.candidates}
        found = sorted({s for s in splits.values() if s is not None})
        skipped = list(walk.skipped)
        sources: list[Source] = []
        for rel, split in splits.items():
            if found and split is None:
                where = ", ".join(sorted(split_names))
                skipped.append(Skip(rel, f"outside the splits (a folder or file named {where})"))
                continue
            augment = split is None or split in augmented
            sources.append(Source(rel, split, None, augment, rel in walk.links))
        return Dataset(
            root=root,
            layout=self.name,
            splits=tuple(found),
            sources=tuple(sources),
            skipped=sorted_skips(skipped),
        )

    def in_split(self, path: str, split: Any) -> bool:
        """In the split's folder, or at the top named as the split (``train.csv``, its
        variant file ``train__v00.csv`` and that file's row table)."""
        parts = path.removesuffix(ROWS_ENDING).split("/")
        if len(parts) > 1:
            return parts[0] == split
        return _VARIANT.sub("", os.path.splitext(parts[0])[0]) == split


__all__ = ["TABLE_ENDINGS", "TableLayout", "split_of"]
