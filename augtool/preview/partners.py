"""The partners a previewed variant's synthesis steps take: those expand gives it.

The choice is expand's own: :func:`~augtool.run.partners.choose_partners` over the pools of the
whole dataset in path order, from (recipe seed, source path, variant index); so is the reading,
hashing and decoding (:class:`~augtool.run.partner_reads.Partners`, expand's worker's, with
expand's file reader). A tile of (source, variant) therefore blends the very partners expand's
output of (source, variant) took, and a source is skipped for the reason expand skips it for
(a partner it cannot read or decode).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from augtool.layouts.base import LabelRules
from augtool.layouts.discovery import Dataset, Source
from augtool.media import registry as media
from augtool.recipe import Recipe
from augtool.run.derive import InputLimits
from augtool.run.partner_reads import Partners, PartnerUnreadable, Taken
from augtool.run.partners import (
    Need,
    Partner,
    Pools,
    choose_partners,
    payload_reader,
    recipe_needs,
)
from augtool.run.reading import read_partner

__all__ = ["PartnerUnreadable", "Partnering", "partner_names"]

Record = dict[str, Any]


@dataclass(frozen=True)
class _Task:
    """What :class:`Partners` reads of a task: the source and each variant's partners."""

    source: Source
    partners: tuple[tuple[Partner, ...], ...]
    variants: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Context:
    """What :class:`Partners` reads of a run's context: where the sources are and how they
    are decoded and labelled."""

    input_root: str
    limits: InputLimits
    kernels: str | None
    rules: LabelRules | None


@dataclass(frozen=True)
class Partnering:
    """How a recipe's synthesis steps take partners in a dataset, as expand's plan has it."""

    needs: tuple[Need, ...]
    pools: Pools
    seed: int
    payload_of: Callable[[str], Any]
    context: _Context

    @classmethod
    def of(
        cls,
        recipe: Recipe,
        input_root: Path,
        dataset: Dataset,
        limits: InputLimits,
        rules: LabelRules | None,
    ) -> Partnering | None:
        """None when the recipe has no synthesis step. Raises
        :class:`~augtool.errors.InputError` where expand refuses the dataset's labels."""
        needs = recipe_needs(recipe.steps, recipe.medium, dataset)
        if not needs:
            return None
        # Expand's plan pools the sources in path order (streamed ones already are).
        pools = Pools.of(sorted(dataset.sources, key=lambda source: source.path))
        context = _Context(str(input_root), limits, recipe.kernels, rules)
        payloads = payload_reader(dataset.layout, dataset.state)
        return cls(needs, pools, recipe.seed, payloads, context)

    def read(self, source: Source, data: bytes, variants: int) -> Partners:
        """The partners of the source's first ``variants`` variants, read and hashed as expand
        reads them (``data``: the source's own bytes). Raises :class:`PartnerUnreadable`."""
        chosen = choose_partners(
            self.pools, source, self.seed, self.needs, variants, self.payload_of
        )
        own = (data, hashlib.sha256(data).hexdigest())
        return Partners(_Task(source, chosen), self.context, read_partner, own)

    def slots(self, step_index: int) -> range:
        """The places, in a variant's partners, of those the ``step_index``-th synthesis step
        of the pipeline takes."""
        start = sum(count for count, _ in self.needs[:step_index])
        return range(start, start + self.needs[step_index][0])


def partner_names(taken: Taken, records: list[Record], medium: str) -> list[str]:
    """The file names (no folder) of the partners the fired steps of ``records`` took."""
    used = _used(records, medium)
    return [PurePosixPath(taken.partners[slot].path).name for slot in used]


def _used(records: list[Record], medium: str) -> Sequence[int]:
    found = getattr(media.get(medium), "partners_used", None)
    return () if found is None else found(records)
