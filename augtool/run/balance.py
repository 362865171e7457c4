"""Per-class balancing: the number of variants of each source, from the recipe's ``balance:``
section and the classes of the sources that are augmented (docs/governance.md). This module
counts whole-image classes; a detection layout's instances are planned by
:mod:`augtool.run.balance_instances`.

A class of ``n`` augmented sources that should reach ``T`` examples needs ``E = T - n``
variants (none when it has ``T`` already; never more than ``max_variants`` per source). They
are spread evenly: every source of the class gets ``E // n``, and the ``E % n`` sources that
come first in the order of ``sha256(seed, path)`` get one more. A source's place in that order
depends on its own path alone, so adding a source never reorders the others; each keeps its
count or moves by the change of ``E // n`` and at most one more.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from augtool.errors import InputError, RecipeError
from augtool.layouts import registry
from augtool.layouts.discovery import Dataset, Source
from augtool.recipe import Recipe
from augtool.run.balance_instances import count_instances, plan_instances


@dataclass(frozen=True)
class Balanced:
    """The plan's variant count of every augmented source, and what it does to each class."""

    counts: dict[str, int]  # source path -> its variants
    #: class -> before (its augmented sources), target, after (sources plus their variants)
    classes: dict[str, dict[str, int]]
    warnings: list[str] = field(default_factory=list)
    #: what a class counts: its sources (classification) or its objects (detection)
    unit: str = "sources"

    def as_json(self) -> dict[str, Any]:
        """What the manifest header and ``--json`` record: the counts of each class (and, for
        a detection dataset, that they count instances)."""
        if self.unit == "instances":
            return {"count": "instances", "classes": self.classes}
        return {"classes": self.classes}


def rank_key(seed: int, path: str) -> bytes:
    """Where a source comes in its class's order of who gets the extra variants."""
    return hashlib.sha256(f"augtool-balance\0{seed}\0{path}".encode()).digest()


def spread(paths: Iterable[str], extra: int, seed: int) -> dict[str, int]:
    """``extra`` variants over ``paths`` as evenly as can be, the remainder going to the paths
    first in :func:`rank_key` order."""
    ranked = sorted(paths, key=lambda path: rank_key(seed, path))
    if not ranked:
        return {}
    base, more = divmod(extra, len(ranked))
    return {path: base + (place < more) for place, path in enumerate(ranked)}


def balance(
    sources: Iterable[Source], settings: dict[str, Any], seed: int, recipe_file: str
) -> Balanced:
    """Each augmented source's variant count under ``settings`` (a normalised ``balance:``).

    Raises :class:`RecipeError` naming a class the recipe names and the dataset lacks, and
    :class:`InputError` when the augmented sources carry no class."""
    by_class: dict[str, list[str]] = {}
    for source in sources:
        if source.augment and source.label is not None:
            by_class.setdefault(source.label, []).append(source.path)
    if not by_class:
        raise InputError(
            "balance: no augmented source has a class (balance needs a layout with classes, "
            "such as class folders)"
        )
    sizes = Counter({name: len(paths) for name, paths in by_class.items()})
    targets = _targets(sizes, settings, recipe_file)
    most = settings["max_variants"]
    counts: dict[str, int] = {}
    classes: dict[str, dict[str, int]] = {}
    warnings: list[str] = []
    for name in sorted(by_class):
        paths, size = by_class[name], sizes[name]
        target = targets.get(name, size)
        extra = max(0, target - size)
        if extra > most * size:
            warnings.append(
                f"balance: class {name!r} reaches {size + most * size} of its target {target} "
                f"({size} source(s), at most {most} variants each: raise balance.max_variants)"
            )
            extra = most * size
        counts.update(spread(paths, extra, seed))
        classes[name] = {"before": size, "target": target, "after": size + extra}
    return Balanced(counts, classes, warnings)


def _targets(sizes: Counter[str], settings: dict[str, Any], recipe_file: str) -> dict[str, int]:
    """The count each chosen class should reach (the classes not chosen are left out)."""
    strategy = settings["strategy"]
    if isinstance(strategy, dict):
        missing = sorted(name for name in strategy if name not in sizes)
        if missing:
            raise RecipeError(
                recipe_file,
                f"balance.strategy names class(es) the dataset's augmented sources lack: "
                f"{', '.join(missing)} (classes found: {', '.join(sorted(sizes))})",
            )
        return dict(strategy)
    largest, smallest = max(sizes.values()), min(sizes.values())
    target = largest if settings["target"] == "max" else settings["target"]
    if strategy == "all":
        chosen = list(sizes)
    elif strategy == "minority":
        chosen = [name for name, size in sizes.items() if size == smallest]
    else:  # not_majority
        chosen = [name for name, size in sizes.items() if size < largest]
    return {name: target for name in chosen}


def balance_instances(
    held: dict[str, Counter[str]], settings: dict[str, Any], seed: int, recipe_file: str
) -> Balanced:
    """Each augmented source's variant count for a detection dataset, whose classes count
    instances (``held``: each source's instances by class; the rule is
    :mod:`augtool.run.balance_instances`'). Raises as :func:`balance` does."""
    sizes: Counter[str] = Counter()
    for count in held.values():
        sizes.update(count)
    if not sizes:
        raise InputError("balance: no augmented source has a labelled object to count")
    targets = _targets(sizes, settings, recipe_file)
    order = sorted(held, key=lambda path: rank_key(seed, path))
    counts, given_up = plan_instances(held, targets, settings["max_variants"], order)
    after = Counter(sizes)
    for path, variants in counts.items():
        for name, n in held[path].items():
            after[name] += variants * n
    classes = {
        name: {"before": size, "target": targets.get(name, size), "after": after[name]}
        for name, size in sorted(sizes.items())
    }
    warnings = [
        f"balance: class {name!r} reaches {after[name]} of its target {targets[name]} instances "
        f"(its images are at most {settings['max_variants']} variants each: raise "
        f"balance.max_variants)"
        for name in sorted(given_up)
    ]
    return Balanced(counts, classes, warnings, unit="instances")


def plan_balance(dataset: Dataset, recipe: Recipe) -> Balanced | None:
    """:func:`balance` (classes of whole images) or :func:`balance_instances` (a layout of
    objects) for a recipe's plan, or ``None`` when the recipe does not balance."""
    if recipe.balance is None:
        return None
    layout = registry.get(dataset.layout)
    if layout.object_labels:
        held = count_instances(dataset, dataset.root)
        return balance_instances(held, recipe.balance, recipe.seed, recipe.file)
    if layout.packs_variants:
        raise RecipeError(
            recipe.file,
            "balance: the layout packs every example of a file into one variant file; "
            "balance needs one source per example",
        )
    return balance(dataset.sources, recipe.balance, recipe.seed, recipe.file)
