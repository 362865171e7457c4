"""Decoding sources into kernel arrays and encoding results into file bytes.

Decoding applies the EXIF orientation first, so every transform (and, later, every box) works on
the image as it is displayed. Modes are normalised to L, RGB or RGBA:

- 1, L, I;16, I and F become L (16- and 32-bit grey are scaled to 8 bits, not clipped);
- P becomes RGBA when it has transparency, else RGB; LA and PA become RGBA;
- CMYK, YCbCr, LAB and HSV become RGB;
- multi-frame files (GIF, TIFF) use their first frame.

Encoding: JPEG cannot hold alpha, so RGBA is composited over white before a JPEG is written;
PNG and WebP keep alpha. EXIF, GPS and XMP are dropped by default; the ICC profile is kept, since
without it colours shift.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from PIL import Image, ImageOps

ORIENTATION = 0x0112


class DecodeError(Exception):
    """The bytes are not an image this run accepts (the message is the skip reason)."""


@dataclass(frozen=True)
class Decoded:
    """A decoded source. ``picture`` is the upright Pillow image in L, RGB or RGBA (``None`` for
    16-bit and float sources, which are scaled to 8 bits in numpy); ``image``, the kernels'
    array, is made from it on first use: a variant that changes no pixel (an empty pipeline,
    or no step fired) is encoded straight from ``picture``, with no copy into numpy and back."""

    picture: Image.Image | None
    scaled: np.ndarray | None  # the 8-bit array of a 16-bit or float source
    format: str
    mode: str  # the file's own mode, before normalisation
    orientation: int  # the EXIF orientation that was applied (1 = none)
    frames: int
    icc_profile: bytes | None
    exif: Image.Exif | None

    @cached_property
    def image(self) -> np.ndarray:
        if self.scaled is not None:
            return self.scaled
        assert self.picture is not None
        array = np.asarray(self.picture)
        if array.ndim == 2:
            array = array[:, :, None]
        return np.ascontiguousarray(array)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width), without making the array."""
        if self.picture is not None:
            return (self.picture.height, self.picture.width)
        assert self.scaled is not None
        return (int(self.scaled.shape[0]), int(self.scaled.shape[1]))


def decode(data: bytes, formats: list[str], max_pixels: int | None = None) -> Decoded:
    """Decode ``data``; raise :class:`DecodeError` with a one-line reason on any failure."""
    try:
        with warnings.catch_warnings():
            # A decompression bomb is refused, not merely warned about.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if max_pixels is not None and max_pixels > (Image.MAX_IMAGE_PIXELS or 0):
                # Only ever raised, never lowered: the recipe's own limit is checked below, and
                # a global that only grows is safe under the threading backend.
                Image.MAX_IMAGE_PIXELS = max_pixels
            with Image.open(io.BytesIO(data), formats=formats) as img:
                pixels = img.size[0] * img.size[1]
                if max_pixels is not None and pixels > max_pixels:
                    raise DecodeError(
                        f"decompression bomb refused: {pixels} pixels exceeds the limit of "
                        f"{max_pixels} (input.max_pixels)"
                    )
                img.load()
                frames = int(getattr(img, "n_frames", 1))
                fmt = str(img.format)
                mode = img.mode
                exif = img.getexif()
                orientation = int(exif.get(ORIENTATION, 1) or 1)
                icc = img.info.get("icc_profile")
                upright = ImageOps.exif_transpose(img) if orientation != 1 else img
                picture, scaled = _normalise_mode(upright)
                if picture is not None:
                    picture = _bare(picture)
    except Image.DecompressionBombWarning as exc:
        raise DecodeError(f"decompression bomb refused: {exc}") from None
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"decompression bomb refused: {exc}") from None
    except Image.UnidentifiedImageError:
        raise DecodeError(f"not an image in an accepted format ({', '.join(formats)})") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise DecodeError(f"cannot decode: {exc}") from None
    return Decoded(picture, scaled, fmt, mode, orientation, frames, icc, exif)


def _bare(picture: Image.Image) -> Image.Image:
    """A plain image over the same pixels, with no file attributes and an empty ``info``: the
    encoders fall back on ``info`` for some metadata (a JPEG comment, a PNG's ICC profile), and
    what an output carries must depend on the pixels and the recorded settings only."""
    bare = picture._new(picture.im)
    bare.info = {}
    return bare


def _normalise_mode(img: Image.Image) -> tuple[Image.Image | None, np.ndarray | None]:
    """The image in L, RGB or RGBA, or (for 16-bit and float modes) its 8-bit array."""
    mode = img.mode
    if mode in ("L", "RGB", "RGBA"):
        return img, None
    if mode == "1":
        return img.convert("L"), None
    if mode.startswith("I") or mode == "F":
        return None, _scale_to_8_bits(np.asarray(img), mode)
    if mode == "P":
        return img.convert("RGBA" if "transparency" in img.info else "RGB"), None
    if mode in ("LA", "PA", "La", "RGBa"):
        return img.convert("RGBA"), None
    return img.convert("RGB"), None


def _scale_to_8_bits(array: np.ndarray, mode: str) -> np.ndarray:
    if mode == "F":
        scaled = np.clip(array, 0.0, 255.0)
    else:
        # 16-bit data: 65535 maps to 255 (divide by 257); 32-bit integers are clipped to 16 bits.
        scaled = np.clip(array.astype(np.float64), 0, 65535) / 257.0
    out = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return out[:, :, None]


def encoder_settings(fmt: str, quality: int) -> dict[str, Any]:
    """The exact encoder settings, recorded in the manifest so a replay re-encodes the same."""
    if fmt == "JPEG":
        return {"format": "JPEG", "quality": quality, "subsampling": "4:2:0", "optimize": False}
    if fmt == "WEBP":
        return {"format": "WEBP", "quality": quality, "method": 4, "lossless": False}
    if fmt == "PNG":
        return {"format": "PNG", "compress_level": 6}
    return {"format": fmt}


def encode(
    image: np.ndarray | Image.Image,
    settings: dict[str, Any],
    icc_profile: bytes | None = None,
    exif: Image.Exif | None = None,
) -> bytes:
    """Encode ``image`` (an array, or a Pillow image in L, RGB or RGBA: the same pixels give the
    same bytes) with ``settings`` (from :func:`encoder_settings`). ``exif`` is written only when
    given (metadata kept), with its orientation reset since the pixels are already upright."""
    fmt = settings["format"]
    if isinstance(image, Image.Image):
        img = image
        channels = len(img.getbands())
    else:
        channels = image.shape[2]
        if channels == 1:
            img = Image.fromarray(image[:, :, 0], "L")
        else:
            img = Image.fromarray(image, "RGBA" if channels == 4 else "RGB")
    if fmt == "JPEG" and channels == 4:
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img, mask=img.getchannel("A"))
        img = background
    options: dict[str, Any] = {k: v for k, v in settings.items() if k != "format"}
    if fmt == "JPEG":
        options["subsampling"] = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}[options["subsampling"]]
    if icc_profile and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        options["icc_profile"] = icc_profile
    if exif is not None and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        # A copy loaded from bytes: update() would copy the GPS/Exif sub-IFD offsets without the
        # data they point into, and tobytes() then fails.
        kept = Image.Exif()
        kept.load(exif.tobytes())
        kept[ORIENTATION] = 1
        options["exif"] = kept.tobytes()
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()
