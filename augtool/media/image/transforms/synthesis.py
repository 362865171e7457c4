"""Multi-source synthesis: steps that make a variant from its source and partner images.

A synthesis step declares how many partners it needs (``partner_count``). The plan picks them
(:mod:`augtool.run.plan`), deterministically from the variant's identity, among the sources of
the same split; the worker decodes them and hands their arrays to the step. The step's
parameters name its partners by their place in the output line's ``partners`` list, so a
replay needs the step records and those partners' pixels, nothing else.

Like every transform, a step samples its parameters from the one generator it is handed and
applies them with a pure kernel: :meth:`Synthesis.blend` (the image and its partners in, a new
array out). :meth:`Synthesis.shares` says how much of the output each source makes (the
classification soft label), and :meth:`Synthesis.placements` where each source's pixels went
(the targets).

These steps live in their own registry (:data:`SYNTHESIS`): their kernels take partners, which
the single-image contract of :data:`~augtool.media.transform.REGISTRY` has not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from augtool.errors import ParamError
from augtool.media.image.transforms.imaging import fill_value, resize_image
from augtool.media.params import Bool, Fill, Float, Param, Size
from augtool.media.transform import Params, Shape, Transform

FAMILY = "synthesis"

SYNTHESIS: dict[str, type[Synthesis]] = {}

SAME_CLASS = Param(
    "same_class",
    Bool(),
    False,
    "pick partners of the source's own class (class-folder layouts); false: any source of the "
    "split",
)


@dataclass(frozen=True)
class Placement:
    """Where one source's pixels went: its point ``(x, y)`` lands at ``(x * sx + tx,
    y * sy + ty)`` of the output, and it shows only inside ``window`` (left, top, right,
    bottom) of the output, minus the ``covered`` rectangles later sources were drawn over."""

    sx: float
    sy: float
    tx: float
    ty: float
    window: tuple[float, float, float, float]
    covered: tuple[tuple[float, float, float, float], ...] = ()


class Synthesis(Transform):
    """A step of several sources. ``sample`` is given the partners' shapes too; ``blend`` is
    the pure kernel."""

    family = FAMILY
    partner_count: ClassVar[int] = 1

    @classmethod
    def supported_targets(cls) -> tuple[str, ...]:
        """Boxes, polygons and keypoints of every source are placed; masks too when the step
        has a mask kernel (:meth:`blend_mask`)."""
        placed = ("boxes", "polygons", "keypoints")
        return (*placed, "masks") if cls.moves_masks else placed

    #: Whether :meth:`blend_mask` makes the output's class-id mask from the sources' masks.
    moves_masks: ClassVar[bool] = False
    #: Whether :meth:`sample` is shown the partners' targets (``partner_targets``): a step
    #: that draws among a partner's objects.
    reads_partner_targets: ClassVar[bool] = False
    #: Whether the step cuts objects by their outlines, so that it needs a layout with them.
    cuts_outlines: ClassVar[bool] = False

    def sample(
        self,
        rng: np.random.Generator,
        shape: Shape,
        partner_shapes: Sequence[Shape] = (),
        partner_targets: Sequence[Any] = (),
    ) -> Params:
        """Draw the parameters for an image of ``shape`` and partners of ``partner_shapes``;
        ``partner_targets`` (their targets as read) is given to a step that
        :attr:`reads_partner_targets` only."""
        raise NotImplementedError

    @staticmethod
    def blend(image: np.ndarray, partners: Sequence[np.ndarray], params: Params) -> np.ndarray:
        """The output from the image and its partners (in ``params["partners"]`` order)."""
        raise NotImplementedError

    @staticmethod
    def blend_mask(mask: np.ndarray, partners: Sequence[np.ndarray], params: Params) -> np.ndarray:
        """The output's class-id mask (H, W) from the image's and its partners' masks, laid
        out as :meth:`blend` lays out their pixels, sampled nearest (ids never blend); 0
        (background) where no source shows. Only for a step that :attr:`moves_masks`."""
        raise NotImplementedError

    @staticmethod
    def shares(params: Params) -> list[float]:
        """The fraction of the output each source makes: the image's first, then each
        partner's; they sum to 1."""
        raise NotImplementedError

    @staticmethod
    def placements(
        params: Params, size: tuple[int, int], partner_sizes: Sequence[tuple[int, int]]
    ) -> tuple[tuple[int, int], list[Placement]]:
        """The output size, and where the image's pixels (the first) and each partner's went."""
        raise NotImplementedError


