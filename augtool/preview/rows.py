"""What the sheet shows: the sources chosen, each with variants derived through
:mod:`augtool.run.derive` exactly as expand derives them (with the partners expand gives them,
:mod:`.partners`); :mod:`.sweep` rows each step over its ranges.

Sources are chosen from the discovered paths before anything is decoded, and only the chosen ones
are read. Rows come out one at a time at full size; the sheet scales each as it arrives.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from augtool.layouts import registry
from augtool.layouts.base import AnnotationError
from augtool.layouts.discovery import Dataset, Source
from augtool.media import registry as media
from augtool.media.base import DecodeError as MediumDecodeError
from augtool.media.base import EncodeError as MediumEncodeError
from augtool.media.image.codecs import (
    DecodeError,
    error_text,
    open_limited,
    orientation_of,
    quiet_metadata_warnings,
    upright,
)
from augtool.preview.captions import caption
from augtool.preview.partners import Partnering, PartnerUnreadable, partner_names
from augtool.recipe import Recipe
from augtool.run.derive import (
    InputLimits,
    LabelRules,
    Moved,
    Opened,
    SourceLabels,
    derive,
    label_rules,
    open_source,
    targets_of,
)
from augtool.run.plan import variant_seed
from augtool.run.resources import for_recipe

TILE = 192
SOURCES = 4
VARIANTS = 4


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
class Loaded:
    """A chosen source as preview shows it: the image (full size, or a display-only draft),
    its displayed [height, width], its annotations, and the opened source variants derive
    from (None for a draft)."""

    source: Source
    image: np.ndarray
    size: list[int]
    targets: Any
    opened: Opened | None
    data: bytes = b""  # the source file's bytes (a synthesis step may take it as a partner)


def loaded_sources(
    recipe: Recipe,
    input_root: Path,
    dataset: Dataset,
    candidates: Iterable[Source],
    count: int,
    draft: int | None = None,
) -> Iterator[Loaded | dict[str, str]]:
    """Read, decode and read the labels of candidates as expand does, until ``count`` loaded;
    a failure is yielded as a skip record (with the reason expand would give) and the next
    candidate is tried. With ``draft`` (a tile size) the image is for display only."""
    if count <= 0:
        return
    limits = input_limits(recipe)
    rules = label_rules_of(recipe, dataset)
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
                item = Loaded(source, tile_of(opened), size, opened.targets, opened, data)
            else:
                image, size = draft_decode(data, limits, draft)
                targets = None
                if labels is not None and rules is not None:
                    targets = targets_of(labels, rules, size)
                item = Loaded(source, image, size, targets, None)
        except (MediumDecodeError, AnnotationError) as exc:  # any medium's, as expand skips
            yield {"path": source.path, "reason": str(exc)}
            continue
        yield item
        loaded += 1
        if loaded == count:
            return


def input_limits(recipe: Recipe) -> InputLimits:
    """What the recipe allows a source to be, as preview decodes its sources and partners."""
    return InputLimits(tuple(recipe.input["formats"]), recipe.input["max_pixels"], recipe.medium)


def partnering(recipe: Recipe, input_root: Path, dataset: Dataset) -> Partnering | None:
    """How the recipe's synthesis steps take partners in ``dataset`` (None: it has none)."""
    limits, rules = input_limits(recipe), label_rules_of(recipe, dataset)
    return Partnering.of(recipe, input_root, dataset, limits, rules)


