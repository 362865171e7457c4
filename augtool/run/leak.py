"""Leakage by content, before expand writes anything: sources in two splits whose fingerprints are
near (:mod:`augtool.neardup`; each medium with a ``fingerprint`` hook gives its own: an image's
pHash, a clip's band hash; a medium whose sources hold many examples gives each example's, a text
row's MinHash), handled as ``splits.on_leak`` says. The hashes come from the output's
cache (:mod:`augtool.run.phashcache`) or, for the sources new or changed since, from the run's
worker processes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from augtool.errors import EXIT_FAILED, AugtoolError
from augtool.layouts.base import split_augmented
from augtool.layouts.discovery import Dataset, Skip, kept_sources
from augtool.media import registry
from augtool.neardup import Hashed, Pair, cross_split_pairs, example_items, hex_hash
from augtool.run.executors.hashing import example_fingerprint_files
from augtool.run.phashcache import Entry, load_phashes, source_phashes

#: the most pairs a warning or an error names (validate names every one, a line each)
NAMED = 20


class LeakError(AugtoolError):
    """``on_leak: fail`` and a near-duplicate pair across splits."""

    exit_code = EXIT_FAILED


@dataclass
class Leaks:
    """What the check found: the dataset to run (without the sources dropped), each source's
    hash (16 hex digits), the warnings to show and the entries of the cache to write (None:
    the check did not run)."""

    dataset: Dataset
    hashes: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    cache: dict[str, Entry] | None = None
    #: the medium's ``fingerprint_kind``, which the cache is written with
    kind: str = ""


def check_leaks(
    dataset: Dataset,
    input_root: Path,
    on_leak: str,
    augmented: set[str],
    medium: str,
    output_root: Path,
    jobs: int = 1,
    settings: str = "",
) -> Leaks:
    """Fingerprint each source of a dataset with two or more splits (reading the cache in
    ``output_root``, the missing ones across ``jobs`` processes) and act on the pairs; a
    medium without a ``fingerprint`` hook is not checked. A medium whose sources hold many
    examples (``example_fingerprints``, told the run's ``settings``) is checked example by
    example, without the cache."""
    found = registry.get(medium)
    per_example = hasattr(found, "example_fingerprints")
    if not per_example and not hasattr(found, "fingerprint"):
        return Leaks(dataset)
    # the examples of one source may name their own splits (a text table's split column)
    own_splits = per_example and found.examples_name_splits(settings)  # type: ignore[attr-defined]
    if on_leak == "ignore" or (len(dataset.splits) < 2 and not own_splits):
        return Leaks(dataset)
    kind: str = found.fingerprint_kind  # type: ignore[attr-defined]
    if per_example:
        items = _example_items(dataset, input_root, medium, settings, jobs)
        leaks = Leaks(dataset, kind=kind)
    else:
        items, entries = _source_items(dataset, input_root, medium, output_root, jobs, kind)
        hashes = {item.path: hex_hash(item.hash) for item in items}
        leaks = Leaks(dataset, hashes, [], entries, kind)
    width: int = getattr(found, "fingerprint_width", 64)
    pairs = cross_split_pairs(items, found.fingerprint_bits, width)  # type: ignore[attr-defined]
    if not pairs:
        return leaks
    what = found.fingerprint_name  # type: ignore[attr-defined]
    named = "; ".join(pair.describe(what) for pair in pairs[:NAMED])
    if len(pairs) > NAMED:
        named += f"; and {len(pairs) - NAMED} more (validate manifest names each)"
    message = f"{len(pairs)} near-duplicate pair(s) across splits: {named}"
    if on_leak == "fail":
        raise LeakError(message)
    leaks.warnings.append(message)
    if on_leak == "drop_from_train":
        leaks.dataset = _dropped(dataset, pairs, augmented)
    return leaks


def _source_items(
    dataset: Dataset, input_root: Path, medium: str, output_root: Path, jobs: int, kind: str
) -> tuple[list[Hashed], dict[str, Entry]]:
    """Each source's item (its fingerprint, cached or computed now) and the cache's entries."""
    paths = [source.path for source in dataset.sources]
    cached = load_phashes(output_root, input_root, kind)
    entries = source_phashes(input_root, paths, cached, jobs, medium)
    items = []
    for source in dataset.sources:
        entry = entries.get(source.path)
        if entry is not None and entry[1] is not None:
            # one that cannot be decoded is skipped later, with its reason
            items.append(Hashed(source.path, source.split, entry[1]))
    return items, entries


def _example_items(
    dataset: Dataset, input_root: Path, medium: str, settings: str, jobs: int
) -> list[Hashed]:
    """An item for each example of each source (one that cannot be read is skipped later)."""
    paths = [source.path for source in dataset.sources]
    found = example_fingerprint_files(medium, input_root, paths, settings, jobs)
    items: list[Hashed] = []
    for source, examples in zip(dataset.sources, found, strict=True):
        if examples is not None:
            items.extend(example_items(source.path, source.split, examples))
    return items


def _dropped(dataset: Dataset, pairs: list[Pair], augmented: set[str]) -> Dataset:
    """The dataset without the augmented-split side of each pair whose other side is in a split
    the recipe does not augment (a pair of two such splits is only warned of, and so is an
    example that is one row of a source holding many: the source is not dropped for it)."""
    drop: dict[str, str] = {}
    for pair in pairs:
        for mine, other in ((pair.first, pair.second), (pair.second, pair.first)):
            if (
                mine.row is None
                and split_augmented(mine.split, augmented)
                and not split_augmented(other.split, augmented)
            ):
                drop.setdefault(
                    mine.path, f"near-duplicate of {other.named()} in split {other.split!r}"
                )
    kept = kept_sources(dataset.sources, lambda s: s.path not in drop)
    skipped = (*dataset.skipped, *(Skip(path, reason) for path, reason in sorted(drop.items())))
    return dataclasses.replace(dataset, sources=kept, skipped=skipped)
