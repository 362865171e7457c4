"""Targets through a synthesis step: each source's boxes, polygons and keypoints placed where
its pixels went, then gathered into the output's.

A synthesis step says, for the image and each partner, a :class:`Placement`: a scale and shift
of the source's pixel-edge coordinates, the window of the output where that source shows, and
the rectangles later sources were drawn over (``cutmix``'s box over the image). A box is mapped
and clipped to its window (its visibility scaled by the area left, as a crop does), a polygon
is clipped to its window, and a keypoint outside its window gets v = 0. What a covering
rectangle hides is taken away pixel by pixel as ``copy_paste`` takes away what it pastes over
(:func:`~augtool.media.image.paste_targets.uncovered`): an object keeps the pixels still shown
(its box and polygon redrawn around them), one hidden entirely is emptied so the filter drops
it, and a keypoint under the cover gets v = 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from augtool.media.image.targets import Targets, box_areas, clip_polygon
from augtool.media.image.transforms.synthesis import SYNTHESIS, Placement, Synthesis

Rect = tuple[float, float, float, float]


class PartnerTargetsMissing(ValueError):
    """A synthesis step moved pixels of a partner whose targets were not given."""


def synthesised(
    name: str, params: dict[str, Any], targets: Targets, partners: Sequence[Targets]
) -> Targets:
    """``targets`` (the image's, as the step found them) and the step's partners' targets
    (``partners``, by the places ``params["partners"]`` names) as the output's."""
    step: type[Synthesis] = SYNTHESIS[name]
    slots = [int(slot) for slot in params["partners"]]
    if any(slot >= len(partners) for slot in slots):
        raise PartnerTargetsMissing(f"{name} names partners {slots}, {len(partners)} given")
    theirs = [partners[slot] for slot in slots]
    if step.cuts_outlines:
        from augtool.media.image.paste_targets import copy_pasted

        return copy_pasted(params, targets, theirs[0])
    size, placements = step.placements(params, targets.size, [t.size for t in theirs])
    parts = [placed(t, p) for t, p in zip([targets, *theirs], placements, strict=True)]
    return gathered(parts, size)


def placed(targets: Targets, placement: Placement) -> Targets:
    """``targets`` scaled and shifted by ``placement``, clipped to its window."""

    def mapping(points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return points * (placement.sx, placement.sy) + (placement.tx, placement.ty)

    boxes, visibility = _boxes(targets, mapping, placement)
    polygons = [_clipped(mapping(p), placement.window) if len(p) else p for p in targets.polygons]
    keypoints = [_keypoints(k, mapping, placement) for k in targets.keypoints]
    moved = targets.replace(
        boxes=boxes, box_visibility=visibility, polygons=polygons, keypoints=keypoints, mask=None
    )
    if not placement.covered:
        return moved
    from augtool.media.image.paste_targets import uncovered

    return uncovered(moved, _covered_pixels(placement.covered, moved.size))


def _covered_pixels(covers: Sequence[Rect], size: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the pixels of the covering rectangles (whole pixels, as the kernels draw)."""
    region = np.zeros(size, dtype=bool)
    for left, top, right, bottom in covers:
        region[round(top) : round(bottom), round(left) : round(right)] = True
    return region


def gathered(parts: list[Targets], size: tuple[int, int]) -> Targets:
    """Every part's objects, the image's first, in one ``Targets`` of the output's ``size``."""
    return Targets(
        size,
        boxes=np.concatenate([p.boxes for p in parts]).reshape(-1, 4),
        box_labels=[label for p in parts for label in p.box_labels],
        box_visibility=np.concatenate([p.box_visibility for p in parts]),
        polygons=[polygon for p in parts for polygon in p.polygons],
        polygon_labels=[label for p in parts for label in p.polygon_labels],
        keypoints=[k for p in parts for k in p.keypoints],
        mask_palette=parts[0].mask_palette,
    )


def _boxes(targets: Targets, mapping: Any, placement: Placement) -> tuple[np.ndarray, np.ndarray]:
    boxes = targets.boxes
    if len(boxes) == 0:
        return boxes.copy(), targets.box_visibility.copy()
    moved = np.c_[mapping(boxes[:, :2]), mapping(boxes[:, 2:])]
    left, top, right, bottom = placement.window
    clipped = np.clip(moved, [left, top, left, top], [right, bottom, right, bottom])
    before, after = box_areas(moved), box_areas(clipped)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(before > 0, after / before, 1.0)
    return clipped, targets.box_visibility * fraction


def _clipped(points: np.ndarray, window: Rect) -> np.ndarray:
    left, top, right, bottom = window
    offset = np.array([left, top])
    shifted = clip_polygon(points - offset, (bottom - top, right - left))
    return shifted + offset if len(shifted) else shifted


def _keypoints(keypoints: np.ndarray, mapping: Any, placement: Placement) -> np.ndarray:
    if len(keypoints) == 0:
        return keypoints.copy()
    xy = mapping(keypoints[:, :2])
    left, top, right, bottom = placement.window
    shown = (xy[:, 0] >= left) & (xy[:, 0] <= right) & (xy[:, 1] >= top) & (xy[:, 1] <= bottom)
    return np.c_[xy, np.where(shown, keypoints[:, 2], 0.0)]


__all__ = ["PartnerTargetsMissing", "gathered", "placed", "synthesised"]
