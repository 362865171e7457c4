"""Leakage, and the provenance of each file: no augmented file from a split the recipe does not
augment, no file outside its split's folder, no source (by path or by content) in two splits,
and an original hashes as its source does."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augtool.layouts.base import split_augmented
from augtool.validate.checks import HEX64, mapping
from augtool.validate.checks.paths import source_path_safe, unsafe_reason
from augtool.validate.report import Findings


@dataclass
class SeenSource:
    split: Any
    sha256: str


class Provenance:
    """Each file line's split and source, as it streams by; keeps one entry per source (what
    ``--source`` then hashes)."""

    def __init__(self, manifest: str, header: dict[str, Any], found: Findings) -> None:
        self.manifest = manifest
        self.header = header
        self.found = found
        self.sources_seen: dict[str, SeenSource] = {}
        self.by_content: dict[str, tuple[Any, str]] = {}
        #: each image source's split and recorded pHash (None when the manifest has none)
        self.image_sources: dict[str, tuple[Any, str | None]] = {}
        #: where each example key was first seen (split, path, its 1-based place in the file):
        #: an ``ExampleKeys``, made when a line first lists examples
        self.by_example: Any = None
        #: each source copied as it is into the output (an original): the copy's path
        self.copies: dict[str, str] = {}
        #: the splits examples were seen in (an example may name its own: a split column)
        self.example_splits: set[Any] = set()
        # The recipe's own list (covered by the recipe hash), not the header's copy of it.
        splits = mapping(mapping(header.get("recipe")).get("splits"))
        self.augment = set(splits.get("augment") or [])
        self.found_splits = set(mapping(header.get("splits")).get("found") or [])
        #: each split's folders, when the layout recorded them (not named after the split)
        self.folders = mapping(mapping(header.get("splits")).get("folders"))
        from augtool.layouts import registry
        from augtool.layouts.base import Layout

        self.layout = registry.find(header.get("layout")) or Layout()

    def take(self, number: int, record: dict[str, Any]) -> None:
        path, split, role = record["path"], record.get("split"), record["role"]
        source = record["source"]
        source_path, source_sha = source.get("path"), source.get("sha256")
        if role == "dataset":
            return  # a file of the dataset itself (data.yaml): in no split
        if self.found_splits:
            for where in (path, source_path):
                if isinstance(where, str) and not self._under(where, split):
                    message = f"recorded in split {split!r} but is not under it"
                    self.found.add("leakage", where, message)
        if role == "augmented" and not self._augmentable(split):
            self.found.add(
                "leakage",
                path,
                f"augmented from split {split!r}, which the recipe does not augment "
                f"(augments: {', '.join(sorted(self.augment)) or 'none'})",
            )
        verbatim = record.get("how") != "normalize"  # a normalized original is re-encoded
        if (
            role == "original"
            and verbatim
            and str(record["sha256"]).lower() != str(source_sha).lower()
        ):
            self.found.add("source", path, "an original whose sha256 differs from its source's")
        elif role == "original" and verbatim and isinstance(source_path, str):
            self.copies[source_path] = path
        if isinstance(record.get("examples"), list):
            self._examples(path, split, record["examples"])
        elif record.get("kind") == "rows" and isinstance(record.get("image"), str):
            self._row_table(path, split, record)
        if not source_path_safe(self.found, source_path):
            return
        if not isinstance(source_sha, str) or not HEX64.match(source_sha):
            self._at(number, f"source sha256 {source_sha!r} is not 64 hex digits")
            return
        if record.get("kind", "image") == "image":
            # Label files may share content across splits (two empty background labels do).
            self._source_split(number, source_path, split, source_sha.lower())
            recorded = record.get("source_phash")
            known = self.image_sources.get(source_path)
            if known is None or (known[1] is None and isinstance(recorded, str)):
                self.image_sources[source_path] = (split, recorded)

    @property
    def splits_to_compare(self) -> bool:
        """Whether sources, or the examples they hold, were seen in two splits or more."""
        splits = {split for split, _ in self.image_sources.values()}
        return len(splits) >= 2 or len(self.example_splits) >= 2

    def near_duplicates(self, source: Path | None, medium: str, jobs: int = 1) -> None:
        """Sources in two splits whose fingerprints (the medium's: an image's pHash) are near:
        the recorded ones, else (an older manifest) those of the ``source`` files, when given,
        fingerprinted across ``jobs`` processes. A medium whose sources hold many examples (a
        text table) records none: its examples are read from the ``source`` files, else from the
        originals the output holds as copies."""
        if not self.splits_to_compare:
            return
        # Here, not at the top: numpy is loaded only for a manifest with splits to compare.
        from augtool.media import registry
        from augtool.neardup import cross_split_pairs

        found = registry.get(medium)
        if hasattr(found, "example_fingerprints"):
            items = self._example_items(source, medium, jobs)
        elif hasattr(found, "fingerprint"):
            items = self._source_items(source, medium, jobs)
        else:
            return
        what = found.fingerprint_name  # type: ignore[attr-defined]
        width: int = getattr(found, "fingerprint_width", 64)
        bits: int = found.fingerprint_bits  # type: ignore[attr-defined]
        for pair in cross_split_pairs(items, bits, width):
            self.found.add("leakage", pair.second.path, pair.describe(what))

    def _source_items(self, source: Path | None, medium: str, jobs: int) -> list[Any]:
        from augtool.neardup import Hashed
        from augtool.run.executors.hashing import fingerprint_files

        values = {path: int(rec, 16) for path, (_, rec) in self.image_sources.items() if rec}
        if source is not None:
            unrecorded = [path for path in self.image_sources if path not in values]
            computed = fingerprint_files(medium, source, unrecorded, jobs)
            for path, value in zip(unrecorded, computed, strict=True):
                if value is not None:
                    values[path] = value
        items = []
        for path, (split, _) in self.image_sources.items():
            if path in values:
                items.append(Hashed(path, split, values[path]))
        return items

    def _example_items(self, source: Path | None, medium: str, jobs: int) -> list[Any]:
        from augtool.neardup import example_items
        from augtool.run.derive import recipe_settings
        from augtool.run.executors.hashing import example_fingerprint_files

        # Without --source, the originals copied as they are (their sha256 is their source's,
        # which the other checks vouch for) are read instead.
        paths = list(self.image_sources)
        read = paths if source is not None else [self.copies.get(p) for p in paths]
        root = source if source is not None else Path(self.manifest).parent
        taken = [(path, at) for path, at in zip(paths, read, strict=True) if at is not None]
        settings = recipe_settings(mapping(self.header.get("recipe")), self.header.get("layout"))
        found = example_fingerprint_files(medium, root, [at for _, at in taken], settings, jobs)
        items = []
        for (path, _), examples in zip(taken, found, strict=True):
            if examples is not None:
                items.extend(example_items(path, self.image_sources[path][0], examples))
        return items

    def _under(self, path: str, split: Any) -> bool:
        if self.folders:
            folders = self.folders.get(split) if isinstance(split, str) else None
            return isinstance(folders, list) and any(
                isinstance(f, str) and path.startswith(f + "/") for f in folders
            )
        return bool(self.layout.in_split(path, split))

    def _examples(self, path: str, split: Any, keys: Iterable[Any]) -> None:
        """An example (a row of a text file) whose content is one in another split: reported
        once for each pair of files."""
        if self.by_example is None:
            # Here, not at the top: NumPy is loaded only for a manifest that lists examples.
            from augtool.validate.checks.examples import ExampleKeys

            self.by_example = ExampleKeys()
        reported: set[tuple[str, Any]] = set()
        for place, where, first_path, first_place, first_split in self.by_example.add(
            path, split, keys
        ):
            if (first_path, where) not in reported:
                reported.add((first_path, where))
                self.found.add(
                    "leakage",
                    path,
                    f"example {place} (split {where!r}) has the same content as example "
                    f"{first_place} of {first_path} in split {first_split!r}",
                )
        self.example_splits |= self.by_example.seen_splits()

    def examples_seen(self) -> None:
        """Every line has been taken: the example keys (tens of MiB for a table of a million
        rows) are let go before fixity and recompute run."""
        self.by_example = None

    def _row_table(self, path: str, split: Any, record: dict[str, Any]) -> None:
        """The examples a row table lists: its source rows' (of the source file) and its
        written variants' (of the file it describes). Read twice, a line at a time (a
        variant's line has a seed), so that no list of its keys is held."""
        if unsafe_reason(path) is not None:
            return
        full = Path(self.manifest).parent / path
        try:
            self._examples(str(record["source"].get("path")), split, _keys_of(full, False))
            self._examples(record["image"], split, _keys_of(full, True))
        except (OSError, ValueError):
            return  # a missing or edited row table is fixity's finding

    def _augmentable(self, split: Any) -> bool:
        # An unsplit dataset (split null) is one split, and it is augmented.
        if split is None:
            return not self.found_splits
        return split_augmented(split, self.augment)

    def _source_split(self, number: int, source_path: str, split: Any, sha: str) -> None:
        seen = self.sources_seen.get(source_path)
        if seen is not None:
            if seen.split != split:
                self.found.add(
                    "leakage",
                    source_path,
                    f"source appears in two splits ({seen.split!r} and {split!r})",
                )
            if seen.sha256 != sha:
                self._at(number, f"source {source_path!r} recorded with two different sha256")
            return
        self.sources_seen[source_path] = SeenSource(split, sha)
        first = self.by_content.setdefault(sha, (split, source_path))
        if first[0] != split:
            self.found.add(
                "leakage",
                source_path,
                f"same content (sha256 {sha}) as {first[1]} in split {first[0]!r}",
            )

    def _at(self, number: int, message: str) -> None:
        self.found.add("manifest", f"{self.manifest}:{number}", message)


def _keys_of(table: Path, variants: bool) -> Iterator[Any]:
    """The example keys of a row table's variant lines, or of its source rows' lines."""
    with open(table, encoding="utf-8") as handle:
        for line in handle:
            if ('"seed":' in line) != variants:
                continue  # a cheap test first: each line is parsed in one of the two passes
            entry = json.loads(line)
            if isinstance(entry, dict) and "example" in entry and ("seed" in entry) == variants:
                yield entry["example"]
