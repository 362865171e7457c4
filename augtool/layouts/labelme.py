"""The ``labelme`` layout: LabelMe's one JSON per image, beside it (``x.jpg`` + ``x.json``).

A LabelMe JSON lists ``shapes``, each a ``label`` and ``points`` in pixels: a ``rectangle``
(two opposite corners) is a box, a ``polygon`` (three points or more) a polygon. Any other
shape (circle, line, point, mask) cannot be moved as the format writes it, so an image with
one is skipped with that reason, never written with a stale shape. An image without a JSON is
an unlabelled image (LabelMe writes none until something is drawn) and stays one; an empty
JSON file is read as no shapes (a partner without a JSON brings none to a synthesis step).

Written back: the same JSON (every key and every shape's other fields carried, in their
order, indented as LabelMe writes it), each shape's points moved (a rectangle as its moved
box's corners, a polygon clipped to the image), the shapes with nothing (or too little, by
``targets.bbox``) left in view removed and listed as the label file's ``dropped``,
``imageHeight``/``imageWidth`` set, ``imageData`` (the source's pixels, base64) set to null so
that LabelMe opens the variant's image, and ``imagePath`` naming the variant's image. Splits
are top-level folders named like splits, as for ``flat`` and ``imagefolder``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from augtool.layouts import class_counts as counters
from augtool.layouts.base import (
    AnnotationError,
    EveryName,
    LabelRules,
    Layout,
    Moved,
    Record,
    SourceLabels,
)
from augtool.layouts.discovery import (
    Dataset,
    Skip,
    Walk,
    sorted_skips,
    split_folder_sources,
)
from augtool.layouts.labelfiles import _label_file
from augtool.media.image.targets import Targets, box_areas, clip_polygon

MOVED_SHAPES = ("rectangle", "polygon")


def json_path(image_path: str) -> str:
    """``a/x.jpg`` -> ``a/x.json``."""
    return str(PurePosixPath(image_path).with_suffix(".json"))


def _load(data: bytes, where: str) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise AnnotationError(f"{where}: not a LabelMe JSON: {exc}") from None
    if not isinstance(value, dict) or not isinstance(value.get("shapes"), list):
        raise AnnotationError(f"{where}: not a LabelMe JSON (an object with 'shapes')")
    return value


def _points(shape: Any, index: int, where: str) -> np.ndarray:
    if not isinstance(shape, dict):
        raise AnnotationError(f"{where}: shapes[{index}] is not an object")
    kind = shape.get("shape_type") or "polygon"  # LabelMe 3 wrote no shape_type: polygons
    if kind not in MOVED_SHAPES:
        raise AnnotationError(
            f"{where}: shapes[{index}] is a {kind!r}, which augtool does not move "
            f"(it moves {', '.join(MOVED_SHAPES)})"
        )
    points = shape.get("points")
    ok = isinstance(points, list) and all(
        isinstance(p, list)
        and len(p) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p)
        and all(math.isfinite(v) for v in p)
        for p in points
    )
    needed = 2 if kind == "rectangle" else 3
    if not ok or len(points) < needed or (kind == "rectangle" and len(points) != 2):
        raise AnnotationError(
            f"{where}: shapes[{index}] ({kind}) must have "
            f"{'two corner points' if kind == 'rectangle' else 'three points or more'} "
            "[[x, y], ...] of finite numbers"
        )
    return np.array(points, dtype=np.float64)


def read(data: bytes, where: str, size: tuple[int, int]) -> Targets:
    """The shapes of a LabelMe JSON: rectangles as boxes, polygons as polygons, each labelled
    ``{"shape": index, "label": ...}``. Raises :class:`AnnotationError` naming ``where``."""
    document = _load(data, where)
    boxes, box_labels, polygons, polygon_labels = [], [], [], []
    for index, shape in enumerate(document["shapes"]):
        points = _points(shape, index, where)
        label = {"shape": index, "label": shape.get("label")}
        if (shape.get("shape_type") or "polygon") == "rectangle":
            boxes.append([*points.min(axis=0), *points.max(axis=0)])
            box_labels.append(label)
        else:
            polygons.append(points)
            polygon_labels.append(label)
    # Shapes reaching outside the image are clipped to it: a box keeps the fraction left in
    # view as its visibility, so it is dropped or kept as a box a step moved out would be.
    height, width = size
    array = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    clipped = np.clip(array, 0.0, [width, height, width, height])
    before, after = box_areas(array), box_areas(clipped)
    with np.errstate(divide="ignore", invalid="ignore"):
        visible = np.where(
            before > 0, after / before, np.all(clipped == array, axis=1).astype(float)
        )
    inside = [p if _within(p, size) else clip_polygon(p, size) for p in polygons]
    return Targets(
        size,
        boxes=clipped,
        box_labels=box_labels,
        box_visibility=visible,
        polygons=inside,
        polygon_labels=polygon_labels,
    )


def _within(points: np.ndarray, size: tuple[int, int]) -> bool:
    height, width = size
    return bool((points >= 0).all() and (points[:, 0] <= width).all()
                and (points[:, 1] <= height).all())  # fmt: skip


def _dump(document: dict[str, Any]) -> bytes:
    """As LabelMe writes its files: two-space indents, UTF-8 kept as it is, no final newline."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


@dataclass(frozen=True)
class PartnerJSON:
    """The JSON of a partner whose shapes a synthesis step brought in, by its ``slot``."""

    slot: int
    data: bytes
    where: str


