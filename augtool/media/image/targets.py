"""Move annotations (boxes, polygons, keypoints, masks) with the image, step by step.

One draw of parameters is applied to the image and to all its targets: :func:`apply_targets`
walks the same step records that :func:`augtool.media.image.transforms.compose.replay` walks, so the
targets follow exactly the pixels the manifest says were moved. Pixel-only transforms (every
family but ``geometric``) leave targets alone.

Coordinates are **pixel-edge** coordinates, the convention of Pillow's ``transform`` and
``resize``: pixel (row r, column c) covers ``[c, c + 1] x [r, r + 1]`` and its centre is
``(c + 0.5, r + 0.5)``; a box over the whole W x H image is ``(0, 0, W, H)``. Points are
``(x, y)``. A keypoint given as integer pixel indices should be shifted by 0.5 first.

The geometry of each transform (:func:`point_map`) is written against its kernel in
``augtool.media.image.transforms.geometric``, using the same matrices, so a transform whose
kernel changes must change here too; ``tests/test_targets.py`` checks every kernel against its
map pixel by pixel (nearest interpolation). The warps no matrix describes (``elastic`` and the
others in ``distort``) give a ``move_points`` map instead: the inverse of the map their kernel
samples through (``tests/test_distort.py`` checks them against where coloured pixels went).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from augtool.media.image.transforms import REGISTRY, SYNTHESIS, fired_leaves, kernels
from augtool.media.image.transforms.remap import densified
from augtool.media.transform import Params

__all__ = [
    "PointMap",
    "Targets",
    "UnsupportedTransform",
    "apply_targets",
    "box_areas",
    "clip_polygon",
    "filter_objects",
    "fit_boxes",
    "mirrored",
    "moved_geometry",
    "point_map",
    "polygon_area",
    "swap_flip_pairs",
]

Record = dict[str, Any]
Size = tuple[int, int]
PointMap = Callable[[np.ndarray], np.ndarray]


class UnsupportedTransform(ValueError):
    """A geometric transform has no target geometry here: its targets cannot be moved, and
    treating it as the identity would silently misplace them."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(f"transform {name!r} moves pixels but has no geometry for targets")


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _as_points(value: Any, columns: int, what: str) -> np.ndarray:
    array = np.array(value, dtype=np.float64)
    if array.size == 0:
        array = array.reshape(0, columns)
    if array.ndim != 2 or array.shape[1] != columns:
        raise ValueError(f"{what} must have shape (n, {columns}), got {array.shape}")
    return _frozen(array)


@dataclass(frozen=True, eq=False)
class Targets:
    """The annotations of one image of ``size`` = (height, width).

    Arrays are copied and made read-only on construction: functions here return new
    ``Targets`` rather than editing one, like the image kernels.

    - ``boxes``: (N, 4) float64 xyxy (x_min, y_min, x_max, y_max), pixel edges.
    - ``box_labels``: one JSON value per box, carried along untouched (None when not given).
    - ``box_visibility``: (N,) fraction of each box still inside the image, the product of the
      per-step fractions (clipped area / mapped area); 1.0 for a fresh box.
    - ``polygons``: list of (K, 2) float64 (x, y) vertices, with ``polygon_labels``.
    - ``keypoints``: list of (K, 3) float64 (x, y, v) per object, COCO's v in {0, 1, 2}.
    - ``mask``: optional (H, W) uint8 class-id image, with ``mask_palette``: the source
      mask's palette (768 RGB values) when it had one, carried along for writing it back.
    """

    size: Size
    boxes: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 4)))
    box_labels: list[Any] | None = None
    box_visibility: np.ndarray | None = None
    polygons: list[np.ndarray] = dataclasses.field(default_factory=list)
    polygon_labels: list[Any] | None = None
    keypoints: list[np.ndarray] = dataclasses.field(default_factory=list)
    mask: np.ndarray | None = None
    mask_palette: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        height, width = (int(v) for v in self.size)
        setattr_ = object.__setattr__  # the dataclass is frozen; this is construction
        setattr_(self, "size", (height, width))
        boxes = _as_points(self.boxes, 4, "boxes")
        setattr_(self, "boxes", boxes)
        count = len(boxes)
        labels = [None] * count if self.box_labels is None else list(self.box_labels)
        if len(labels) != count:
            raise ValueError(f"{count} boxes but {len(labels)} box labels")
        setattr_(self, "box_labels", labels)
        visibility = np.ones(count) if self.box_visibility is None else self.box_visibility
        visibility = np.array(visibility, dtype=np.float64).reshape(-1)
        if len(visibility) != count:
            raise ValueError(f"{count} boxes but {len(visibility)} visibilities")
        setattr_(self, "box_visibility", _frozen(visibility))
        polygons = [_as_points(p, 2, "a polygon") for p in self.polygons]
        setattr_(self, "polygons", polygons)
        plabels = [None] * len(polygons) if self.polygon_labels is None else self.polygon_labels
        if len(plabels) != len(polygons):
            raise ValueError(f"{len(polygons)} polygons but {len(plabels)} polygon labels")
        setattr_(self, "polygon_labels", list(plabels))
        setattr_(self, "keypoints", [_as_points(k, 3, "keypoints") for k in self.keypoints])
        if self.mask is not None:
            mask = np.array(self.mask, dtype=np.uint8)
            if mask.shape != (height, width):
                raise ValueError(f"mask shape {mask.shape} differs from size {(height, width)}")
            setattr_(self, "mask", _frozen(mask))

    def replace(self, **changes: Any) -> Targets:
        """A copy with ``changes`` (dataclasses.replace, re-validated)."""
        return dataclasses.replace(self, **changes)


