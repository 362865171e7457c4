"""16-bit sources and outputs, for ``output.bit_depth: source``.

A source is *wide* when its samples are 16 bits: a grey PNG or TIFF that Pillow opens as
``I;16`` (``I;16B``, ``I;16L``, ``I;16N``), or an RGB/RGBA PNG or TIFF with 16 bits per sample.
Pillow reads the latter only as 8-bit RGB, so their pixels are read by OpenCV (which the recipe
then requires, see :mod:`augtool.recipe.model`); Pillow still opens the file first, for its
format, pixel limit, EXIF orientation and ICC profile. A wide source's kernel array is
``uint16`` (height, width, 1 | 3 | 4), upright, in RGB order.

A ``uint16`` array is written as a 16-bit PNG: grey by Pillow (mode ``I;16``), colour by
OpenCV's PNG encoder at the recorded ``compress_level``, with the ICC profile (and the EXIF
block, when metadata is kept) put back as ``iCCP``/``eXIf`` chunks, since OpenCV writes none.
A 16-bit TIFF is written the same way (grey by Pillow, colour by OpenCV, which writes no ICC
profile or EXIF into it).
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np
from PIL import Image

from augtool.media.base import DecodeError, EncodeError

#: The Pillow modes of a 16-bit grey image.
GREY_16 = ("I;16", "I;16B", "I;16L", "I;16N")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BITS_PER_SAMPLE = 258  # the TIFF tag


def is_wide(img: Image.Image, data: bytes) -> bool:
    """Whether ``img`` (opened from ``data``, not yet normalised) has 16-bit samples that this
    module keeps: a 16-bit grey image, or a 16-bit RGB/RGBA PNG or TIFF."""
    if img.mode in GREY_16:
        return True
    if img.mode not in ("RGB", "RGBA"):
        return False
    if img.format == "PNG":
        # IHDR is the first chunk: width, height, then the bit depth byte.
        return data[:8] == _PNG_SIGNATURE and len(data) > 24 and data[24] == 16
    if img.format == "TIFF":
        bits = getattr(img, "tag_v2", {}).get(_BITS_PER_SAMPLE)
        values = bits if isinstance(bits, tuple) else (bits,)
        return bool(values) and all(v == 16 for v in values)
    return False


def wide_pixels(img: Image.Image, data: bytes, orientation: int) -> np.ndarray:
    """The upright ``uint16`` (height, width, channels) array of a wide source (see
    :func:`is_wide`); raise :class:`DecodeError` when its pixels cannot be read at 16 bits."""
    if img.mode in GREY_16:
        from augtool.media.image.codecs import upright

        grey = np.asarray(upright(img, orientation)).astype(np.uint16)
        return np.ascontiguousarray(grey[:, :, None])
    from augtool.media.image.transforms import kernels

    try:
        cv2 = kernels.opencv()
    except kernels.OpenCVMissing as exc:
        raise DecodeError(f"a 16-bit colour {img.format} needs OpenCV: {exc}") from None
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    channels = len(img.getbands())
    if (
        array is None
        or array.dtype != np.uint16
        or array.ndim != 3
        or array.shape[2] != channels
        or array.shape[:2] != (img.height, img.width)
    ):
        raise DecodeError(f"cannot read the 16-bit samples of this {img.format}")
    order = [2, 1, 0, 3][:channels]  # OpenCV's BGR(A) to RGB(A)
    return np.ascontiguousarray(orient(array[:, :, order], orientation))


def orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """``array`` (height, width, channels) as displayed under an EXIF ``orientation``: the
    same pixel moves as ``codecs.upright`` (Pillow's transposes) makes."""
    if orientation == 2:
        return array[:, ::-1]
    if orientation == 3:
        return array[::-1, ::-1]
    if orientation == 4:
        return array[::-1]
    if orientation == 5:
        return array.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(array, -1)
    if orientation == 7:
        return array[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:
        return np.rot90(array, 1)
    return array


def encode_wide(
    image: np.ndarray, settings: dict[str, Any], icc_profile: bytes | None, exif: bytes | None
) -> bytes:
    """A ``uint16`` array as a 16-bit PNG (see the module's docstring) or TIFF (``format:
    tiff``, or an original normalized in its own format); raise :class:`EncodeError` for any
    other format, which cannot hold 16-bit samples."""
    fmt = settings["format"]
    if fmt not in ("PNG", "TIFF"):
        raise EncodeError(f"cannot encode 16-bit samples as {fmt}: only PNG and TIFF hold them")
    level = int(settings.get("compress_level", 6))
    channels = image.shape[2]
    if channels == 1:
        options: dict[str, Any] = {"compress_level": level} if fmt == "PNG" else {}
        if icc_profile:
            options["icc_profile"] = icc_profile
        if exif is not None:
            options["exif"] = exif
        buffer = io.BytesIO()
        grey = Image.fromarray(np.ascontiguousarray(image[:, :, 0], dtype=np.uint16))  # I;16
        try:
            grey.save(buffer, format=fmt, **options)
        except (OSError, ValueError, struct.error) as exc:
            raise EncodeError(f"cannot encode as {fmt}: {exc}") from None
        return buffer.getvalue()
    from augtool.media.image.transforms import kernels

    cv2 = kernels.opencv()
    order = [2, 1, 0, 3][:channels]
    pixels = np.ascontiguousarray(image[:, :, order])
    if fmt == "TIFF":
        # OpenCV's TIFF writer holds no ICC profile or EXIF: none is written.
        ok, encoded = cv2.imencode(".tiff", pixels)
        if not ok:
            raise EncodeError("cannot encode as TIFF: OpenCV's encoder refused the image")
        return bytes(encoded.tobytes())
    ok, encoded = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, level])
    if not ok:
        raise EncodeError("cannot encode as PNG: OpenCV's encoder refused the image")
    chunks = []
    if icc_profile:
        chunks.append(_chunk(b"iCCP", b"ICC Profile\0\0" + zlib.compress(icc_profile)))
    if exif is not None:
        chunks.append(_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\0\0") else exif))
    return _after_header(encoded.tobytes(), b"".join(chunks))


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _after_header(png: bytes, chunks: bytes) -> bytes:
    """``png`` with ``chunks`` inserted right after its IHDR chunk (8 + 25 bytes)."""
    if not chunks:
        return png
    end = len(_PNG_SIGNATURE) + 8 + 13 + 4
    return png[:end] + chunks + png[end:]
