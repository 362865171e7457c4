"""One resampling kernel for every affine and perspective transform, with border modes.

Pillow's ``Image.transform`` only fills outside pixels with a constant. For ``reflect``,
``replicate`` and ``wrap`` we pad the source with numpy first, by exactly the margin the inverse
map reaches, and shift the map by that margin: one interpolation, whatever the border.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from augtool.media.image.transforms import kernels
from augtool.media.image.transforms.imaging import (
    RESAMPLE,
    fill_value,
    from_pil,
    sample_fill,
    to_pil,
    wide_planes,
)


@dataclass(frozen=True)
class Geometry:
    """How a geometric step moves pixels, for fusing consecutive steps into one resampling.

    ``matrix`` maps the step's input to its output in pixel-edge coordinates (the image spans
    [0, width] x [0, height]); ``size`` is the output (height, width). ``exact`` steps only pick
    pixels (flips, quarter turns, crops inside the image) and never resample; ``border`` is set
    when the step reads outside its input canvas (and so fixes what lies there)."""

    matrix: np.ndarray
    size: tuple[int, int]
    exact: bool = False
    #: maps the whole input canvas onto the whole output canvas (flips, quarter turns): what lies
    #: outside the output is then the image of what lies outside the input, whatever the border.
    whole: bool = False
    interpolation: str | None = None
    border: str | None = None
    fill: int | list[int] = 0


def translation(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def scaling(sx: float, sy: float) -> np.ndarray:
    return np.diag([sx, sy, 1.0])


_PAD_BUDGET = 64_000_000  # pixels of the padded source, at most
_NUMPY_PAD = {"reflect": "reflect", "replicate": "edge", "wrap": "wrap"}
WARP_INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


def affine_matrix(
    center: tuple[float, float],
    angle: float = 0.0,
    scale: float = 1.0,
    translate: tuple[float, float] = (0.0, 0.0),
    shear: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """The forward 3x3 matrix (source -> destination pixel coordinates) of a rotation by ``angle``
    degrees counter-clockwise about ``center``, a uniform ``scale``, a ``shear`` (x, y) in degrees,
    then a ``translate`` (x, y) in pixels."""
    cx, cy = center
    a = math.radians(angle)
    sx, sy = (math.radians(s) for s in shear)
    to_origin = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], dtype=np.float64)
    shear_m = np.array([[1, math.tan(sx), 0], [math.tan(sy), 1, 0], [0, 0, 1]], dtype=np.float64)
    # Image y points down, so a counter-clockwise turn on screen is a negative angle here.
    rot = np.array(
        [[math.cos(a), math.sin(a), 0], [-math.sin(a), math.cos(a), 0], [0, 0, 1]],
        dtype=np.float64,
    )
    scale_m = np.diag([scale, scale, 1.0])
    back = np.array(
        [[1, 0, cx + translate[0]], [0, 1, cy + translate[1]], [0, 0, 1]], dtype=np.float64
    )
    return back @ scale_m @ rot @ shear_m @ to_origin


def perspective_matrix(
    src: Sequence[Sequence[float]], dst: Sequence[Sequence[float]]
) -> np.ndarray:
    """The 3x3 homography mapping the four ``src`` points onto the four ``dst`` points."""
    rows = []
    rhs = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.extend([u, v])
    h = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(rhs, dtype=np.float64))
    return np.append(h, 1.0).reshape(3, 3)


def warp(
    image: np.ndarray,
    matrix: np.ndarray,
    out_size: tuple[int, int],
    border: str,
    fill: int | list[int],
    interpolation: str,
    kernels_name: str = kernels.DEFAULT,
    pillow: Callable[[np.ndarray], Image.Image] = to_pil,
) -> np.ndarray:
    """Resample ``image`` under the forward 3x3 ``matrix`` into ``out_size`` = (height, width),
    with ``kernels_name``'s code (see :mod:`augtool.media.image.transforms.kernels`).
    ``pillow`` makes the Pillow image of an L or RGB ``image`` (the same pixels, so the same
    bytes): a caller that warps one array several times passes one that keeps it."""
    out_h, out_w = out_size
    height, width, channels = image.shape
    inverse = np.linalg.inv(matrix)
    inverse = inverse / inverse[2, 2]
    if kernels_name == "opencv" and max(out_h, out_w, height, width) < OPENCV_MAX_SIDE:
        return _warp_opencv(image, inverse, out_size, border, fill, interpolation)
    margin = 0
    if border != "constant":
        margin = _margin(inverse, out_w, out_h, width, height)
    source = image
    if margin:
        pad = ((margin, margin), (margin, margin), (0, 0))
        source = np.pad(image, pad, mode=_NUMPY_PAD[border])
        shift = np.array([[1, 0, margin], [0, 1, margin], [0, 0, 1]], dtype=np.float64)
        inverse = shift @ inverse
    if not is_affine(inverse):
        method = Image.Transform.PERSPECTIVE
        data = tuple(float(v) for v in inverse.flatten()[:8])
    else:
        method = Image.Transform.AFFINE
        data = tuple(float(v) for v in inverse[:2].flatten())
    if image.dtype == np.uint16:
        fills = sample_fill(fill, channels, image.dtype)
        return wide_planes(
            source,
            lambda plane, channel: plane.transform(
                (out_w, out_h),
                method,
                data,
                resample=RESAMPLE[interpolation],
                fillcolor=float(fills[channel]),
            ),
        )
    fillcolor = fill_value(fill, channels)

    def transform(
        array: np.ndarray,
        colour: int | tuple[int, ...],
        convert: Callable[[np.ndarray], Image.Image] = to_pil,
    ) -> np.ndarray:
        result = convert(array).transform(
            (out_w, out_h), method, data, resample=RESAMPLE[interpolation], fillcolor=colour
        )
        return from_pil(result)

    if channels == 4 and interpolation != "nearest":
        # Pillow filters RGBA through premultiplied RGBa and back, which rounds the colour of
        # translucent pixels (an identity warp moved them by up to 11 levels) and blackens fully
        # transparent ones. Resampling colour and alpha separately, as OpenCV does, keeps them.
        assert isinstance(fillcolor, tuple)
        colour = transform(np.ascontiguousarray(source[:, :, :3]), fillcolor[:3])
        alpha = transform(np.ascontiguousarray(source[:, :, 3:]), fillcolor[3])
        return np.concatenate([colour, alpha], axis=2)
    # A padded source is made for this warp alone: only ``image`` itself is worth keeping.
    return transform(source, fillcolor, pillow if source is image else to_pil)


def is_affine(matrix: np.ndarray) -> bool:
    """Whether a normalised 3x3 map has no perspective part (``allclose`` to 0, written out)."""
    return abs(float(matrix[2, 0])) <= 1e-8 and abs(float(matrix[2, 1])) <= 1e-8


#: OpenCV's remap keeps coordinates in 16-bit integers: larger images are warped by Pillow.
OPENCV_MAX_SIDE = 32_767
_OPENCV_BORDER = {"constant": 0, "replicate": 1, "reflect": 4, "wrap": 3}  # cv2.BORDER_*
_OPENCV_INTERPOLATION = {"nearest": 0, "bilinear": 1, "bicubic": 2}  # cv2.INTER_*
_OPENCV_INVERSE_MAP = 16  # cv2.WARP_INVERSE_MAP


def _warp_opencv(
    image: np.ndarray,
    inverse: np.ndarray,
    out_size: tuple[int, int],
    border: str,
    fill: int | list[int],
    interpolation: str,
) -> np.ndarray:
    """OpenCV's ``warpAffine``/``warpPerspective``, with its own border modes (no padding).

    OpenCV puts pixel ``i``'s centre at ``i``, where augtool's matrices put it at ``i + 0.5``:
    the map is conjugated by that half-pixel shift. Colour and alpha are filtered independently,
    as in the Pillow path."""
    cv2 = kernels.opencv()
    out_h, out_w = out_size
    channels = image.shape[2]
    to_edges = translation(0.5, 0.5)
    to_centres = translation(-0.5, -0.5)
    inverse = to_centres @ inverse @ to_edges
    values = [float(v) for v in sample_fill(fill, channels, image.dtype)]
    border_value = tuple(values + [values[-1] if len(values) == 1 else 0.0] * (4 - len(values)))
    flags = _OPENCV_INTERPOLATION[interpolation] | _OPENCV_INVERSE_MAP
    mode = _OPENCV_BORDER[border]
    if border == "reflect" and min(image.shape[:2]) < 2:
        # Mirroring a 1-pixel side gives that pixel again (as numpy's reflect padding, the Pillow
        # path's, does); OpenCV's reflect-101 never returns there (bicubic: it loops forever).
        mode = _OPENCV_BORDER["replicate"]
    source = np.ascontiguousarray(image)
    if channels == 3:
        # OpenCV's four-channel warp is vectorised and its three-channel one is not: through
        # RGBA the same bytes come out (each channel is filtered alone) at less than half the
        # time, conversions included.
        source = cv2.cvtColor(source, cv2.COLOR_RGB2RGBA)
    if is_affine(inverse):
        out = cv2.warpAffine(
            source,
            inverse[:2],
            (out_w, out_h),
            flags=flags,
            borderMode=mode,
            borderValue=border_value,
        )
    else:
        out = cv2.warpPerspective(
            source,
            inverse,
            (out_w, out_h),
            flags=flags,
            borderMode=mode,
            borderValue=border_value,
        )
    if channels == 3:
        return cv2.cvtColor(out, cv2.COLOR_RGBA2RGB)
    return out.reshape(out_h, out_w, channels)


def _margin(inverse: np.ndarray, out_w: int, out_h: int, width: int, height: int) -> int:
    corners = np.array([[0, 0, 1], [out_w, 0, 1], [0, out_h, 1], [out_w, out_h, 1]], dtype=float)
    mapped = corners @ inverse.T
    xs = mapped[:, 0] / mapped[:, 2]
    ys = mapped[:, 1] / mapped[:, 2]
    reach = max(-xs.min(), xs.max() - width, -ys.min(), ys.max() - height, 0.0)
    # Two more pixels cover the interpolation footprint at the edge. The padded image is capped at
    # _PAD_BUDGET pixels to bound memory for extreme zoom-outs or a degenerate homography; only
    # beyond that budget does the far border fall back to the fill colour.
    wanted = math.ceil(reach) + 2
    side = width + height
    budget = (-side + math.sqrt(side * side - 4 * (width * height - _PAD_BUDGET))) / 4
    return max(0, min(wanted, math.floor(budget)))
