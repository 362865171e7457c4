"""``copy_paste`` (Ghiasi et al., "Simple Copy-Paste", 2021): objects cut from a partner image
by their outlines and pasted over the image.

The partner is scaled to fit the image, times a jitter drawn from ``scale``, mirrored with
``flip``, and shifted to a random place (inside the image when smaller, cropped when larger);
``fraction`` of its outlined objects are chosen. The step's record holds that placement and the
chosen objects' outlines where they land (``polygons``, output pixels, rounded to 1e-4): the
kernel pastes the partner's pixels inside them (:func:`pasted_pixels`, the pixels whose centre
is inside, :func:`~augtool.media.image.transforms.outline.fill`), and the targets are moved from
the same numbers (:mod:`augtool.media.image.paste_targets`), so a pasted object's label lies on
its pixels. Reading the partner's objects makes this the one step whose draw depends on a
partner's targets (``reads_partner_targets``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from augtool.errors import ParamError
from augtool.media.image.transforms.outline import fill
from augtool.media.image.transforms.synthesis import SAME_CLASS, Synthesis, fitted, register
from augtool.media.params import Bool, Float, Param, Range
from augtool.media.transform import Params, Shape, uniform


def outlined_objects(targets: Any) -> list[tuple[Any, list[np.ndarray]]]:
    """The objects of ``targets`` that have an outline: each distinct polygon label (an
    object's, shared by its parts) with its parts of three points or more, in the order first
    seen."""
    found: dict[str, tuple[Any, list[np.ndarray]]] = {}
    if targets is None:
        return []
    for polygon, label in zip(targets.polygons, targets.polygon_labels, strict=True):
        if label is not None and len(polygon) >= 3:
            entry = found.setdefault(repr(label), (label, []))
            entry[1].append(np.asarray(polygon, dtype=np.float64))
    return list(found.values())


def paste_map(params: Params, partner_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The map of a partner point (pixel edges) to the output: ``point * scale + shift``."""
    height, width = partner_size
    scaled_h, scaled_w = params["size"]
    left, top = params["offset"]
    sx, sy = scaled_w / width, scaled_h / height
    if params["flip"]:
        return np.array([-sx, sy]), np.array([left + scaled_w, top], dtype=np.float64)
    return np.array([sx, sy]), np.array([left, top], dtype=np.float64)


def paste_region(params: Params, size: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the output pixels the partner is pasted over (inside a chosen outline and
    inside the placed partner)."""
    height, width = size
    parts = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for o in params["polygons"] for p in o]
    region = fill(parts, (0, 0, width, height))
    left, top = params["offset"]
    scaled_h, scaled_w = params["size"]
    shown = np.zeros_like(region)
    shown[max(top, 0) : max(top + scaled_h, 0), max(left, 0) : max(left + scaled_w, 0)] = True
    return region & shown


@register
class CopyPaste(Synthesis):
    name = "copy_paste"
    summary = (
        "Simple copy-paste (Ghiasi et al.): objects of a partner, cut by their outlines "
        "(polygons), scaled, mirrored and shifted as one, pasted over the image; the objects "
        "they cover keep their visible pixels (outline and box redrawn) or are dropped."
    )
    reads_partner_targets: ClassVar[bool] = True
    cuts_outlines: ClassVar[bool] = True
    params = (
        Param("fraction", Float(0.0, 1.0), 0.5, "share of its outlined objects, one at least"),
        Param("scale", Range(0.01, 10.0), [0.1, 2.0], "jitter of the partner's fitted size"),
        Param("flip", Bool(), True, "mirror the partner left-right half of the time"),
        SAME_CLASS,
    )
    example = "- copy_paste: {fraction: 0.5, scale: [0.5, 1.5], p: 0.5}"

    @classmethod
    def supported_targets(cls) -> tuple[str, ...]:
        """Boxes, polygons and keypoints; a class-id mask has no objects to cut."""
        return ("boxes", "polygons", "keypoints")

    def check(self, config: dict[str, Any]) -> None:
        if config["fraction"] <= 0:
            raise ParamError(f"fraction must be above 0, got {config['fraction']!r}")

    def sample(
        self,
        rng: np.random.Generator,
        shape: Shape,
        partner_shapes: Sequence[Shape] = (),
        partner_targets: Sequence[Any] = (),
    ) -> Params:
        height, width = (int(v) for v in shape[:2])
        partner_h, partner_w = (int(v) for v in partner_shapes[0][:2])
        jitter = uniform(rng, self.config["scale"])
        factor = min(height / partner_h, width / partner_w) * jitter
        scaled_h, scaled_w = max(1, round(partner_h * factor)), max(1, round(partner_w * factor))
        flip = bool(self.config["flip"]) and bool(rng.random() < 0.5)
        left = int(rng.integers(min(0, width - scaled_w), max(0, width - scaled_w), endpoint=True))
        top = int(rng.integers(min(0, height - scaled_h), max(0, height - scaled_h), endpoint=True))
        params: Params = {"size": [scaled_h, scaled_w], "flip": flip, "offset": [left, top]}
        objects = outlined_objects(partner_targets[0] if partner_targets else None)
        count = min(len(objects), max(1, round(len(objects) * self.config["fraction"])))
        chosen = sorted(int(i) for i in rng.choice(len(objects), size=count, replace=False))
        scale, shift = paste_map(params, (partner_h, partner_w))
        params["objects"] = chosen
        params["polygons"] = [
            [[round(float(v), 4) for v in (part * scale + shift).reshape(-1)] for part in parts]
            for _, parts in (objects[i] for i in chosen)
        ]
        area = float(paste_region(params, (height, width)).mean())
        return {**params, "area": area, "partners": [0]}

    @staticmethod
    def blend(image: np.ndarray, partners: Sequence[np.ndarray], params: Params) -> np.ndarray:
        return pasted_pixels(image, partners[0], params)

    @staticmethod
    def shares(params: Params) -> list[float]:
        return [1.0 - float(params["area"]), float(params["area"])]


def pasted_pixels(image: np.ndarray, partner: np.ndarray, params: Params) -> np.ndarray:
    """``image`` with the partner's pixels (scaled to ``size`` bilinear, mirrored with
    ``flip``, at ``offset``) inside the recorded outlines."""
    height, width = int(image.shape[0]), int(image.shape[1])
    region = paste_region(params, (height, width))
    if not region.any():
        return image
    scaled = fitted(partner, tuple(params["size"]), int(image.shape[2]))
    if params["flip"]:
        scaled = scaled[:, ::-1]
    left, top = params["offset"]
    ys, xs = np.nonzero(region)
    out = image.copy()
    out[ys, xs] = scaled[ys - top, xs - left]
    return out


__all__ = ["CopyPaste", "outlined_objects", "paste_map", "paste_region", "pasted_pixels"]
