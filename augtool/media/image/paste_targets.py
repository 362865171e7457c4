"""Targets through ``copy_paste``: the pasted objects labelled by the outlines the step
recorded, and the image's objects they cover cut down to what still shows.

Every rule works on pixels, the same ones the kernel pastes (:func:`paste_region`: the pixels
whose centre is inside a recorded outline):

- a **pasted** object's polygons are its recorded outline clipped to the image, its box their
  extent, its visibility the fraction of its outline's area inside the image; the partner's
  other objects (not chosen, or with no outline) are not brought in;
- an object of the image that the pasted pixels **cover in part** keeps the pixels still
  shown: its polygons become one polygon along their edges
  (:func:`~augtool.media.image.transforms.outline.outline`), its box their extent, and its
  visibility is multiplied by the fraction of its pixels left, so ``targets.bbox``'s
  ``min_visibility`` drops it as it drops an object a crop cut; one **covered entirely** has
  nothing left and is dropped (the line's ``dropped`` names it). An object with no polygon is
  taken as its box's pixels;
- a keypoint under a pasted pixel, or of the partner and not on one, gets v = 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from augtool.media.image.synthesis_targets import gathered
from augtool.media.image.targets import Targets, clip_polygon, polygon_area
from augtool.media.image.transforms.copy_paste import outlined_objects, paste_map, paste_region
from augtool.media.image.transforms.outline import fill, outline, window_of

Region = np.ndarray  # (H, W) bool: the pasted pixels


def copy_pasted(params: dict[str, Any], targets: Targets, partner: Targets) -> Targets:
    """``targets`` (the image's) and ``partner``'s (its targets as read, relabelled as the
    output's) after the ``copy_paste`` of ``params``."""
    size = targets.size
    region = paste_region(params, size)
    own = uncovered(targets, region)
    theirs = _pasted(params, partner, region)
    return gathered([own, theirs], size)


def _objects(targets: Targets) -> dict[str, tuple[list[int], list[int]]]:
    """Each object's boxes and polygon parts (by index), keyed by its label, in order."""
    found: dict[str, tuple[list[int], list[int]]] = {}
    for index, label in enumerate(targets.box_labels):
        key = repr(label) if label is not None else f"box {index}"
        found.setdefault(key, ([], []))[0].append(index)
    for index, label in enumerate(targets.polygon_labels):
        key = repr(label) if label is not None else f"polygon {index}"
        found.setdefault(key, ([], []))[1].append(index)
    return found


def uncovered(targets: Targets, region: Region) -> Targets:
    """``targets`` with what the pixels of ``region`` cover taken away (see the module's
    rules); ``cutmix``'s box takes it away as the pasted objects do."""
    boxes, visibility = targets.boxes.copy(), targets.box_visibility.copy()
    polygons: list[np.ndarray | None] = list(targets.polygons)
    for box_ids, polygon_ids in _objects(targets).values():
        parts = [targets.polygons[i] for i in polygon_ids if len(targets.polygons[i]) >= 3]
        if not parts:
            if not box_ids:
                continue
            x0, y0, x1, y1 = targets.boxes[box_ids[0]]
            parts = [np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])]
        left, top, right, bottom = window = window_of(parts, targets.size)
        pixels = fill(parts, window)
        covered = pixels & region[top:bottom, left:right]
        if not covered.any():
            continue
        shown = pixels & ~covered
        fraction = float(shown.sum()) / float(pixels.sum())
        rows, cols = np.nonzero(shown)
        if len(rows):
            extent = [left + cols.min(), top + rows.min(), left + cols.max() + 1,
                      top + rows.max() + 1]  # fmt: skip
        else:
            extent = [left, top, left, top]  # nothing left: an empty box, dropped
        for index in box_ids:
            boxes[index] = extent
            visibility[index] *= fraction
        if polygon_ids:
            polygons[polygon_ids[0]] = outline(shown, (left, top))
            for index in polygon_ids[1:]:
                polygons[index] = None  # the outline holds every part's pixels
    kept = [(p, lab) for p, lab in zip(polygons, targets.polygon_labels, strict=True)
            if p is not None]  # fmt: skip
    keypoints = [_hidden_under(k, region) for k in targets.keypoints]
    return targets.replace(
        boxes=boxes,
        box_visibility=visibility,
        polygons=[p for p, _ in kept],
        polygon_labels=[lab for _, lab in kept],
        keypoints=keypoints,
    )


def _pasted(params: dict[str, Any], partner: Targets, region: Region) -> Targets:
    size = region.shape
    objects = [label for label, _ in outlined_objects(partner)]
    box_ids_of = _objects(partner)
    boxes, visibility, box_labels = [], [], []
    polygons, polygon_labels = [], []
    for chosen, outline_parts in zip(params["objects"], params["polygons"], strict=True):
        label = objects[int(chosen)]
        box_ids = box_ids_of[repr(label)][0]
        parts = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in outline_parts]
        inside = [clip_polygon(p, size) for p in parts]
        inside = [p for p in inside if len(p) >= 3]
        polygons += inside
        polygon_labels += [label] * len(inside)
        whole = sum(polygon_area(p) for p in parts)
        left_in = sum(polygon_area(p) for p in inside)
        if inside:
            points = np.concatenate(inside)
            extent = [*points.min(axis=0), *points.max(axis=0)]
        else:
            extent = [0.0, 0.0, 0.0, 0.0]
        for index in box_ids:
            boxes.append(extent)
            visibility.append(left_in / whole if whole > 0 else 0.0)
            box_labels.append(partner.box_labels[index])
    scale, shift = paste_map(params, partner.size)
    keypoints = [_on_region(k, scale, shift, region) for k in partner.keypoints]
    return Targets(
        (int(size[0]), int(size[1])),
        boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4),
        box_labels=box_labels,
        box_visibility=np.array(visibility, dtype=np.float64),
        polygons=polygons,
        polygon_labels=polygon_labels,
        keypoints=keypoints,
    )


def _pixel_at(xy: np.ndarray, region: Region) -> np.ndarray:
    """Whether each point is on a pixel of ``region`` (False outside the image)."""
    height, width = region.shape
    cols, rows = np.floor(xy[:, 0]).astype(np.int64), np.floor(xy[:, 1]).astype(np.int64)
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    found = np.zeros(len(xy), dtype=bool)
    found[inside] = region[rows[inside], cols[inside]]
    return found


def _hidden_under(keypoints: np.ndarray, region: Region) -> np.ndarray:
    if len(keypoints) == 0:
        return keypoints.copy()
    return np.c_[keypoints[:, :2], np.where(_pixel_at(keypoints, region), 0.0, keypoints[:, 2])]


def _on_region(
    keypoints: np.ndarray, scale: np.ndarray, shift: np.ndarray, region: Region
) -> np.ndarray:
    if len(keypoints) == 0:
        return keypoints.copy()
    xy = keypoints[:, :2] * scale + shift
    return np.c_[xy, np.where(_pixel_at(xy, region), keypoints[:, 2], 0.0)]


__all__ = ["copy_pasted", "uncovered"]
