"""Which sources a variant's synthesis steps take as partners.

A synthesis step (``mixup``, ``cutmix`` …) makes a variant from its source and partner
sources. The partners are chosen before any pixel is read, from the variant's identity alone:
a generator seeded by (recipe seed, source path, variant index) draws, for each step, indices
into the stable list of the candidates: the other sources of the same split in path order
(those of the source's class too, when the step says ``same_class``). So ``--jobs``, shards and
the file system's order never change a choice; adding or removing a source of the split may,
and the outputs whose partners changed are then made again (their lines record each partner's
path and sha256).

A source with no other candidate is its own partner.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from augtool.errors import InputError
from augtool.layouts import registry
from augtool.layouts.discovery import Dataset, Source
from augtool.media import registry as media


@dataclass(frozen=True, slots=True)
class Partner:
    """A source a variant takes as a partner, with what its task would carry of its labels
    (the layout's payload; None for a label file or no labels)."""

    source: Source
    payload: Any = None

    @property
    def path(self) -> str:
        return self.source.path


Need = tuple[int, bool]  # (partner count, same class) of one synthesis step


@dataclass(frozen=True)
class Pools:
    """The candidates, in path order, by split and by (split, class)."""

    by_split: dict[str | None, tuple[Source, ...]]
    by_class: dict[tuple[str | None, str | None], tuple[Source, ...]]

    @classmethod
    def of(cls, sources: Iterable[Source]) -> Pools:
        """The pools of ``sources`` (given in path order)."""
        by_split: dict[str | None, list[Source]] = {}
        by_class: dict[tuple[str | None, str | None], list[Source]] = {}
        for source in sources:
            by_split.setdefault(source.split, []).append(source)
            by_class.setdefault((source.split, source.label), []).append(source)
        return cls(
            {k: tuple(v) for k, v in by_split.items()},
            {k: tuple(v) for k, v in by_class.items()},
        )

    def candidates(self, source: Source, same_class: bool) -> tuple[Source, ...]:
        if same_class:
            return self.by_class.get((source.split, source.label), ())
        return self.by_split.get(source.split, ())


def recipe_needs(steps: Iterable[object], medium: str, dataset: Dataset) -> tuple[Need, ...]:
    """The partners the recipe's steps take (the medium's ``partner_needs`` hook; none for a
    medium without one). Raises :class:`InputError` when the dataset's labels cannot follow
    them yet: a labelled layout that cannot take the partners' objects."""
    hook = getattr(media.get(medium), "partner_needs", None)
    needs: tuple[Need, ...] = () if hook is None else tuple(hook(list(steps)))
    layout = registry.get(dataset.layout)
    if needs and layout.labelled and not layout.takes_partners:
        raise InputError(
            f"{dataset.root}: synthesis steps do not move {dataset.layout} labels yet; use them "
            f"on datasets in one of these layouts: {', '.join(_taking())}"
        )
    if any(same_class for _, same_class in needs) and not layout.class_folders:
        # Every source of such a dataset has no class: same_class would quietly mean "any".
        raise InputError(
            f"{dataset.root}: same_class picks partners of the image's class, and "
            f"{dataset.layout} images have none (their classes are their objects'); drop "
            f"same_class, or use it on class-folder datasets ({', '.join(_class_folders())})"
        )
    if needs:
        _refuse_unmoved(list(steps), medium, layout, dataset)
    return needs


def _refuse_unmoved(steps: list[object], medium: str, layout: Any, dataset: Dataset) -> None:
    """Refuse a synthesis step the dataset's labels cannot follow: one that cuts objects by
    outlines the layout has not, or one that cannot move its kind of target (``mixup`` blends
    every pixel of two images; a mask holds one class id a pixel)."""
    synthesis = {
        name: spec
        for name, spec in media.get(medium).transforms().items()
        if getattr(spec, "partner_count", 0)
    }
    kind = layout.target_kind
    moving = sorted(n for n, s in synthesis.items() if kind in s.supported_targets())
    for step in steps:
        name = getattr(step, "name", None)
        if name not in synthesis:
            continue
        if getattr(synthesis[name], "cuts_outlines", False) and not layout.outlines:
            outlined = sorted(n for n, found in registry.LAYOUTS.items() if found.outlines)
            raise InputError(
                f"{dataset.root}: {name} cuts objects by their outlines (polygons), which "
                f"{dataset.layout} labels have not; use it on {', '.join(outlined)} datasets"
            )
        if kind is not None and name not in moving:
            raise InputError(
                f"{dataset.root}: {name} cannot move {dataset.layout} labels ({kind}); "
                f"use {' or '.join(moving)}"
            )


def _class_folders() -> list[str]:
    """The layouts whose sources have a class (the folder they sit in)."""
    return sorted(name for name, layout in registry.LAYOUTS.items() if layout.class_folders)


def _taking() -> list[str]:
    """The layouts a recipe with synthesis steps can expand."""
    return sorted(
        name
        for name, layout in registry.LAYOUTS.items()
        if layout.takes_partners or not layout.labelled
    )


def payload_reader(layout: str | None, state: Any) -> Callable[[str], Any]:
    """What the task of the source at a path carries of its labels (the layout's payload,
    made from the dataset's ``state``): each partner's labels, as its own task reads them."""
    if layout is None or state is None:
        return lambda path: None
    found = registry.get(layout)
    return lambda path: found.payload(state, path)


def partner_seed(recipe_seed: int, source_path: str, variant: int) -> int:
    """The seed of a variant's partner draws, from its identity alone (not the seed its steps
    are sampled from: choosing partners never shifts a step's parameters)."""
    key = f"augtool-partners\0{recipe_seed}\0{source_path}\0{variant}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") >> 1


def choose_partners(
    pools: Pools,
    source: Source,
    seed: int,
    needs: tuple[Need, ...],
    variants: int,
    payload_of: Callable[[str], Any] = lambda path: None,
) -> tuple[tuple[Partner, ...], ...]:
    """Each variant's partners: for each step of ``needs``, its count of draws among the
    step's candidates other than ``source`` (``source`` itself when there is none), each with
    its ``payload_of`` its path."""
    chosen = []
    for variant in range(variants):
        rng = np.random.Generator(np.random.PCG64(partner_seed(seed, source.path, variant)))
        picked: list[Partner] = []
        for count, same_class in needs:
            candidates = pools.candidates(source, same_class)
            drawn = _draw(rng, candidates, source, count)
            picked.extend(Partner(s, payload_of(s.path)) for s in drawn)
        chosen.append(tuple(picked))
    return tuple(chosen)


def _draw(
    rng: np.random.Generator, candidates: tuple[Source, ...], source: Source, count: int
) -> list[Source]:
    paths = [c.path for c in candidates]
    at = bisect.bisect_left(paths, source.path)
    own = at < len(paths) and paths[at] == source.path
    others = len(candidates) - own
    if others == 0:
        return [source] * count
    drawn = rng.integers(0, others, size=count)
    # Index ``at`` and above skip the source itself.
    return [candidates[int(i) + (own and int(i) >= at)] for i in drawn]


__all__ = [
    "Partner",
    "Pools",
    "choose_partners",
    "partner_seed",
    "payload_reader",
    "recipe_needs",
]