# ---- the geometry of each geometric transform ------------------------------------------------


def _homogeneous(matrix: np.ndarray) -> PointMap:
    def apply(points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        mapped = np.c_[points, np.ones(len(points))] @ matrix.T
        return mapped[:, :2] / mapped[:, 2:3]

    return apply


def point_map(name: str, params: Params, size: Size) -> tuple[PointMap, Size] | None:
    """Where the transform ``name`` with its recorded ``params`` sends points of an image of
    ``size`` = (height, width): a function of (N, 2) pixel-edge (x, y) arrays, and the output
    size. None for a pixel-only transform (targets stay put).

    The map is the transform's own ``geometry`` (the matrix its kernel and the fused resampling
    use): Pillow samples the source at ``inverse(out_x + 0.5, out_y + 0.5)``, i.e. it treats a
    matrix as acting on pixel-edge coordinates, so the matrices serve points as they are.
    """
    cls = REGISTRY.get(name)
    if cls is None:
        raise UnsupportedTransform(name)
    if cls.family != "geometric":
        return None
    describe = getattr(cls, "geometry", None)
    if describe is None:
        curved = getattr(cls, "move_points", None)
        if curved is None:
            raise UnsupportedTransform(name)
        return curved(params, size), (int(size[0]), int(size[1]))
    geometry = describe(params, size)
    return _homogeneous(geometry.matrix), (int(geometry.size[0]), int(geometry.size[1]))


def curved(name: str) -> bool:
    """Whether ``name`` bends straight lines (``elastic``): a box is followed along its edges."""
    cls = REGISTRY.get(name)
    return cls is not None and getattr(cls, "move_points", None) is not None


# ---- moving each kind of target --------------------------------------------------------------


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """Areas of xyxy boxes (0 for an empty or inverted one)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    widths = np.clip(boxes[:, 2] - boxes[:, 0], 0.0, None)
    heights = np.clip(boxes[:, 3] - boxes[:, 1], 0.0, None)
    return widths * heights


def polygon_area(polygon: np.ndarray) -> float:
    """Unsigned shoelace area; 0 for fewer than three vertices."""
    if len(polygon) < 3:
        return 0.0
    x, y = polygon[:, 0], polygon[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


#: Points per box edge followed through a curved map (corners included once per edge).
OUTLINE_POINTS = 16


def _outlines(boxes: np.ndarray, per_edge: int) -> np.ndarray:
    """(N, 4 * per_edge, 2) points around each box, clockwise from the top left: the corners
    alone when ``per_edge`` is 1."""
    x0, y0, x1, y1 = (column[:, None] for column in boxes.T)
    t = np.arange(per_edge, dtype=np.float64)[None, :] / per_edge
    still = 0.0 * t
    edges = [
        (x0 + (x1 - x0) * t, y0 + still),
        (x1 + still, y0 + (y1 - y0) * t),
        (x1 - (x1 - x0) * t, y1 + still),
        (x0 + still, y1 - (y1 - y0) * t),
    ]
    xs = np.concatenate([x for x, _ in edges], axis=1)
    ys = np.concatenate([y for _, y in edges], axis=1)
    return np.stack([xs, ys], axis=-1)


def _move_boxes(
    boxes: np.ndarray,
    visibility: np.ndarray,
    mapping: PointMap,
    size: Size,
    per_edge: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Enclosing boxes of the mapped outlines (the corners, or ``per_edge`` points along each
    edge for a curved map), clipped, and the visibility after this step.

    The enclosing box is what the box formats can hold; under a rotation it is larger than the
    object, which is the usual price (Albumentations, torchvision do the same).
    """
    if len(boxes) == 0:
        return boxes.copy(), visibility.copy()
    outline = _outlines(boxes, per_edge)
    points = outline.shape[1]
    mapped = mapping(outline.reshape(-1, 2)).reshape(-1, points, 2)
    moved = np.c_[mapped.min(axis=1), mapped.max(axis=1)]
    height, width = size
    clipped = np.clip(moved, 0.0, [width, height, width, height])
    before, after = box_areas(moved), box_areas(clipped)
    # A box that clipping moves by no more than a mapping's rounding (a corner mapped to
    # 24.000000000000004 on a 24-wide image) is whole: a visibility of 0.9999999 would fail a
    # min_visibility of 1. A degenerate (zero-area) box that clipping cuts is gone.
    whole = np.all(np.abs(clipped - moved) <= EDGE_ROUNDING, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(whole, 1.0, np.where(before > 0, after / before, 0.0))
    return clipped, visibility * fraction


#: How far past the image's edge (in pixels) a mapped coordinate may land from floating-point
#: rounding alone: far below any real overhang, far above the rounding of images under 10^6 px.
EDGE_ROUNDING = 1e-6


def clip_polygon(polygon: np.ndarray, size: Size) -> np.ndarray:
    """Sutherland–Hodgman clipping of ``polygon`` to the image rectangle [0, W] x [0, H].

    The algorithm is exact when the clipping window is convex, and the image is, so any polygon
    (concave too) is clipped right; a concave polygon that the border cuts in two comes back as
    one outline joined along the border (zero-width seams), as every SH implementation does.
    """
    height, width = size
    # Each edge of the window: (axis, bound, keep the side where coordinate >= bound?)
    edges = ((0, 0.0, True), (0, float(width), False), (1, 0.0, True), (1, float(height), False))
    points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    for axis, bound, lower in edges:
        if len(points) == 0:
            break
        out: list[np.ndarray] = []
        prev = points[-1]
        for point in points:
            inside = point[axis] >= bound if lower else point[axis] <= bound
            prev_inside = prev[axis] >= bound if lower else prev[axis] <= bound
            if inside != prev_inside:
                t = (bound - prev[axis]) / (point[axis] - prev[axis])
                crossing = prev + t * (point - prev)
                crossing[axis] = bound  # exact on the border, whatever the rounding
                out.append(crossing)
            if inside:
                out.append(point)
            prev = point
        points = np.array(out, dtype=np.float64).reshape(-1, 2)
    return points


def _move_keypoints(keypoints: np.ndarray, mapping: PointMap, size: Size) -> np.ndarray:
    """Mapped keypoints; one that left the closed image rectangle gets v = 0 and keeps its
    coordinates (a later step never makes it visible again: its pixels are gone)."""
    if len(keypoints) == 0:
        return keypoints.copy()
    height, width = size
    xy = mapping(keypoints[:, :2])
    inside = (xy[:, 0] >= 0) & (xy[:, 0] <= width) & (xy[:, 1] >= 0) & (xy[:, 1] <= height)
    v = np.where(inside, keypoints[:, 2], 0.0)
    return np.c_[xy, v]


def _apply_step(name: str, params: Params, targets: Targets) -> Targets:
    found = point_map(name, params, targets.size)
    if found is None:
        return targets
    mapping, size = found
    per_edge = OUTLINE_POINTS if curved(name) else 1
    boxes, visibility = _move_boxes(targets.boxes, targets.box_visibility, mapping, size, per_edge)
    bent = [densified(p) for p in targets.polygons] if per_edge > 1 else targets.polygons
    polygons = [clip_polygon(mapping(p) if len(p) else p, size) for p in bent]
    keypoints = [_move_keypoints(k, mapping, size) for k in targets.keypoints]
    return targets.replace(
        size=size, boxes=boxes, box_visibility=visibility, polygons=polygons,
        keypoints=keypoints, mask=None,
    )  # fmt: skip


def apply_targets(
    records: list[Record],
    targets: Targets,
    kernels_name: str = kernels.DEFAULT,
    partners: Sequence[Targets] = (),
) -> Targets:
    """Move ``targets`` (of the image before the steps) through the recorded steps, walking
    blocks like ``compose.replay`` (fired steps only, children in their recorded order).

    Points compose exactly, however the image pipeline groups its resamplings. The mask goes
    through the same fused resamplings as the image (warped by ``kernels_name``, the image's),
    with nearest sampling. ``partners``: the targets of the partners the synthesis steps
    took, by the places their records name (their masks go through the steps' mask kernels).
    """
    moved = _move_points(records, targets, partners)
    if targets.mask is None:
        return moved
    from augtool.media.image.mask_moves import moved_mask

    mask = moved_mask(records, targets.mask, kernels_name, partners)
    if mask.shape != moved.size:
        # The kernels and the maps disagree on the output size: a bug here, not in the data.
        raise AssertionError(f"mask became {mask.shape}, points map to {moved.size}")
    return moved.replace(mask=mask)


def _move_points(
    records: list[Record], targets: Targets, partners: Sequence[Targets] = ()
) -> Targets:
    for record in fired_leaves(records):
        if record["name"] in SYNTHESIS:
            from augtool.media.image.synthesis_targets import synthesised

            targets = synthesised(record["name"], record["params"], targets, partners)
        else:
            targets = _apply_step(record["name"], record["params"], targets)
    return fit_boxes(targets) if moved_geometry(records) else targets


def moved_geometry(records: list[Record]) -> bool:
    """Whether any fired step moved pixels (a geometric or a synthesis step)."""
    return any(
        r["name"] in SYNTHESIS or REGISTRY[r["name"]].family == "geometric"
        for r in fired_leaves(records)
    )


def fit_boxes(targets: Targets) -> Targets:
    """Each box whose object also has polygon parts (a box and parts sharing a label: a COCO
    annotation) made the extent of its moved, clipped parts. The moved box corners enclose the
    rotated box, which is wider than the object under a rotation; the polygon is the object.
    A box whose parts have nothing left keeps its corners (the object is dropped anyway)."""
    extents: dict[str, list[np.ndarray]] = {}
    for polygon, label in zip(targets.polygons, targets.polygon_labels, strict=True):
        if label is not None and not _nothing_left(polygon):
            extents.setdefault(repr(label), []).append(polygon)
    if not extents or not len(targets.boxes):
        return targets
    boxes = targets.boxes.copy()
    for index, label in enumerate(targets.box_labels):
        parts = extents.get(repr(label)) if label is not None else None
        if parts:
            points = np.concatenate(parts)
            boxes[index] = [*points.min(axis=0), *points.max(axis=0)]
    return targets.replace(boxes=boxes)


# ---- after the move: dropping what left the image, mirrored labels --------------------------


#: An object less than this many pixels wide or high has nothing left in view. Clipping a box
#: at a border that its edge crosses by a rounding error (a YOLO box at 0.2 + 0.1 of 100 px ends
#: at 30.000000000000004) leaves a sliver of 1e-14 px, which would be written as a zero-size box.
NOTHING_LEFT = 0.01


def _nothing_left(points: np.ndarray) -> bool:
    """Whether the box corners or polygon vertices ``points`` (K, 2) cover nothing: under
    :data:`NOTHING_LEFT` wide or high (a polygon also when its area is under its square)."""
    if len(points) == 0:
        return True
    extent = points.max(axis=0) - points.min(axis=0)
    return bool(extent.min() < NOTHING_LEFT)


def filter_objects(
    targets: Targets,
    min_visibility: float = 0.0,
    min_area: float = 0.0,
    min_side: float = NOTHING_LEFT,
) -> tuple[Targets, list[Any]]:
    """Drop the objects with nothing left in view, too little of their box left in view
    (``min_visibility``), an area in pixels² under ``min_area``, or a box thinner than
    ``min_side`` pixels (wide or high).

    An object is the box and the polygons that share a label (a COCO annotation's box and its
    segmentation's parts; each YOLO line is one object); an entry without a label (``None``) is
    an object of its own. Its area is that of its polygons when it has any, else its clipped
    box's. Polygon parts with nothing left are removed; an object whose box, or every part, has
    nothing left is dropped whatever the thresholds: no format can label what is not there.

    Returns the kept targets and the labels of the dropped objects, in the order their first
    entry comes (boxes before polygons); a caller orders them as its format needs.
    """
    objects: dict[Any, list[Any]] = {}  # key -> [label, box index or None, [part indices]]

    def entry(label: Any, unique: tuple[str, int]) -> list[Any]:
        key = unique if label is None else repr(label)
        return objects.setdefault(key, [label, None, []])

    for index, label in enumerate(targets.box_labels):
        entry(label, ("box", index))[1] = index
    for index, label in enumerate(targets.polygon_labels):
        entry(label, ("polygon", index))[2].append(index)
    boxes = targets.boxes
    corners = boxes.reshape(-1, 2, 2)
    parts_left = [
        not _nothing_left(part) and polygon_area(part) >= NOTHING_LEFT**2
        for part in targets.polygons
    ]
    keep_box = np.zeros(len(boxes), dtype=bool)
    keep_part = [False] * len(targets.polygons)
    dropped = []
    for label, box, parts in objects.values():
        left = [i for i in parts if parts_left[i]]
        gone = bool(parts) and not left
        if box is not None:
            gone = gone or _nothing_left(corners[box])
            extent = corners[box].max(axis=0) - corners[box].min(axis=0)
            gone = gone or bool(extent.min() < min_side)
            gone = gone or bool(targets.box_visibility[box] < min_visibility)
        if parts:
            area = sum(polygon_area(targets.polygons[i]) for i in left)
        else:
            area = float(box_areas(boxes[box])[0])
        if gone or area < min_area:
            dropped.append(label)
            continue
        if box is not None:
            keep_box[box] = True
        for i in left:
            keep_part[i] = True
    kept = targets.replace(
        boxes=boxes[keep_box],
        box_labels=[label for label, k in zip(targets.box_labels, keep_box, strict=True) if k],
        box_visibility=targets.box_visibility[keep_box],
        polygons=[p for p, k in zip(targets.polygons, keep_part, strict=True) if k],
        polygon_labels=[
            label for label, k in zip(targets.polygon_labels, keep_part, strict=True) if k
        ],
    )
    return kept, dropped


def mirrored(records: list[Record]) -> bool:
    """Whether an odd number of ``hflip`` steps fired.

    Only ``hflip`` counts, as in Albumentations: a ``vflip`` (or rot90 by 2 then vflip, which is
    a horizontal mirror in disguise) also reverses handedness, but datasets' left/right pairs
    (eyes, hands) are defined for upright images and swapping them after a vertical flip
    surprises more people than it helps. A recipe that needs it can use ``hflip`` instead.
    """
    return [r["name"] for r in fired_leaves(records)].count("hflip") % 2 == 1


def swap_flip_pairs(
    labels: Sequence[Any], pairs: Sequence[Sequence[Any]], records: list[Record]
) -> tuple[list[Any], bool]:
    """Swap left/right ``labels`` per ``pairs`` ([[left, right], ...]) when the records mirror
    the image horizontally (:func:`mirrored`); return the labels and whether they mirrored.

    Works on any label values (class names, ids, keypoint names): a label equal to one side of
    a pair becomes the other side, others stay.
    """
    flipped = mirrored(records)
    if not flipped:
        return list(labels), False
    return [_partner(label, pairs) for label in labels], True


def _partner(label: Any, pairs: Sequence[Sequence[Any]]) -> Any:
    # A linear search, not a dict: JSON labels may be lists or objects, which do not hash.
    for left, right in pairs:
        if label == left:
            return right
        if label == right:
            return left
    return label