def register(cls: type[Synthesis]) -> type[Synthesis]:
    if cls.name in SYNTHESIS:
        raise RuntimeError(f"synthesis step {cls.name!r} registered twice")
    SYNTHESIS[cls.name] = cls
    return cls


def fitted(partner: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    """``partner`` resized to ``size`` (height, width), with ``channels`` channels: grey made
    colour, alpha added opaque or dropped, so any two sources of a split can be mixed."""
    if (int(partner.shape[0]), int(partner.shape[1])) != tuple(size):
        partner = resize_image(partner, list(size), "bilinear")
    have = int(partner.shape[2])
    if have == channels:
        return partner
    colour = partner[:, :, :1].repeat(3, axis=2) if have in (1, 2) else partner[:, :, :3]
    if channels == 1:
        weights = np.array([0.299, 0.587, 0.114])
        return np.rint(colour.astype(np.float64) @ weights)[:, :, None].astype(np.uint8)
    if channels == 3:
        return np.ascontiguousarray(colour)
    alpha = partner[:, :, 3:4] if have == 4 else np.full_like(partner[:, :, :1], 255)
    return np.concatenate([colour, alpha], axis=2)


def _positive_alpha(config: dict[str, Any]) -> None:
    if config["alpha"] <= 0:
        raise ParamError(f"alpha must be above 0, got {config['alpha']!r}")


def _whole(size: tuple[int, int]) -> tuple[float, float, float, float]:
    return (0.0, 0.0, float(size[1]), float(size[0]))


def _stretched(size: tuple[int, int], partner: tuple[int, int]) -> Placement:
    """A partner resized to the whole image (mixup, cutmix)."""
    return Placement(size[1] / partner[1], size[0] / partner[0], 0.0, 0.0, _whole(size))


@register
class Mixup(Synthesis):
    name = "mixup"
    summary = (
        "Blend the image with a partner of its split, resized to it: lam * image + (1 - lam) "
        "* partner, lam ~ Beta(alpha, alpha); a class-folder output records both classes' "
        "weights as its soft_label."
    )
    params = (
        Param("alpha", Float(0.0, None), 0.4, "Beta(alpha, alpha) shape of the image's weight"),
        SAME_CLASS,
    )
    example = "- mixup: {alpha: 0.4, p: 0.5}"

    def check(self, config: dict[str, Any]) -> None:
        _positive_alpha(config)

    def sample(
        self, rng: np.random.Generator, shape: Shape, partner_shapes: Sequence[Shape] = ()
    ) -> Params:
        alpha = self.config["alpha"]
        return {"lam": float(rng.beta(alpha, alpha)), "partners": [0]}

    @staticmethod
    def blend(image: np.ndarray, partners: Sequence[np.ndarray], params: Params) -> np.ndarray:
        other = fitted(partners[0], image.shape[:2], int(image.shape[2]))
        lam = float(params["lam"])
        mixed = lam * image.astype(np.float64) + (1.0 - lam) * other.astype(np.float64)
        return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)

    @staticmethod
    def shares(params: Params) -> list[float]:
        lam = float(params["lam"])
        return [lam, 1.0 - lam]

    @staticmethod
    def placements(
        params: Params, size: tuple[int, int], partner_sizes: Sequence[tuple[int, int]]
    ) -> tuple[tuple[int, int], list[Placement]]:
        own = Placement(1.0, 1.0, 0.0, 0.0, _whole(size))
        return size, [own, _stretched(size, partner_sizes[0])]


