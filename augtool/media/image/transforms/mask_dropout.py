"""``mask_dropout`` after Albumentations' MaskDropout: whole objects of the mask removed, their
pixels filled in the image and given ``fill_mask`` in the mask.

An object is a connected region (eight neighbours) of one non-zero class id of the mask, as the
earlier steps left it (``Transform.reads_targets``). The sampler records the dropped pixels as
row runs (``[row, start, end]``, end excluded), so the image kernel and the mask's
(:func:`MaskDropout.apply_mask`) need nothing but the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from augtool.media.image.transforms.occlusion import colour_fill
from augtool.media.params import Fill, Int, Param, whole_pair
from augtool.media.transform import Params, Shape, Transform, integers, register

#: (K, 3) int64 rows of ``[row, start, end]``: the pixels ``mask[row, start:end]``.
Runs = np.ndarray


@dataclass(frozen=True)
class ObjectCount:
    """``[min, max]`` whole numbers >= 1; one number n means up to n (``[1, n]``), as in
    Albumentations."""

    @property
    def form(self) -> str:
        return "[min, max] of whole numbers >= 1, or one n (meaning [1, n])"

    @property
    def json_schema(self) -> dict[str, Any]:
        whole = {"type": "integer", "minimum": 1}
        return {"anyOf": [whole, {"type": "array", "items": whole, "minItems": 2, "maxItems": 2}]}

    def __call__(self, value: Any) -> list[int]:
        return whole_pair(value, 1, self.form, one_means_upto=True)


@register
class MaskDropout(Transform):
    name = "mask_dropout"
    summary = (
        "Remove whole objects of the mask (connected regions of one class id): fill their "
        "pixels in the image and give them fill_mask in the mask (Albumentations' MaskDropout; "
        "an image without a mask is left as it is)."
    )
    family = "occlusion"
    reads_targets = True
    params = (
        Param("max_objects", ObjectCount(), [1, 1], "how many objects to remove, drawn"),
        Param("fill", Fill(), 0, "colour of the removed objects' pixels"),
        Param("fill_mask", Int(0, 255), 0, "class id the removed objects get in the mask"),
    )
    example = "- mask_dropout: {max_objects: 2, fill: 0, p: 0.3}"

    def sample(self, rng: np.random.Generator, shape: Shape, targets: Any = None) -> Params:
        config = self.config
        mask = None if targets is None else targets.mask
        found = [] if mask is None else objects(mask)
        chosen: list[int] = []
        if found:
            count = min(integers(rng, config["max_objects"]), len(found))
            chosen = sorted(int(i) for i in rng.choice(len(found), size=count, replace=False))
        runs = np.concatenate([found[i] for i in chosen]) if chosen else np.zeros((0, 3), int)
        runs = runs[np.lexsort((runs[:, 1], runs[:, 0]))]
        return {
            "runs": runs.tolist(),
            "fill": config["fill"],
            "fill_mask": config["fill_mask"],
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        channels = image.shape[2]
        colour = colour_fill(params["fill"], channels)
        out = image.copy()
        out[_pixels(image.shape[:2], params["runs"]), : colour.size] = colour
        return out

    @staticmethod
    def apply_mask(mask: np.ndarray, params: Params) -> np.ndarray:
        """The (H, W) class-id mask with the removed objects set to ``fill_mask``."""
        out = mask.copy()
        out[_pixels(mask.shape, params["runs"])] = params["fill_mask"]
        return out


def _pixels(size: tuple[int, int], runs: list[list[int]]) -> np.ndarray:
    """(H, W) bool: the pixels of the recorded runs."""
    found = np.zeros(size, dtype=bool)
    for row, start, end in runs:
        found[row, start:end] = True
    return found


def objects(mask: np.ndarray) -> list[Runs]:
    """The connected regions (eight neighbours) of each non-zero class id of ``mask``, in the
    order of their first pixel in raster order, each as its row runs."""
    runs = _row_runs(mask)
    parent = list(range(len(runs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    rows = runs[:, 0]
    for row in np.unique(rows):
        above = np.flatnonzero(rows == row)
        below = np.flatnonzero(rows == row + 1)
        if not len(below):
            continue
        # A run touches those of the next row that start at or before its end and end at or
        # after its start (diagonal neighbours included).
        first = np.searchsorted(runs[below, 2], runs[above, 1], side="left")
        last = np.searchsorted(runs[below, 1], runs[above, 2], side="right")
        for a, lo, hi in zip(above, first, last, strict=True):
            for b in below[lo:hi]:
                if runs[a, 3] == runs[b, 3]:
                    parent[root(int(b))] = root(int(a))
    groups: dict[int, list[int]] = {}
    for i in range(len(runs)):
        groups.setdefault(root(i), []).append(i)
    ordered = sorted(groups.values(), key=lambda members: members[0])
    return [runs[members, :3] for members in ordered]


def _row_runs(mask: np.ndarray) -> np.ndarray:
    """(K, 4) ``[row, start, end, class id]`` of the runs of one non-zero id in each row."""
    height, width = mask.shape
    found = []
    for row in range(height):
        values = mask[row]
        cuts = np.flatnonzero(np.diff(values)) + 1
        starts = np.r_[0, cuts]
        ends = np.r_[cuts, width]
        ids = values[starts]
        keep = ids != 0
        count = int(keep.sum())
        if count:
            found.append(np.c_[np.full(count, row), starts[keep], ends[keep], ids[keep]])
    return np.concatenate(found).astype(np.int64) if found else np.zeros((0, 4), np.int64)
