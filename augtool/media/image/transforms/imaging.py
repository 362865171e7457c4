"""Small bridges between the kernels' ``(H, W, C)`` uint8 arrays and Pillow images.

A ``uint16`` array (a 16-bit source kept at 16 bits, ``output.bit_depth: source``) goes through
Pillow one channel at a time as a 32-bit float image (mode ``F``, which holds every 16-bit value
exactly) and is rounded back to 16 bits: :func:`wide_planes`. Fill colours stay on the 0-255
scale of the recipe and are multiplied by 257 (255 is 65535, white) for such an array.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from augtool.media.image.transforms import kernels

RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}
INTERPOLATIONS = tuple(RESAMPLE)
BORDERS = ("constant", "reflect", "replicate", "wrap")

_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def to_pil(image: np.ndarray) -> Image.Image:
    """A Pillow image over a copy of ``image`` (L, RGB or RGBA)."""
    channels = image.shape[2]
    if channels == 1:
        return Image.fromarray(image[:, :, 0], "L")
    return Image.fromarray(image, _MODES[channels])


def from_pil(image: Image.Image) -> np.ndarray:
    """The ``(H, W, C)`` array of an L, RGB or RGBA Pillow image."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    return array


def fill_value(fill: int | list[int], channels: int) -> int | tuple[int, ...]:
    """A Pillow fill colour for an image with ``channels`` channels.

    The rule, the same for every step that fills (warps, fused runs, ``pad``, padding crops) and
    for both kernels: one number fills every channel, alpha included, as torchvision's ``fill``
    does, so the default 0 is transparent on an image with alpha (what lies outside a cut-out
    stays outside it) and 255 is opaque white; ``[r, g, b]`` is an opaque colour and
    ``[r, g, b, a]`` gives the alpha too. A grey image gets a colour's luma; an RGB image ignores
    ``a``."""
    if isinstance(fill, int):
        return fill if channels == 1 else (fill,) * channels
    if channels == 1:
        r, g, b = fill[:3]
        return round(0.299 * r + 0.587 * g + 0.114 * b)
    if channels == 4:
        return (*fill[:3], fill[3] if len(fill) == 4 else 255)
    return tuple(fill[:3])


def sample_fill(fill: int | list[int], channels: int, dtype: np.dtype) -> tuple[int, ...]:
    """:func:`fill_value` as one value per channel, on the scale of ``dtype`` (uint8 or
    uint16)."""
    colour = fill_value(fill, channels)
    values = (colour,) * channels if isinstance(colour, int) else colour
    scale = 257 if dtype == np.uint16 else 1
    return tuple(int(v) * scale for v in values)


def wide_planes(image: np.ndarray, op: Callable[[Image.Image, int], Image.Image]) -> np.ndarray:
    """``op(plane, channel)`` of each channel of a ``uint16`` ``image`` as a Pillow ``F``
    image, rounded and clipped back to ``uint16``: Pillow's resampling at 16-bit precision
    (it has no 16-bit colour mode). Channels are filtered independently, alpha included."""
    planes = []
    for channel in range(image.shape[2]):
        plane = Image.fromarray(image[:, :, channel].astype(np.float32), "F")
        values = np.asarray(op(plane, channel))
        planes.append(np.clip(np.rint(values), 0, 65535).astype(np.uint16))
    return np.stack(planes, axis=2)


