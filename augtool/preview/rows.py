"""What the sheet shows: the sources chosen, each with variants derived through
:mod:`augtool.run.derive` exactly as expand derives them, or each step swept over its ranges.

Sources are chosen from the discovered paths before anything is decoded, and only the chosen ones
are read. Rows come out one at a time at full size; the sheet scales each as it arrives.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from augtool.errors import ParamError
from augtool.layouts import registry
from augtool.layouts.base import AnnotationError
from augtool.layouts.discovery import Dataset, Source
from augtool.media import registry as media
from augtool.media.image.codecs import (
    DecodeError,
    EncodeError,
    error_text,
    open_limited,
    orientation_of,
    quiet_metadata_warnings,
    upright,
)
from augtool.media.image.transforms import Block, Step, Transform, replay
from augtool.media.image.transforms.params import Param, Range
from augtool.preview.captions import caption, params_text
from augtool.recipe import Recipe
from augtool.run.derive import (
    InputLimits,
    LabelRules,
    Moved,
    Opened,
    SourceLabels,
    derive,
    label_rules,
    move_targets,
    open_source,
    targets_of,
)
from augtool.run.plan import variant_seed
from augtool.run.resources import for_recipe

TILE = 192
SOURCES = 4
VARIANTS = 4
SWEEP_POINTS = ("low", "mid", "high")


@dataclass(frozen=True)
class Tile:
    """One image of the sheet: its pixels (full size while rendering, a thumbnail once on the
    sheet), its caption, and, as plain JSON, what made it."""

    image: np.ndarray
    caption: str
    info: dict[str, Any] = field(default_factory=dict)
    #: the source's annotations moved like this tile's pixels (full-size coordinates), drawn on
    #: the thumbnail so that a box that does not follow its object shows at a glance
    targets: Any = None
    #: the class name of each of ``targets``' boxes, written on the box
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    """One row of the sheet: a source with its variants, or one step swept over its ranges."""

    label: str
    source: Source
    tiles: list[Tile]
    info: dict[str, Any] = field(default_factory=dict)


# --- choosing sources ----------------------------------------------------------------------


def choose_sources(dataset: Dataset) -> Iterator[Source]:
    """Augmented sources in preview order: round robin over the (split, label) groups in sorted
    order, the first unused path of each group in turn, so the first K rows spread over classes
    and splits. An iterator: a source that does not decode is passed over for the next one."""
    groups: dict[tuple[str, str], list[Source]] = {}
    for source in dataset.sources:
        if source.augment:
            groups.setdefault((source.split or "", source.label or ""), []).append(source)
    queues = [groups[key] for key in sorted(groups)]
    for index in range(max((len(q) for q in queues), default=0)):
        for queue in queues:
            if index < len(queue):
                yield queue[index]


@dataclass(frozen=True)
class _Loaded:
    """A chosen source as preview shows it: the image (full size, or a display-only draft),
    its displayed [height, width], its annotations, and the opened source variants derive
    from (None for a draft)."""

    source: Source
    image: np.ndarray
    size: list[int]
    targets: Any
    opened: Opened | None


def _loaded_sources(
    recipe: Recipe,
    input_root: Path,
    dataset: Dataset,
    candidates: Iterable[Source],
    count: int,
    draft: int | None = None,
) -> Iterator[_Loaded | dict[str, str]]:
    """Read, decode and read the labels of candidates as expand does, until ``count`` loaded;
    a failure is yielded as a skip record (with the reason expand would give) and the next
    candidate is tried. With ``draft`` (a tile size) the image is for display only."""
    if count <= 0:
        return
    limits = InputLimits(tuple(recipe.input["formats"]), recipe.input["max_pixels"], recipe.medium)
    rules = _rules(recipe, dataset)
    resources = for_recipe(recipe.steps, recipe.base_dir)
    loaded = 0
    for source in candidates:
        try:
            data = (input_root / source.path).read_bytes()
        except OSError as exc:
            yield {"path": source.path, "reason": f"cannot read: {exc.strerror or exc}"}
            continue
        try:
            labels = _labels_of(dataset, input_root, source)
        except OSError as exc:
            reason = f"cannot read its labels {source.annotation}: {exc.strerror or 'not a file'}"
            yield {"path": source.path, "reason": reason}
            continue
        try:
            if draft is None:
                opened = open_source(
                    data, limits, recipe.kernels, labels, rules, resources=resources
                )
                size = list(opened.decoded.size)
                item = _Loaded(source, tile_of(opened), size, opened.targets, opened)
            else:
                image, size = draft_decode(data, limits, draft)
                targets = None
                if labels is not None and rules is not None:
                    targets = targets_of(labels, rules, size)
                item = _Loaded(source, image, size, targets, None)
        except (DecodeError, AnnotationError) as exc:
            yield {"path": source.path, "reason": str(exc)}
            continue
        yield item
        loaded += 1
        if loaded == count:
            return


def _rules(recipe: Recipe, dataset: Dataset) -> LabelRules | None:
    """How expand moves this dataset's labels (None for a layout without labels)."""
    vocabulary = registry.get(dataset.layout).vocabulary(dataset)
    return label_rules(dataset.layout, vocabulary, recipe.targets)


