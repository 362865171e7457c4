"""Apply a pipeline's steps, fusing consecutive geometric steps into one resampling.

``hflip → rotate → random_resized_crop`` resampled step by step interpolates twice and rotates
every pixel of the full image, most of which the crop then throws away. Fused, the three steps'
matrices are composed and the output is sampled once, straight from the source: faster, and
sharper (one interpolation instead of two).

Fusion is part of what "applying" means, so it is the same in ``run`` and ``replay``: the bytes
depend only on the image and the recorded steps. The rules:

- A run of geometric steps is collected while nothing else fires. A step that reads outside its
  input (``rotate``, ``affine``, ``perspective``, ``pad``, a crop larger than the image, which set
  a border) may only start a run, or follow flips and quarter turns: what it reads outside must
  be the source's border seen through whole-canvas maps, not a cropped canvas's.
- A run of steps that only pick pixels (flips, quarter turns, crops inside the image) is applied
  step by step: exact, no resampling. So is a run of one step.
- A run whose composed map is axis-aligned (scales, shifts, flips) and stays inside the source
  is one antialiased ``resize`` of the source window (then a flip where a scale is negative).
- Otherwise the run is one warp with the composed matrix, the border of its step that reads
  outside (or none) and the interpolation of its first step that names one (``lanczos`` is done
  as ``bicubic``). When the run shrinks the image by 2x or more, the source is first reduced by
  the whole factor with a box filter (``Image.reduce``), so the warp does not alias.
- Geometric steps that can do neither (a crop that pads, ``pad``) and every other step are applied
  on their own, after the pending run.

Which library warps (``kernels``) and the cache of box reductions are arguments of the
:class:`Applier`: nothing outside its arguments decides the bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from augtool.media.image.transforms import kernels
from augtool.media.image.transforms.imaging import from_pil, resize_image, to_pil, wide_planes
from augtool.media.image.transforms.synthesis import SYNTHESIS
from augtool.media.image.transforms.warp import Geometry, is_affine, scaling, warp
from augtool.media.transform import REGISTRY


class Applier:
    """Receives steps in order and applies them, fusing geometric runs; ``shape`` is the shape
    the image has after every step fed so far (what the next step samples against).

    ``kernels_name`` resamples the warps; ``reductions`` may be shared by the variants of one
    source (:class:`Reductions`), a fresh one is made otherwise; ``partners`` are the images
    the synthesis steps take, by the places their parameters name."""

    def __init__(
        self,
        image: np.ndarray,
        kernels_name: str = kernels.DEFAULT,
        reductions: Reductions | None = None,
        partners: Sequence[np.ndarray] = (),
    ) -> None:
        self._image = image
        self._partners = partners
        self._kernels = kernels_name
        self._reductions = Reductions() if reductions is None else reductions
        self._pending: list[tuple[str, dict[str, Any], Geometry]] = []
        self._size: tuple[int, int] = (int(image.shape[0]), int(image.shape[1]))

    @property
    def shape(self) -> tuple[int, int, int]:
        return (*self._size, int(self._image.shape[2]))

    def partner(self, slot: int) -> np.ndarray:
        """The image of the partner at ``slot``."""
        if not 0 <= slot < len(self._partners):
            raise ValueError(f"a synthesis step names partner {slot}, but only "
                             f"{len(self._partners)} were given")  # fmt: skip
        return self._partners[slot]

    def feed(self, name: str, params: dict[str, Any]) -> None:
        if name in SYNTHESIS:
            # Every source is drawn at its own place: the pending geometry is applied first.
            image = self.image()
            partners = [self.partner(int(slot)) for slot in params["partners"]]
            self._image = SYNTHESIS[name].blend(image, partners, params)
            self._size = (int(self._image.shape[0]), int(self._image.shape[1]))
            return
        cls = REGISTRY[name]
        describe = getattr(cls, "geometry", None)
        geometry = None if describe is None else describe(params, self._size)
        if geometry is None:
            self.image()  # flush
            self._image = cls.apply(self._image, params)
            self._size = (int(self._image.shape[0]), int(self._image.shape[1]))
            return
        if geometry.border is not None and not all(g.whole for _, _, g in self._pending):
            self.image()
        self._pending.append((name, params, geometry))
        self._size = geometry.size

    def image(self) -> np.ndarray:
        """The image after every step fed so far."""
        pending, self._pending = self._pending, []
        if len(pending) == 1 or all(g.exact for _, _, g in pending):
            for name, params, geometry in pending:
                self._image = self._one(name, params, geometry)
        elif pending:
            geometries = [g for _, _, g in pending]
            self._image = _fused(self._image, geometries, self._kernels, self._reductions)
        return self._image

    def _one(self, name: str, params: dict[str, Any], geometry: Geometry) -> np.ndarray:
        """One geometric step alone. A step that warps (it has both a border and an
        interpolation: rotate, affine, perspective) is warped here, with this applier's
        kernels, from the geometry it gave for the image's own size: its ``apply`` does the
        same with the default kernels."""
        if geometry.border is not None and geometry.interpolation is not None:
            return warp(
                self._image,
                geometry.matrix,
                geometry.size,
                geometry.border,
                geometry.fill,
                geometry.interpolation,
                self._kernels,
                self._reductions.pillow,
            )
        return REGISTRY[name].apply(self._image, params)


def _fused(
    image: np.ndarray, run: list[Geometry], kernels_name: str, reductions: Reductions
) -> np.ndarray:
    matrix = np.eye(3)
    for geometry in run:
        matrix = geometry.matrix @ matrix
    size = run[-1].size
    interpolation = next((g.interpolation for g in run if g.interpolation), "bilinear")
    reader = next((g for g in run if g.border is not None), None)
    if reader is None:
        window = _axis_aligned_window(matrix, size, image.shape[:2])
        if window is not None:
            box, flip_x, flip_y = window
            out = resize_image(image, list(size), interpolation, box)
            if flip_x:
                out = np.ascontiguousarray(out[:, ::-1])
            if flip_y:
                out = np.ascontiguousarray(out[::-1])
            return out
    if interpolation == "lanczos":
        interpolation = "bicubic"
    source = image
    factor = _reduction(matrix) if interpolation != "nearest" else 1
    if factor >= 2:  # never for nearest: a box average would blend class ids
        source = reductions.reduce(image, factor)
        matrix = matrix @ scaling(factor, factor)
    border = "constant" if reader is None else reader.border
    fill = 0 if reader is None else reader.fill
    assert border is not None
    return warp(source, matrix, size, border, fill, interpolation, kernels_name, reductions.pillow)


def _axis_aligned_window(
    matrix: np.ndarray, size: tuple[int, int], source: tuple[int, ...]
) -> tuple[tuple[float, float, float, float], bool, bool] | None:
    """The source window (left, top, right, bottom) that a scale-and-shift map sends onto the
    whole output, and whether x and y are mirrored; None for any other map."""
    if (
        abs(matrix[0, 1]) > 1e-12
        or abs(matrix[1, 0]) > 1e-12
        or not is_affine(matrix)
        or abs(float(matrix[2, 2]) - 1.0) > 1e-8 + 1e-5  # np.allclose's tolerance, written out
    ):
        return None
    sx, sy, tx, ty = matrix[0, 0], matrix[1, 1], matrix[0, 2], matrix[1, 2]
    height, width = size
    xs = sorted(((0 - tx) / sx, (width - tx) / sx))
    ys = sorted(((0 - ty) / sy, (height - ty) / sy))
    eps = 1e-9
    if xs[0] < -eps or ys[0] < -eps or xs[1] > source[1] + eps or ys[1] > source[0] + eps:
        return None
    box = (max(xs[0], 0.0), max(ys[0], 0.0), min(xs[1], source[1]), min(ys[1], source[0]))
    return box, sx < 0, sy < 0


def _reduction(matrix: np.ndarray) -> int:
    """The whole factor by which an affine map shrinks the image (1 if it does not, or if it
    is a true perspective, whose scale varies across the image)."""
    if not is_affine(matrix):
        return 1
    scale = math.sqrt(abs(float(np.linalg.det(matrix[:2, :2]))))
    return max(1, math.floor(1.0 / scale)) if scale > 0 else 1


class Reductions:
    """The last few box reductions made, and the Pillow copies of the arrays a source's variants
    share, with the very arrays they came from.

    A source's variants are rendered one after another from the same decoded array, and most
    shrink it by the same whole factor, or warp it as it is: the reduction, or the Pillow copy
    a warp reads (:func:`to_pil`, a tenth of the warp's time at 640x480), is made once and
    served again. Only arrays the variants share have their copy kept: the decoded source
    (whose decoded picture the medium hands over, :meth:`keep_pillow`) and the reductions; a
    copy of any other array (the result of an earlier step, a padded source) serves one warp
    and goes, so a large image's copies do not outlive their warp. Whoever renders a source's
    variants holds one of these for that source (:mod:`augtool.run.derive`) and lets it go
    with the source. An entry holds its source array, so an identity check cannot be fooled by
    a reused ``id``; the bytes are those of a fresh reduction or copy (kernels never write into
    their input), so this is invisible but for time."""

    KEPT = 2

    def __init__(self) -> None:
        self.entries: list[tuple[np.ndarray, int, np.ndarray]] = []
        self.pillows: list[tuple[np.ndarray, Image.Image]] = []

    def pillow(self, image: np.ndarray) -> Image.Image:
        """:func:`to_pil` of an L or RGB ``image``, served from the kept copies when it can be,
        and kept when ``image`` is a reduction."""
        for source, made in self.pillows:
            if source is image:
                return made
        made = to_pil(image)
        if any(reduced is image for _, _, reduced in self.entries):
            self.keep_pillow(image, made)
        return made

    def keep_pillow(self, image: np.ndarray, picture: Image.Image) -> None:
        """Serve ``picture``, a Pillow image of exactly ``image``'s pixels, as its copy."""
        if not any(source is image for source, _ in self.pillows):
            self.pillows.insert(0, (image, picture))
            del self.pillows[self.KEPT :]

    def reduce(self, image: np.ndarray, factor: int) -> np.ndarray:
        """:func:`_box_reduce`, served from the recent reductions when it can be."""
        for source, done_factor, reduced in self.entries:
            if source is image and done_factor == factor:
                return reduced
        reduced = _box_reduce(image, factor)
        reduced.flags.writeable = False  # shared between variants: no kernel may write into it
        self.entries.insert(0, (image, factor, reduced))
        del self.entries[self.KEPT :]
        return reduced


def _box_reduce(image: np.ndarray, factor: int) -> np.ndarray:
    """Box-average ``factor`` x ``factor`` blocks (partial blocks at the far edges included)."""
    if image.dtype == np.uint16:
        return wide_planes(image, lambda plane, _: plane.reduce(factor))
    if image.shape[2] == 4:
        colour = from_pil(to_pil(np.ascontiguousarray(image[:, :, :3])).reduce(factor))
        alpha = from_pil(to_pil(np.ascontiguousarray(image[:, :, 3:])).reduce(factor))
        return np.concatenate([colour, alpha], axis=2)
    return from_pil(to_pil(image).reduce(factor))