def write(
    data: bytes,
    where: str,
    targets: Targets,
    swap: dict[str, str],
    partners: Sequence[PartnerJSON] = (),
) -> tuple[bytes, list[str]]:
    """The source JSON ``data`` with the kept, moved ``targets`` of :func:`read`; and the
    labels a mirror swapped (by ``swap``). The kept shapes of ``partners`` (labelled with
    their ``"partner"`` slot) follow the source's, each with its own fields."""
    document = _load(data, where) if data else {"shapes": []}
    moved: dict[tuple[int, int], list[list[float]]] = {}
    for box, label in zip(targets.boxes, targets.box_labels, strict=True):
        x0, y0, x1, y1 = (float(v) for v in box)
        moved[_key(label)] = [[x0, y0], [x1, y1]]
    for polygon, label in zip(targets.polygons, targets.polygon_labels, strict=True):
        moved[_key(label)] = [[float(x), float(y)] for x, y in polygon]
    sources = [(-1, document), *((p.slot, _load(p.data, p.where)) for p in partners)]
    shapes, swapped = [], set()
    for slot, owner in sources:
        for index, shape in enumerate(owner["shapes"]):
            if (slot, index) not in moved:
                continue
            out = {**shape, "points": moved[slot, index]}
            if shape.get("label") in swap:
                swapped.add(shape["label"])
                out["label"] = swap[shape["label"]]
            shapes.append(out)
    height, width = targets.size
    document.update(shapes=shapes, imageHeight=height, imageWidth=width)
    if document.get("imageData") is not None:
        document["imageData"] = None
    return _dump(document), sorted(swapped)


def _key(label: dict[str, Any]) -> tuple[int, int]:
    return int(label.get("partner", -1)), int(label["shape"])


def named(data: bytes, where: str, image_name: str) -> bytes:
    """The JSON ``data`` with ``imagePath``'s file name set to ``image_name``."""
    document = _load(data, where)
    path = document.get("imagePath")
    if isinstance(path, str) and path:
        cut = max(path.rfind("/"), path.rfind("\\"))
        document["imagePath"] = path[: cut + 1] + image_name
    else:
        document["imagePath"] = image_name
    return _dump(document)


def _is_labelme(path: Path) -> bool:
    try:
        # Read whole: a JSON that embeds its image (imageData) runs to megabytes.
        value = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(value, dict) and isinstance(value.get("shapes"), list)


class LabelMeLayout(Layout):
    name = "labelme"
    detect_order = 40
    labelled = True
    label_files = True
    object_labels = True
    min_box_side = 1.0
    takes_partners = True
    outlines = True

    def class_counts(self, data: bytes, where: str) -> dict[str, int] | None:
        return counters.labelme(data, where)

    def detect(self, root: Path, candidates: list[str], split_names: set[str]) -> bool:
        """An image with a LabelMe JSON beside it (the first such JSON is read)."""
        for rel in candidates:
            label = root / json_path(rel)
            if label.is_file():
                return _is_labelme(label)
        return False

    def discover(
        self,
        root: Path,
        walk: Walk,
        split_names: set[str],
        augmented: set[str],
        follow_links: bool,
    ) -> Dataset:
        """The images as ``flat`` finds them, each with the JSON beside it when it has one."""
        found = split_folder_sources(root, self.name, walk, split_names, augmented, False)
        skipped = list(found.skipped)
        sources = []
        for source in found.sources:
            annotation = json_path(source.path)
            has_label, refusal = _label_file(root, annotation, follow_links)
            if refusal is not None:
                skipped.append(Skip(source.path, refusal))
                continue
            sources.append(replace(source, annotation=annotation if has_label else None))
        return replace(found, sources=tuple(sources), skipped=sorted_skips(skipped))

    def label_path(self, image_path: str) -> str | None:
        return json_path(image_path)

    def vocabulary(self, dataset: Dataset) -> tuple[Any, ...]:
        return ()

    def known_names(self, vocabulary: tuple[Any, ...]) -> set[str]:
        return EveryName()

    def read(self, labels: SourceLabels, rules: LabelRules, size: tuple[int, int]) -> Targets:
        """The shapes of the JSON; none for an empty one."""
        assert labels.data is not None
        return read(labels.data, labels.where, size) if labels.data else Targets(size)

    def with_partners(
        self, labels: SourceLabels, partners: dict[int, tuple[SourceLabels, Targets]]
    ) -> tuple[SourceLabels, dict[int, Targets]]:
        """The partners' shapes follow the source's in the written JSON; each partner's are
        labelled with its slot (``"partner": 0``). A partner without a JSON brings none."""
        extra = list(labels.extra)
        relabelled = {}
        for slot, (theirs, targets) in sorted(partners.items()):
            if theirs.data:
                extra.append(PartnerJSON(slot, theirs.data, theirs.where))
            relabelled[slot] = targets.replace(
                box_labels=[{**lab, "partner": slot} for lab in targets.box_labels],
                polygon_labels=[{**lab, "partner": slot} for lab in targets.polygon_labels],
            )
        return replace(labels, extra=tuple(extra)), relabelled

    def moved(
        self,
        labels: SourceLabels,
        kept: Targets,
        dropped: list[Any],
        rules: LabelRules,
        flipped: bool,
    ) -> Moved:
        assert labels.data is not None
        swap = rules.swapped_names(flipped)
        said: Record = {"dropped": sorted(dropped, key=_key)}
        data, swapped = write(labels.data, labels.where, kept, swap, labels.extra)
        if swapped:
            said["flipped_labels"] = swapped
        return Moved(kept, label=data, said=said)

    def label_for(self, label: bytes, image_path: str) -> bytes:
        return named(label, image_path, PurePosixPath(image_path).name)


__all__ = ["LabelMeLayout", "PartnerJSON", "json_path", "named", "read", "write"]