def _labels_of(dataset: Dataset, input_root: Path, source: Source) -> SourceLabels | None:
    """The source's labels as expand's worker reads them (raises ``OSError``)."""
    payload = None
    if dataset.state is not None:
        payload = registry.get(dataset.layout).payload(dataset.state, source.path)
    if payload is not None:
        return SourceLabels(f"{source.annotation}: {source.path}", payload=payload)
    if source.annotation is not None:
        return SourceLabels(source.annotation, data=(input_root / source.annotation).read_bytes())
    return None


def draft_decode(
    data: bytes, limits: InputLimits, tile: int = TILE
) -> tuple[np.ndarray, list[int]]:
    """A display-only decode for a sheet of originals alone, within the same limits as
    expand's: JPEG is decoded at a reduced scale (``Image.draft``: 1/2 to 1/8 of the DCT work),
    EXIF orientation applied. Never for variants, whose pixels must be expand's."""
    formats = list(limits.formats)
    try:
        with quiet_metadata_warnings(), open_limited(data, formats, limits.max_pixels) as img:
            if img.format != "JPEG":
                img.close()
                opened = open_source(data, limits)
                return opened.decoded.image, list(opened.decoded.size)
            width, height = img.size
            orientation = orientation_of(img.getexif())  # as expand applies it
            if orientation in (5, 6, 7, 8):  # a quarter turn
                width, height = height, width
            img.draft("RGB" if img.mode == "RGB" else None, (tile, tile))
            turned = upright(img, orientation)
            shown = turned.convert("L" if turned.mode == "L" else "RGB")
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"decompression bomb refused: {exc}") from None
    except Image.UnidentifiedImageError:
        raise DecodeError(f"not an image in an accepted format ({', '.join(formats)})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DecodeError(f"cannot decode: {error_text(exc)}") from None
    array = np.asarray(shown)
    return (array[:, :, None] if array.ndim == 2 else array), [height, width]


# --- rows --------------------------------------------------------------------------------


def variant_rows(
    recipe: Recipe,
    input_root: Path,
    dataset: Dataset,
    sources: int = SOURCES,
    variants: int = VARIANTS,
    skipped: list[dict[str, str]] | None = None,
    tile: int = TILE,
) -> Iterator[Row]:
    """One row per chosen source: the original, then ``variants`` variants at full size, each
    derived as expand derives (source, variant), with the annotations expand writes. Skipped
    candidates go to ``skipped``. Without variants the originals alone are decoded for display
    only (``tile`` sized)."""
    chosen = choose_sources(dataset)
    # Display-only drafts are Pillow's; a medium that draws its own tiles decodes in full.
    draft = None if variants or _draws_tiles(recipe.medium) else tile
    for item in _loaded_sources(recipe, input_root, dataset, chosen, sources, draft):
        if isinstance(item, dict):
            if skipped is not None:
                skipped.append(item)
            continue
        source, size = item.source, item.size
        tiles = [_original_tile(item.image, size, item)]
        try:
            for index in range(variants):
                assert item.opened is not None
                seed = variant_seed(recipe.seed, source.path, index)
                variant = derive(item.opened, recipe.steps, seed)
                records = variant.steps
                info = {"variant": index, "seed": seed, "size": variant.size, "steps": records}
                image = tile_of(item.opened, variant.image)
                text = f"v{index}: {caption(records)}"
                tiles.append(_with_targets(Tile(image, text, info), item, variant.moved))
        except EncodeError as exc:  # a step that encodes (jpeg_compression), as expand skips
            if skipped is not None:
                skipped.append({"path": source.path, "reason": str(exc)})
            continue
        yield Row(_source_label(source), source, tiles, _source_info(source, size))


def sweep_rows(
    recipe: Recipe,
    input_root: Path,
    dataset: Dataset,
    skipped: list[dict[str, str]] | None = None,
) -> Iterator[Row]:
    """One row per leaf step of the pipeline, on the first chosen source that every step can
    render (one ``jpeg_compression`` cannot encode is passed over, as expand skips it): the
    original, then the step alone (p ignored) with every range collapsed to its low end, middle
    and high end. The three tiles draw from the same generator, so only the range moves."""
    candidates = choose_sources(dataset)
    count = len(dataset.sources)
    for item in _loaded_sources(recipe, input_root, dataset, candidates, count):
        if isinstance(item, dict):
            if skipped is not None:
                skipped.append(item)
            continue
        try:
            rows = list(_sweep_source(recipe, item))
        except EncodeError as exc:  # jpeg_compression on an image JPEG cannot hold
            if skipped is not None:
                skipped.append({"path": item.source.path, "reason": str(exc)})
            continue
        yield from rows
        return


def _sweep_source(recipe: Recipe, item: _Loaded) -> Iterator[Row]:
    source, image, size = item.source, item.image, item.size
    seed = variant_seed(recipe.seed, source.path, 0)
    for path, step in leaf_steps(recipe.steps):
        tiles = [_original_tile(image, size, item)]
        for at, point in sweep_points(step):
            rng = np.random.Generator(np.random.PCG64(seed))
            opened = item.opened
            params = _sample_point(opened, point, rng, image, item.targets)
            fired = [{"name": point.name, "fired": True, "params": params}]
            out, out_size = _swept(opened, fired, image, recipe.kernels)
            name = step.name if at is None else f"{step.name} {at}"
            text = f"{name}: {params_text(step.name, params)}".rstrip(": ")
            tile = Tile(out, text, {"at": at, "size": out_size, "params": params})
            moved = None
            if opened is not None and opened.targets is not None:
                moved = move_targets(opened, fired)
            tiles.append(_with_targets(tile, item, moved))
        info = {"step": step.name, "path": path, "source": _source_info(source, size)}
        yield Row(step.name, source, tiles, info)


def _draws_tiles(medium: str) -> bool:
    """Whether ``medium`` draws its own tiles (a picture of a clip) rather than being one."""
    return hasattr(media.get(medium), "tile")


def tile_of(opened: Opened, content: Any = None) -> np.ndarray:
    """The picture a tile shows of ``content`` (None: the decoded source): the pixels
    themselves, or what the medium draws of it (``Medium.tile``: a waveform and spectrogram)."""
    draw = getattr(opened.medium, "tile", None)
    if draw is None:
        return opened.decoded.image if content is None else content
    return draw(opened.decoded, content)


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
    if opened is None or not _draws_tiles(opened.medium.name):
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


def _original_tile(image: np.ndarray, size: list[int], item: _Loaded | None = None) -> Tile:
    """The source's tile, captioned with its [height, width] (the order recipes give sizes in),
    with its annotations when ``item`` has them."""
    height, width = size
    tile = Tile(image, f"original [{height}, {width}]", {"variant": None, "size": size})
    if item is None or item.targets is None:
        return tile
    anns = _source_annotations(item)
    return replace(tile, targets=item.targets, names=box_names(item.targets, item, anns))


def _with_targets(tile: Tile, item: _Loaded, moved: Moved | None) -> Tile:
    """``tile`` with the moved annotations expand writes, and the class names of their boxes."""
    if moved is None:
        return tile
    # A payload layout's fields hold the annotations written, which its boxes' labels index.
    fields = moved.image_fields.values()
    anns = next(
        (f["annotations"] for f in fields if isinstance(f, dict) and "annotations" in f), None
    )
    return replace(tile, targets=moved.targets, names=box_names(moved.targets, item, anns))


def _source_annotations(item: _Loaded) -> list[Any] | None:
    labels = None if item.opened is None else item.opened.labels
    payload = None if labels is None else labels.payload
    return payload[1] if isinstance(payload, tuple) and len(payload) == 2 else None


def box_names(targets: Any, item: _Loaded, anns: list[Any] | None) -> tuple[str, ...]:
    """The class name of each box, from the layout's vocabulary: a label file's class id by
    its name, an annotation's category (``anns``: the annotations the boxes' labels index)."""
    rules = None if item.opened is None else item.opened.rules
    classes: dict[Any, Any] = {}
    for entry in () if rules is None else rules.vocabulary:
        if isinstance(entry, dict):
            classes[entry.get("id")] = entry.get("name")
        else:
            classes[entry[0]] = entry[1]
    names = []
    for label in targets.box_labels:
        key: Any = None
        if isinstance(label, dict) and "class" in label:
            key = label["class"]
        elif isinstance(label, dict) and "ann" in label and anns is not None:
            key = anns[label["ann"]].get("category_id")
        name = classes.get(key, key)
        names.append("" if name is None else str(name))
    return tuple(names)


def _source_label(source: Source) -> str:
    return source.path


def _source_info(source: Source, size: list[int]) -> dict[str, Any]:
    return {"path": source.path, "split": source.split, "label": source.label, "size": size}


def _size(image: np.ndarray) -> list[int]:
    return [int(image.shape[0]), int(image.shape[1])]
