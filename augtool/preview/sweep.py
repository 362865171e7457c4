"""Sweep rows: each leaf step of the pipeline alone, with every range collapsed to its low end,
middle and high end, on one source.

A synthesis step is swept with the partners expand gives the source's first variant (the slots
of that step among them, :mod:`.partners`), the same in each of its tiles; one without ranges
(``mixup``, ``cutmix``, ``mosaic``) is shown at the lowest, median and highest share of the
output its source takes among draws of its own. Its tiles are derived through
:func:`augtool.run.derive.derive` as expand derives a variant, and its partners' objects are
drawn where their pixels went.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from augtool.errors import ParamError
from augtool.layouts.discovery import Dataset
from augtool.media.base import DecodeError, EncodeError
from augtool.media.image.transforms import Block, Step, Synthesis, Transform, replay
from augtool.media.params import Param, Range
from augtool.preview.captions import params_text
from augtool.preview.partners import Partnering, PartnerUnreadable
from augtool.preview.rows import (
    Loaded,
    Row,
    Tile,
    choose_sources,
    draws_tiles,
    loaded_sources,
    original_tile,
    partnering,
    source_info,
    tile_of,
    with_targets,
)
from augtool.recipe import Recipe
from augtool.run.derive import Opened, Variant, derive, move_targets
from augtool.run.partner_reads import Taken
from augtool.run.plan import variant_seed

__all__ = ["SWEEP_POINTS", "leaf_steps", "sweep_points", "sweep_rows"]

SWEEP_POINTS = ("low", "mid", "high")


def sweep_rows(
    recipe: Recipe,
    input_root: Path,
    dataset: Dataset,
    skipped: list[dict[str, str]] | None = None,
) -> Iterator[Row]:
    """One row per leaf step of the pipeline, on the first chosen source that every step can
    render (one ``jpeg_compression`` cannot encode, or one whose partner cannot be read, is
    passed over, as expand skips it): the original, then the step alone (p ignored) with every
    range collapsed to its low end, middle and high end. The three tiles draw from the same
    generator (and take the same partners), so only the range moves."""
    taking = partnering(recipe, input_root, dataset)
    candidates = choose_sources(dataset)
    count = len(dataset.sources)
    for item in loaded_sources(recipe, input_root, dataset, candidates, count):
        if isinstance(item, dict):
            if skipped is not None:
                skipped.append(item)
            continue
        try:
            taken = None
            if taking is not None:
                taken = taking.read(item.source, item.data, 1).of(0)
            rows = list(_sweep_source(recipe, item, taking, taken))
        except (EncodeError, DecodeError, PartnerUnreadable) as exc:
            if skipped is not None:
                skipped.append({"path": item.source.path, "reason": str(exc)})
            continue
        yield from rows
        return


def _sweep_source(
    recipe: Recipe, item: Loaded, taking: Partnering | None, taken: Taken | None
) -> Iterator[Row]:
    source, size = item.source, item.size
    seed = variant_seed(recipe.seed, source.path, 0)
    synthesis = 0  # synthesis steps so far: the next one's place in the partners' order
    for path, step in leaf_steps(recipe.steps):
        tiles = [original_tile(item.image, size, item)]
        if _takes_partners(step) and taking is not None and taken is not None:
            tiles += _synthesis_tiles(item, step, seed, taken, taking.slots(synthesis))
            synthesis += 1
        else:
            tiles += _point_tiles(recipe, item, step, seed)
        info = {"step": step.name, "path": path, "source": source_info(source, size)}
        yield Row(step.name, source, tiles, info)


def _point_tiles(recipe: Recipe, item: Loaded, step: Transform, seed: int) -> list[Tile]:
    """The step alone at each of its :func:`sweep_points`, drawn from one generator."""
    image, opened = item.image, item.opened
    tiles = []
    for at, point in sweep_points(step):
        rng = np.random.Generator(np.random.PCG64(seed))
        params = _sample_point(opened, point, rng, image, item.targets)
        fired = [{"name": point.name, "fired": True, "params": params}]
        out, out_size = _swept(opened, fired, image, recipe.kernels)
        name = step.name if at is None else f"{step.name} {at}"
        text = f"{name}: {params_text(step.name, params)}".rstrip(": ")
        tile = Tile(out, text, {"at": at, "size": out_size, "params": params})
        moved = None
        if opened is not None and opened.targets is not None:
            moved = move_targets(opened, fired)
        tiles.append(with_targets(tile, item, moved))
    return tiles


def _takes_partners(step: Transform) -> bool:
    """Whether ``step`` is a synthesis step (it takes partner sources)."""
    return bool(getattr(step, "partner_count", 0))


def _synthesis_tiles(
    item: Loaded, step: Transform, seed: int, taken: Taken, slots: range
) -> list[Tile]:
    """A synthesis step alone on the source with the partners of ``slots`` among ``taken``
    (the same in every tile), each tile derived as expand derives a variant (the partners'
    objects join the targets) and captioned with its parameters and the partners' names.

    A step with ranges (``copy_paste``'s ``scale``) is shown at their low end, middle and high
    end, forced to fire; one without (``mixup``, ``cutmix``, ``mosaic``) at the draws where
    the source's own share of the output is lowest, median and highest among
    :data:`SPREAD_DRAWS` of its own draws: the spread its configuration (``alpha``) gives."""
    opened = item.opened
    assert opened is not None
    partners = [taken.opened[slot] for slot in slots]
    points = sweep_points(step)
    if len(points) == 1:
        made = _spread(opened, step, seed, partners)
    else:
        made = []
        for at, point in points:
            forced = type(point)(**{**point.config, "p": 1.0})
            made.append((at, derive(opened, [forced], seed, partners=partners)))
    paths = [taken.refs[slot]["path"] for slot in slots]
    named = ", ".join(PurePosixPath(path).name for path in paths)
    tiles = []
    for at, variant in made:
        params = variant.steps[0]["params"]
        text = f"{step.name} {at}: {params_text(step.name, params)} with {named}"
        info = {"at": at, "size": variant.size, "params": params, "partners": paths}
        tile = Tile(tile_of(opened, variant.image), text, info)
        tiles.append(with_targets(tile, item, variant.moved))
    return tiles


#: How many draws a synthesis step without ranges is swept over (see :func:`_spread`).
SPREAD_DRAWS = 32


def _spread(
    opened: Opened, step: Transform, seed: int, partners: list[Opened]
) -> list[tuple[str, Variant]]:
    """The step's draws (from generators seeded by ``seed`` and the draw's number) where the
    source's share of the output is lowest, median and highest, each replayed as expand
    replays a recorded step."""
    assert isinstance(step, Synthesis)
    shape = opened.decoded.image.shape
    shapes = [partner.decoded.image.shape for partner in partners]
    places = list(range(len(partners)))
    drawn = []
    for number in range(SPREAD_DRAWS):
        rng = np.random.Generator(np.random.PCG64([seed, number]))
        if step.reads_partner_targets:
            theirs = [partner.targets for partner in partners]
            params = step.sample(rng, shape, shapes, partner_targets=theirs)
        else:
            params = step.sample(rng, shape, shapes)
        params = {**params, "partners": places}
        drawn.append((float(step.shares(params)[0]), number, params))
    drawn.sort(key=lambda draw: draw[:2])
    chosen = zip(SWEEP_POINTS, (drawn[0], drawn[len(drawn) // 2], drawn[-1]), strict=True)
    return [
        (at, derive(opened, records=[{"name": step.name, "fired": True, "params": params}],
                    partners=partners))
        for at, (_, _, params) in chosen
    ]  # fmt: skip


def _sample_point(
    opened: Opened | None,
    point: Transform,
    rng: np.random.Generator,
    image: np.ndarray,
    targets: Any = None,
) -> dict[str, Any]:
    """A swept step's parameters, drawn as the medium draws them (``Medium.sample_step``; an
    image step is told its image's shape, and the source's ``targets`` if it reads them)."""
    sample = None if opened is None else getattr(opened.medium, "sample_step", None)
    if sample is None:
        if getattr(point, "reads_targets", False):
            return point.sample(rng, image.shape, targets=targets)
        return point.sample(rng, image.shape)
    extra = {} if opened.resources is None else {"resources": opened.resources}
    return sample(point, rng, opened.decoded, **extra)


def _swept(
    opened: Opened | None, fired: list[dict[str, Any]], image: np.ndarray, kernels: str
) -> tuple[np.ndarray, list[int]]:
    """The tile and size of one swept step applied to the source."""
    if opened is None or not draws_tiles(opened.medium.name):
        out = replay(fired, image, kernels)
        return out, _size(out)
    extra = {} if opened.resources is None else {"resources": opened.resources}
    content = opened.medium.replay(
        fired, opened.decoded, opened.kernels, opened.reductions, **extra
    )
    return tile_of(opened, content), opened.medium.size(opened.decoded, content)


def leaf_steps(steps: list[Step], prefix: str = "pipeline") -> list[tuple[str, Transform]]:
    """Every transform of the pipeline with its place in the recipe, blocks opened."""
    leaves: list[tuple[str, Transform]] = []
    for index, step in enumerate(steps):
        path = f"{prefix}[{index}]"
        if isinstance(step, Block):
            leaves.extend(leaf_steps(step.children, f"{path}.{step.kind}.transforms"))
        else:
            leaves.append((path, step))
    return leaves


def sweep_points(step: Transform) -> list[tuple[str | None, Transform]]:
    """The step configured with every range collapsed to one point: its low end, middle and high
    end. Rebuilt through the transform's own constructor, so every point is a valid config and
    sampling stays the transform's own. A step without ranges gives one point, as configured."""
    ranges = [param for param in type(step).all_params() if isinstance(param.kind, Range)]
    if not ranges:
        return [(None, step)]
    return [(at, _collapsed(step, ranges, at)) for at in SWEEP_POINTS]


def _collapsed(step: Transform, ranges: list[Param], at: str) -> Transform:
    """``step`` with each range collapsed to its ``at`` point. A whole-number point the
    transform refuses (an even kernel size where only odd ones exist) is nudged inward, one
    step at a time; if none is accepted, the step is shown as configured."""
    for nudge in {"low": (0, 1, 2), "mid": (0, 1, -1), "high": (0, -1, -2)}[at]:
        config = dict(step.config)
        for param in ranges:
            lo, hi = config[param.name]
            value = {"low": lo, "mid": (lo + hi) / 2, "high": hi}[at]
            if param.kind.integer:
                value = min(max(math.floor(value + 0.5) + nudge, lo), hi)
            config[param.name] = [value, value]
        try:
            return type(step)(**config)
        except ParamError:
            continue
    return step


def _size(image: np.ndarray) -> list[int]:
    return [int(image.shape[0]), int(image.shape[1])]