def split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Colour channels and, for RGBA, the alpha channel: colour kernels leave alpha alone."""
    if image.shape[2] == 4:
        return image[:, :, :3], image[:, :, 3:]
    return image, None


def join_alpha(colour: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    return colour if alpha is None else np.concatenate([colour, alpha], axis=2)


#: Modes whose Pillow storage is a plain byte array numpy can share (RGB is stored as RGBX).
_SHAREABLE = ("L", "RGBA")
_paste_works: bool | None = None


def copy_into(image: Image.Image, out: np.ndarray) -> np.ndarray:
    """Copy the pixels of an L or RGBA Pillow ``image`` into the C-contiguous uint8 array ``out``
    (of its size and channels), and return ``out``.

    ``np.asarray(image)`` goes through ``tobytes``, which packs the pixels in 64 KiB pieces and
    joins them: two copies into fresh memory, 0.1-0.7 ms for a 512x384 RGB image here, where
    page faults are dear. Instead Pillow pastes straight into numpy's memory, through an image
    that shares it (``frombuffer``, made writable). A probe checks once that this Pillow really
    writes through; if not, the slow copy is used."""
    global _paste_works
    if _paste_works is None:
        _paste_works = _paste_probe()
    if not _paste_works or image.mode not in _SHAREABLE:
        out[...] = np.asarray(image).reshape(out.shape)
        return out
    _paste(image, out)
    return out


def _paste(image: Image.Image, out: np.ndarray) -> None:
    target = Image.frombuffer(image.mode, image.size, out, "raw", image.mode, 0, 1)
    target.readonly = False  # frombuffer marks shared memory read-only; ours is writable
    target.paste(image)


def _paste_probe() -> bool:
    probe = Image.frombuffer("L", (3, 2), bytes(range(6)), "raw", "L", 0, 1)
    out = np.zeros((2, 3), np.uint8)
    try:
        _paste(probe.point(lambda v: v + 1), out)
    except Exception:  # pragma: no cover - a Pillow that refuses: the slow path
        return False
    return out.tolist() == [[1, 2, 3], [4, 5, 6]]


#: Bytes per chunk of :func:`lut_apply`: big enough to amortise each Pillow call, small enough
#: that the temporaries stay in cache (whole-image temporaries of a large image cost page faults).
CHUNK_BYTES = 1 << 20

_IDENTITY = list(range(256))


def lut_apply(image: np.ndarray, lut: np.ndarray, kernels_name: str | None = None) -> np.ndarray:
    """Apply a 256-entry uint8 lookup table to the colour channels (not to alpha), with
    ``kernels_name``'s code, by default OpenCV's when it is loaded: the bytes are the same.

    Pillow's ``point`` does the lookups in C, in row chunks: the bytes are those of ``lut[x]``
    (a table is a table), at a third of numpy's fancy-indexing cost. Each chunk's result is
    copied straight into ``out`` (:func:`copy_into`)."""
    image = np.ascontiguousarray(image)
    height, width, channels = image.shape
    if kernels_name is None:
        kernels_name = "opencv" if kernels.loaded() else "pillow"
    if image.size and kernels_name == "opencv":
        return _lut_opencv(image, lut)
    out = np.empty_like(image)
    if out.size == 0:
        return out
    if channels == 4:
        # Alpha goes through the identity table, so the image never has to be split and joined.
        mode, table, size_x = "RGBA", lut.tolist() * 3 + _IDENTITY, width
    else:
        # An L or RGB array is read as one wide L image: every value is one byte.
        mode, table, size_x = "L", lut.tolist(), width * channels
    step = max(1, CHUNK_BYTES // (width * channels))
    for top in range(0, height, step):
        part = image[top : top + step]
        pil = Image.frombuffer(mode, (size_x, part.shape[0]), part, "raw", mode, 0, 1)
        copy_into(pil.point(table), out[top : top + step])
    return out


def _lut_opencv(image: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """``cv2.LUT``, vectorised: the same bytes as Pillow's ``point`` (a table is a table)."""
    cv2 = kernels.opencv()
    height, width, channels = image.shape
    table = np.asarray(lut, dtype=np.uint8)
    if channels == 4:
        identity = np.arange(256, dtype=np.uint8)
        four = np.stack([table, table, table, identity], axis=-1).reshape(256, 1, 4)
        return cv2.LUT(image, four).reshape(image.shape)
    return cv2.LUT(image.reshape(height, width * channels), table).reshape(image.shape)


def resize_image(
    image: np.ndarray,
    size: list[int],
    interpolation: str,
    box: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """Pillow's resize (optionally of the ``box`` window) to ``size`` = [height, width]."""
    height, width = size
    if image.dtype == np.uint16:
        method = RESAMPLE[interpolation]
        return wide_planes(image, lambda plane, _: plane.resize((width, height), method, box=box))
    if image.shape[2] == 4 and interpolation != "nearest":
        # As in warp: Pillow would premultiply RGBA by alpha and round the translucent colours.
        colour = resize_image(np.ascontiguousarray(image[:, :, :3]), size, interpolation, box)
        alpha = resize_image(np.ascontiguousarray(image[:, :, 3:]), size, interpolation, box)
        return np.concatenate([colour, alpha], axis=2)
    result = to_pil(image).resize((width, height), RESAMPLE[interpolation], box=box)
    return from_pil(result)