def label_rules_of(recipe: Recipe, dataset: Dataset) -> LabelRules | None:
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
    derived as expand derives (source, variant), with the partners and annotations expand
    gives it. Skipped candidates go to ``skipped``. Without variants the originals alone are
    decoded for display only (``tile`` sized)."""
    taking = partnering(recipe, input_root, dataset)
    chosen = choose_sources(dataset)
    # Display-only drafts are Pillow's; a medium that draws its own tiles decodes in full.
    draft = None if variants or draws_tiles(recipe.medium) else tile
    for item in loaded_sources(recipe, input_root, dataset, chosen, sources, draft):
        if isinstance(item, dict):
            if skipped is not None:
                skipped.append(item)
            continue
        source, size = item.source, item.size
        try:
            tiles = [original_tile(item.image, size, item)]
            tiles += _variant_tiles(recipe, item, variants, taking)
        # A step that encodes (jpeg_compression), or a partner that cannot be read or decoded
        # (the message names it): the source is skipped, as expand skips it.
        except (MediumEncodeError, MediumDecodeError, PartnerUnreadable) as exc:
            if skipped is not None:
                skipped.append({"path": source.path, "reason": str(exc)})
            continue
        yield Row(_source_label(source), source, tiles, source_info(source, size))


def _variant_tiles(
    recipe: Recipe, item: Loaded, variants: int, taking: Partnering | None
) -> list[Tile]:
    """The source's first ``variants`` variants, each captioned with the steps that fired and
    the partners they took."""
    source, opened = item.source, item.opened
    assert opened is not None or not variants
    read = None if taking is None or not variants else taking.read(source, item.data, variants)
    tiles = []
    for index in range(variants):
        assert opened is not None
        seed = variant_seed(recipe.seed, source.path, index)
        taken = None if read is None else read.of(index)
        variant = derive(opened, recipe.steps, seed, partners=() if taken is None else taken.opened)
        records = variant.steps
        info: dict[str, Any] = {
            "variant": index,
            "seed": seed,
            "size": variant.size,
            "steps": records,
        }
        text = f"v{index}: {caption(records)}"
        if taken is not None:
            info["partners"] = [ref["path"] for ref in taken.refs]
            names = partner_names(taken, records, recipe.medium)
            text += f" with {', '.join(names)}" if names else ""
        image = tile_of(opened, variant.image)
        tiles.append(with_targets(Tile(image, text, info), item, variant.moved))
    return tiles


def draws_tiles(medium: str) -> bool:
    """Whether ``medium`` draws its own tiles (a picture of a clip) rather than being one."""
    return hasattr(media.get(medium), "tile")


def tile_of(opened: Opened, content: Any = None) -> np.ndarray:
    """The picture a tile shows of ``content`` (None: the decoded source): the pixels
    themselves, or what the medium draws of it (``Medium.tile``: a waveform and spectrogram)."""
    draw = getattr(opened.medium, "tile", None)
    if draw is None:
        return opened.decoded.image if content is None else content
    return draw(opened.decoded, content)


def original_tile(image: np.ndarray, size: list[int], item: Loaded | None = None) -> Tile:
    """The source's tile, captioned with its [height, width] (the order recipes give sizes in),
    with its annotations when ``item`` has them."""
    height, width = size
    tile = Tile(image, f"original [{height}, {width}]", {"variant": None, "size": size})
    if item is None or item.targets is None:
        return tile
    anns = _source_annotations(item)
    return replace(tile, targets=item.targets, names=box_names(item.targets, item, anns))


def with_targets(tile: Tile, item: Loaded, moved: Moved | None) -> Tile:
    """``tile`` with the moved annotations expand writes, and the class names of their boxes."""
    if moved is None:
        return tile
    # A payload layout's fields hold the annotations written, which its boxes' labels index.
    fields = moved.image_fields.values()
    anns = next(
        (f["annotations"] for f in fields if isinstance(f, dict) and "annotations" in f), None
    )
    return replace(tile, targets=moved.targets, names=box_names(moved.targets, item, anns))


def _source_annotations(item: Loaded) -> list[Any] | None:
    labels = None if item.opened is None else item.opened.labels
    payload = None if labels is None else labels.payload
    return payload[1] if isinstance(payload, tuple) and len(payload) == 2 else None


def box_names(targets: Any, item: Loaded, anns: list[Any] | None) -> tuple[str, ...]:
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


def source_info(source: Source, size: list[int]) -> dict[str, Any]:
    return {"path": source.path, "split": source.split, "label": source.label, "size": size}