@register
class Cutmix(Synthesis):
    name = "cutmix"
    moves_masks = True
    summary = (
        "Paste a box of a partner (resized to the image) over the image; the box covers "
        "1 - lam of it, lam ~ Beta(alpha, alpha), centred anywhere and clipped; a class-folder "
        "output's soft_label weighs the classes by area."
    )
    params = (
        Param("alpha", Float(0.0, None), 1.0, "Beta(alpha, alpha) shape of the kept fraction"),
        SAME_CLASS,
    )
    example = "- cutmix: {alpha: 1.0, p: 0.5}"

    def check(self, config: dict[str, Any]) -> None:
        _positive_alpha(config)

    def sample(
        self, rng: np.random.Generator, shape: Shape, partner_shapes: Sequence[Shape] = ()
    ) -> Params:
        height, width = shape[:2]
        alpha = self.config["alpha"]
        cut = math.sqrt(1.0 - float(rng.beta(alpha, alpha)))
        box_w, box_h = round(width * cut), round(height * cut)
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        left, top = max(cx - box_w // 2, 0), max(cy - box_h // 2, 0)
        right, bottom = min(cx + box_w - box_w // 2, width), min(cy + box_h - box_h // 2, height)
        area = (right - left) * (bottom - top) / float(width * height)
        return {"box": [left, top, right, bottom], "area": area, "partners": [0]}

    @staticmethod
    def blend(image: np.ndarray, partners: Sequence[np.ndarray], params: Params) -> np.ndarray:
        other = fitted(partners[0], image.shape[:2], int(image.shape[2]))
        left, top, right, bottom = params["box"]
        out = image.copy()
        out[top:bottom, left:right] = other[top:bottom, left:right]
        return out

    @staticmethod
    def blend_mask(mask: np.ndarray, partners: Sequence[np.ndarray], params: Params) -> np.ndarray:
        other = partners[0]
        if other.shape != mask.shape:
            other = resize_image(other[:, :, None], list(mask.shape), "nearest")[:, :, 0]
        left, top, right, bottom = params["box"]
        out = mask.copy()
        out[top:bottom, left:right] = other[top:bottom, left:right]
        return out

    @staticmethod
    def shares(params: Params) -> list[float]:
        return [1.0 - float(params["area"]), float(params["area"])]

    @staticmethod
    def placements(
        params: Params, size: tuple[int, int], partner_sizes: Sequence[tuple[int, int]]
    ) -> tuple[tuple[int, int], list[Placement]]:
        box = tuple(float(v) for v in params["box"])
        own = Placement(1.0, 1.0, 0.0, 0.0, _whole(size), (box,))  # type: ignore[arg-type]
        pasted = _stretched(size, partner_sizes[0])
        return size, [own, Placement(pasted.sx, pasted.sy, 0.0, 0.0, box)]  # type: ignore[arg-type]


Rect = tuple[int, int, int, int]  # left, top, right, bottom


def mosaic_layout(
    params: Params, sizes: Sequence[tuple[int, int]]
) -> list[tuple[tuple[int, int], Rect, Rect]]:
    """Ultralytics' 2x2 mosaic geometry, for output ``size`` (h, w) and the four sources'
    ``sizes``: each source scaled so that it fits (h, w) (its long side), then laid on a
    (2h, 2w) canvas around the centre, top-left, top-right, bottom-left, bottom-right, each
    touching the centre with a corner; the output is the canvas's middle (h, w) window.

    Returns, for each source: its scaled size, the rectangle of the scaled image that shows
    (``b``), and where that lands in the output (``a``, the same shape, inside the output)."""
    out_h, out_w = params["size"]
    cx, cy = params["centre"]
    ox, oy = out_w // 2, out_h // 2  # the output window's corner on the canvas
    found = []
    for index, (height, width) in enumerate(sizes):
        scale = min(out_h / height, out_w / width)
        h, w = max(1, round(height * scale)), max(1, round(width * scale))
        if index == 0:
            a = (cx - w, cy - h, cx, cy)
        elif index == 1:
            a = (cx, cy - h, cx + w, cy)
        elif index == 2:
            a = (cx - w, cy, cx, cy + h)
        else:
            a = (cx, cy, cx + w, cy + h)
        # Clip to the output window, then the part of the scaled image that shows.
        left, top = max(a[0], ox), max(a[1], oy)
        right, bottom = min(a[2], ox + out_w), min(a[3], oy + out_h)
        right, bottom = max(right, left), max(bottom, top)
        b = (left - a[0], top - a[1], right - a[0], bottom - a[1])
        found.append(((h, w), b, (left - ox, top - oy, right - ox, bottom - oy)))
    return found


@register
class Mosaic(Synthesis):
    name = "mosaic"
    summary = (
        "Ultralytics' 2x2 mosaic: the image and three partners, each scaled to fit size, "
        "meet at a random centre of a (2h, 2w) canvas whose middle (h, w) is the output; boxes, "
        "polygons, keypoints and masks of all four land where their pixels went, clipped to it."
    )
    partner_count = 3
    moves_masks = True
    params = (
        Param("size", Size(), [640, 640], "the output [height, width] (each source fits it)"),
        Param("fill", Fill(), 114, "the colour where no source shows"),
        SAME_CLASS,
    )
    example = "- mosaic: {size: [640, 640], p: 1.0}"

    def sample(
        self, rng: np.random.Generator, shape: Shape, partner_shapes: Sequence[Shape] = ()
    ) -> Params:
        height, width = self.config["size"]
        # Ultralytics: the centre is uniform in [s/2, 3s/2] of the (2s, 2s) canvas.
        cx = int(rng.integers(width // 2, width + width // 2, endpoint=True))
        cy = int(rng.integers(height // 2, height + height // 2, endpoint=True))
        params = {"size": [height, width], "centre": [cx, cy], "fill": self.config["fill"]}
        sizes = [(int(s[0]), int(s[1])) for s in (shape, *partner_shapes)]
        areas = [(a[2] - a[0]) * (a[3] - a[1]) for _, _, a in mosaic_layout(params, sizes)]
        covered = float(sum(areas)) or 1.0
        return {**params, "shares": [a / covered for a in areas], "partners": [0, 1, 2]}

    @staticmethod
    def blend(image: np.ndarray, partners: Sequence[np.ndarray], params: Params) -> np.ndarray:
        return mosaic_pixels(image, partners, params, "bilinear")

    @staticmethod
    def blend_mask(mask: np.ndarray, partners: Sequence[np.ndarray], params: Params) -> np.ndarray:
        planes = [p[:, :, None] for p in partners]
        laid = mosaic_pixels(mask[:, :, None], planes, {**params, "fill": 0}, "nearest")
        return np.ascontiguousarray(laid[:, :, 0])

    @staticmethod
    def shares(params: Params) -> list[float]:
        """Each source's part of the area the sources cover (the fill is no class)."""
        return [float(v) for v in params["shares"]]

    @staticmethod
    def placements(
        params: Params, size: tuple[int, int], partner_sizes: Sequence[tuple[int, int]]
    ) -> tuple[tuple[int, int], list[Placement]]:
        sizes = [size, *partner_sizes]
        found = []
        for (height, width), (scaled, b, a) in zip(
            sizes, mosaic_layout(params, sizes), strict=True
        ):
            sx, sy = scaled[1] / width, scaled[0] / height
            window = tuple(float(v) for v in a)
            found.append(Placement(sx, sy, a[0] - b[0], a[1] - b[1], window))  # type: ignore[arg-type]
        out_h, out_w = params["size"]
        return (int(out_h), int(out_w)), found


def mosaic_pixels(
    image: np.ndarray, partners: Sequence[np.ndarray], params: Params, interpolation: str
) -> np.ndarray:
    """The mosaic of ``image`` and its three ``partners`` (a mask's with ``nearest``)."""
    sources = [image, *(fitted(p, p.shape[:2], int(image.shape[2])) for p in partners)]
    out_h, out_w = params["size"]
    channels = int(image.shape[2])
    out = np.empty((out_h, out_w, channels), dtype=image.dtype)
    out[:] = fill_value(params["fill"], channels)
    sizes = [(int(s.shape[0]), int(s.shape[1])) for s in sources]
    for source, (scaled, b, a) in zip(sources, mosaic_layout(params, sizes), strict=True):
        if a[2] <= a[0] or a[3] <= a[1]:
            continue
        if scaled != (source.shape[0], source.shape[1]):
            source = resize_image(source, list(scaled), interpolation)
        out[a[1] : a[3], a[0] : a[2]] = source[b[1] : b[3], b[0] : b[2]]
    return out


__all__ = [
    "SAME_CLASS",
    "SYNTHESIS",
    "Cutmix",
    "Mixup",
    "Mosaic",
    "Placement",
    "Synthesis",
    "fitted",
    "mosaic_layout",
    "mosaic_pixels",
]
