"""Decoding sources into kernel arrays and encoding results into file bytes.

Decoding applies the EXIF orientation first, so every transform (and, later, every box) works on
the image as it is displayed. Modes are normalised to L, RGB or RGBA:

- 1, L, I;16, I and F become L, scaled to 8 bits by :func:`value_range` (never clipped: a
  float image in [0, 1] or 12-bit data in a 16-bit PNG keeps its grey levels);
- P becomes RGBA when it has transparency, else RGB; LA and PA become RGBA;
- CMYK, YCbCr, LAB and HSV become RGB;
- multi-frame files (GIF, TIFF) use their first frame.

With ``bit_depth="source"`` (the recipe's ``output.bit_depth: source``), a 16-bit grey image and
a 16-bit RGB/RGBA PNG or TIFF keep their samples: the kernel array is ``uint16``, neither scaled
nor clipped (:mod:`augtool.media.image.wide`), and is written back as a 16-bit PNG (or TIFF).

Only a whole-number Orientation from 1 to 8 is applied: a malformed one (stored as a fraction or
as text, or out of range) is taken as 1, the image as stored. Pillow's warnings about damaged
metadata (a corrupt EXIF block is read as far as it goes) are not shown.

Encoding: JPEG cannot hold alpha, so RGBA is composited over white before a JPEG is written;
PNG and WebP keep alpha. EXIF, GPS and XMP are dropped by default; the ICC profile is kept, since
without it colours shift. Pixels a format cannot hold (a side over JPEG's or WebP's limit) raise
:class:`EncodeError`, checked before the encoder runs, whose message is the skip reason.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from PIL import Image

from augtool.media.base import DecodeError as MediumDecodeError
from augtool.media.base import EncodeError as MediumEncodeError
from augtool.media.image import wide
from augtool.provenance import split_tag, tag_png, xmp_packet

ORIENTATION = 0x0112
#: What undoes each EXIF orientation (the same as ``ImageOps.exif_transpose``).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
#: The longest side each output format can hold (libjpeg's JPEG_MAX_DIMENSION, libwebp's
#: WEBP_MAX_DIMENSION); PNG and BMP hold any size this tool decodes.
MAX_SIDE = {"JPEG": 65500, "WEBP": 16383}
_NAMES = {"WEBP": "WebP"}
#: An object's default repr (``<_io.BytesIO object at 0x7f...>``): a memory address, which a
#: skip reason must never carry (the manifest is byte-identical across runs).
_OBJECT_REPR = re.compile(r"\s*<[^<>]*\bat 0x[0-9a-fA-F]+>")


class DecodeError(MediumDecodeError):
    """The bytes are not an image this run accepts (the message is the skip reason)."""


class EncodeError(MediumEncodeError):
    """The pixels cannot be written in the output format (the message is the skip reason)."""


def error_text(exc: BaseException) -> str:
    """A library exception's message as one line of a skip reason: no object repr (its memory
    address would differ on every run), no line breaks."""
    return " ".join(_OBJECT_REPR.sub("", str(exc)).split()) or type(exc).__name__


@contextmanager
def quiet_metadata_warnings() -> Iterator[None]:
    """Pillow warns (a raw ``UserWarning: Corrupt EXIF data...``, once per damaged entry) about
    metadata it reads as far as it goes; the user has nothing to act on, so nothing is shown."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def orientation_of(exif: Image.Exif) -> int:
    """The EXIF orientation to apply: a whole number from 1 to 8, else 1 (none)."""
    value = exif.get(ORIENTATION, 1)
    if isinstance(value, int) and not isinstance(value, bool) and value in _UPRIGHT:
        return value
    return 1


def upright(img: Image.Image, orientation: int) -> Image.Image:
    """``img`` as displayed under ``orientation`` (from :func:`orientation_of`)."""
    method = _UPRIGHT.get(orientation)
    return img if method is None else img.transpose(method)


def check_encodable(fmt: str, height: int, width: int) -> None:
    """Raise :class:`EncodeError` when a ``width`` x ``height`` image cannot be written as
    ``fmt``: checked before encoding, since libjpeg prints to stderr before it fails."""
    limit = MAX_SIDE.get(fmt)
    if limit is not None and max(height, width) > limit:
        name = _NAMES.get(fmt, fmt)
        raise EncodeError(
            f"cannot encode as {name}: {width}x{height} exceeds {name}'s limit of "
            f"{limit} pixels a side"
        )


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
    lossless: bool = False  # a WebP stored losslessly (VP8L)
    #: the [low, high] taken as black and white when the data, not the format, decided it
    range: tuple[float, float] | None = None
    #: the uint16 array of a 16-bit source kept at 16 bits (``bit_depth="source"``)
    wide: np.ndarray | None = None
    #: the bit depth asked for: 8, or ``source`` (recorded then, with what the source gave)
    depth: int | str = 8
    #: what common loaders mishandle in the file as it is (:func:`loader_trouble`), or None
    trouble: str | None = None

    @property
    def bits(self) -> int:
        """The bits per sample of the kernel array (and of every output made from it)."""
        return 16 if self.wide is not None else 8

    @cached_property
    def image(self) -> np.ndarray:
        if self.wide is not None:
            return self.wide
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
        array = self.wide if self.wide is not None else self.scaled
        assert array is not None
        return (int(array.shape[0]), int(array.shape[1]))


def decode(
    data: bytes, formats: list[str], max_pixels: int | None = None, bit_depth: int | str = 8
) -> Decoded:
    """Decode ``data``; raise :class:`DecodeError` with a one-line reason on any failure.

    The pixel limit is this call's: ``max_pixels`` (the recipe's ``input.max_pixels``), else
    Pillow's default. Pillow's own process-wide limit is read, never written. With
    ``bit_depth="source"`` a 16-bit source keeps its samples (see the module's docstring)."""
    kept: np.ndarray | None = None
    try:
        with quiet_metadata_warnings(), open_limited(data, formats, max_pixels) as img:
            img.load()
            frames = int(getattr(img, "n_frames", 1))
            fmt = str(img.format)
            mode = img.mode
            exif = img.getexif()
            orientation = orientation_of(exif)
            if ORIENTATION in exif and exif[ORIENTATION] != orientation:
                # Malformed: dropped, so the EXIF can be written back (as orientation 1).
                del exif[ORIENTATION]
            icc = img.info.get("icc_profile")
            trouble = loader_trouble(img)
            if bit_depth == "source" and wide.is_wide(img, data):
                kept = wide.wide_pixels(img, data, orientation)
                picture, scaled, found = None, None, None
            else:
                picture, scaled, found = _normalise_mode(upright(img, orientation))
            if picture is not None:
                picture = _bare(picture)
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"decompression bomb refused: {exc}") from None
    except Image.UnidentifiedImageError:
        raise DecodeError(f"not an image in an accepted format ({', '.join(formats)})") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise DecodeError(f"cannot decode: {error_text(exc)}") from None
    lossless = fmt == "WEBP" and webp_is_lossless(data)
    depth = "source" if bit_depth == "source" else 8
    return Decoded(
        picture,
        scaled,
        fmt,
        mode,
        orientation,
        frames,
        icc,
        exif,
        lossless,
        found,
        kept,
        depth,
        trouble,
    )


#: Modes that common loaders mishandle when a file is read as it is (torchvision's
#: ``pil_loader`` is ``Image.open(p).convert("RGB")``): high bit depths clip to white or black,
#: CMYK comes out beside RGB, a palette's transparency is dropped (Pillow warns).
_TROUBLE = {
    "I;16": "16-bit",
    "I;16B": "16-bit",
    "I;16L": "16-bit",
    "I;16N": "16-bit",
    "I": "32-bit integer",
    "F": "32-bit float",
    "CMYK": "CMYK",
}


def loader_trouble(img: Image.Image) -> str | None:
    """What common loaders mishandle in ``img`` as stored (see :data:`_TROUBLE`; a palette
    with transparency too), or None."""
    found = _TROUBLE.get(img.mode)
    if found is None and img.mode in ("P", "PA") and "transparency" in img.info:
        return "palette with transparency"
    return found


def webp_is_lossless(data: bytes) -> bool:
    """Whether a WebP file's (first) image is stored losslessly: its bitstream chunk is
    ``VP8L`` rather than ``VP8 ``. The RIFF chunks are walked, since an extended file (``VP8X``)
    puts ICC, EXIF or alpha chunks first."""
    offset = 12
    while offset + 8 <= len(data):
        tag = data[offset : offset + 4]
        if tag in (b"VP8L", b"VP8 "):
            return tag == b"VP8L"
        if tag == b"ANMF":  # an animation frame holds its own chunks after a 16-byte header
            offset += 8 + 16
            continue
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        offset += 8 + size + (size & 1)
    return False


def open_limited(data: bytes, formats: list[str], max_pixels: int | None) -> Image.Image:
    """The opened (not yet loaded) image, refused when it has more pixels than the limit.

    Pillow warns above its limit and refuses above twice it: its warning is left aside for
    this call's own check; a refusal that this call's limit overrules is answered by opening
    the file with the format's own reader, as ``Image.open`` does without its check."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=formats)
        except Image.DecompressionBombError:
            if max_pixels is None:
                raise
            img = _open_unchecked(data, formats)
    width, height = img.size
    pixels = max(1, width) * max(1, height)
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    if limit is not None and pixels > limit:
        img.close()
        if max_pixels is None:
            raise Image.DecompressionBombError(
                f"Image size ({pixels} pixels) exceeds limit of {limit} pixels, could be "
                "decompression bomb DOS attack."
            )
        raise DecodeError(
            f"decompression bomb refused: {pixels} pixels exceeds the limit of "
            f"{max_pixels} (input.max_pixels)"
        )
    return img


def _open_unchecked(data: bytes, formats: list[str]) -> Image.Image:
    """``Image.open`` of ``data`` without its pixel-count check: the first of ``formats`` whose
    reader accepts the bytes. Readers that check while loading (GIF frames, TIFF tiles) still
    refuse above twice Pillow's limit."""
    Image.init()
    prefix = data[:16]
    for name in formats:
        factory, accept = Image.OPEN.get(name.upper(), (None, None))
        if factory is None or (accept is not None and accept(prefix) is not True):
            continue
        try:
            return factory(io.BytesIO(data), "")  # type: ignore[no-any-return]
        except (SyntaxError, IndexError, TypeError, struct.error):
            continue
    raise Image.UnidentifiedImageError("cannot identify image file")


def _bare(picture: Image.Image) -> Image.Image:
    """A plain image over the same pixels, with no file attributes and an empty ``info``: the
    encoders fall back on ``info`` for some metadata (a JPEG comment, a PNG's ICC profile), and
    what an output carries must depend on the pixels and the recorded settings only."""
    bare = picture._new(picture.im)
    bare.info = {}
    return bare


Normalised = tuple[Image.Image | None, np.ndarray | None, tuple[float, float] | None]


def _normalise_mode(img: Image.Image) -> Normalised:
    """The image in L, RGB or RGBA, or (for 16-bit and float modes) its 8-bit array and the
    range inferred from its data (None when the format's own range was used)."""
    mode = img.mode
    if mode in ("L", "RGB", "RGBA"):
        return img, None, None
    if mode == "1":
        return img.convert("L"), None, None
    if mode.startswith("I") or mode == "F":
        array = np.asarray(img)
        low, high, inferred = value_range(array, mode)
        return None, _scale_to_8_bits(array, low, high), (low, high) if inferred else None
    if mode == "P":
        return img.convert("RGBA" if "transparency" in img.info else "RGB"), None, None
    if mode in ("LA", "PA", "La", "RGBa"):
        return img.convert("RGBA"), None, None
    return img.convert("RGB"), None, None


def value_range(array: np.ndarray, mode: str) -> tuple[float, float, bool]:
    """The values taken as black and white in a high-bit-depth grey image, and whether the
    data (not the format) decided them.

    - Integers (``I;16``, ``I``): 0 to 2**b - 1, where b is the fewest bits (at least 8) that
      hold the largest value: 12-bit data in a 16-bit PNG (at most 4095) spans 0-4095, a full
      16-bit image 0-65535 (the format's own range; not inferred), negatives are 0.
    - Floats (``F``), whose format says nothing: [0, 1] when every value lies in it, else
      [0, 255] when every value lies in that, else the data's own minimum and maximum.
    """
    if mode == "F":
        finite = array[np.isfinite(array)]
        if finite.size == 0:
            return 0.0, 255.0, True
        low, high = float(finite.min()), float(finite.max())
        if low >= 0.0 and high <= 1.0:
            return 0.0, 1.0, True
        if low >= 0.0 and high <= 255.0:
            return 0.0, 255.0, True
        return low, high if high > low else low + 1.0, True
    largest = max(int(array.max(initial=0)), 0)
    bits = max(8, largest.bit_length())
    return 0.0, float(2**bits - 1), bits != 16


def _scale_to_8_bits(array: np.ndarray, low: float, high: float) -> np.ndarray:
    values = np.nan_to_num(array.astype(np.float64), nan=low, posinf=high, neginf=low)
    if (low, high) == (0.0, 255.0):
        scaled = np.clip(values, 0.0, 255.0)
    elif (low, high) == (0.0, 65535.0):
        scaled = np.clip(values, 0, 65535) / 257.0  # 65535 / 255 is exactly 257
    else:
        scaled = (np.clip(values, low, high) - low) * (255.0 / (high - low))
    out = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return out[:, :, None]


def encoder_settings(fmt: str, quality: int, lossless: bool = False) -> dict[str, Any]:
    """The exact encoder settings, recorded in the manifest so a replay re-encodes the same.
    ``lossless`` (WebP only: ``format: same`` on a lossless WebP source) keeps it lossless."""
    if fmt == "JPEG":
        return {"format": "JPEG", "quality": quality, "subsampling": "4:2:0", "optimize": False}
    if fmt == "WEBP":
        return {"format": "WEBP", "quality": quality, "method": 4, "lossless": lossless}
    if fmt == "PNG":
        return {"format": "PNG", "compress_level": 6}
    return {"format": fmt}


def kept_exif(exif: Image.Exif) -> bytes:
    """The EXIF block an output carries when metadata is kept: ``exif`` with its orientation
    reset to 1, since the pixels are already upright. Raise :class:`EncodeError` when Pillow
    cannot write it back (a damaged tag it read but cannot serialise)."""
    try:
        with quiet_metadata_warnings():
            # A copy loaded from bytes: update() would copy the GPS/Exif sub-IFD offsets
            # without the data they point into, and tobytes() then fails.
            kept = Image.Exif()
            kept.load(exif.tobytes())
            kept[ORIENTATION] = 1
            return kept.tobytes()
    except (struct.error, TypeError, ValueError, KeyError, OSError) as exc:
        raise EncodeError(
            f"cannot write its EXIF back: {error_text(exc)} (strip_metadata: true would drop it)"
        ) from None


def encode(
    image: np.ndarray | Image.Image,
    settings: dict[str, Any],
    icc_profile: bytes | None = None,
    exif: Image.Exif | bytes | None = None,
) -> bytes:
    """Encode ``image`` (an array, or a Pillow image in L, RGB or RGBA: the same pixels give the
    same bytes) with ``settings`` (from :func:`encoder_settings`). ``exif`` is written only when
    given (metadata kept): an ``Image.Exif`` goes through :func:`kept_exif`, bytes are its result.
    A ``provenance`` tag in ``settings`` is written as XMP (:mod:`augtool.provenance`).
    Raise :class:`EncodeError` when the format cannot hold the image."""
    settings, tag = split_tag(settings)
    fmt = settings["format"]
    if tag is not None and fmt not in ("JPEG", "PNG", "WEBP"):
        raise EncodeError(
            f"provenance_tag: a {_NAMES.get(fmt, fmt)} output cannot carry the tag "
            "(PNG, JPEG and WebP can)"
        )
    if isinstance(image, np.ndarray) and image.dtype == np.uint16:
        check_encodable(fmt, image.shape[0], image.shape[1])
        kept = None if exif is None else exif if isinstance(exif, bytes) else kept_exif(exif)
        data = wide.encode_wide(image, settings, icc_profile, kept)
        return data if tag is None else tag_png(data, tag)
    if isinstance(image, Image.Image):
        check_encodable(fmt, image.height, image.width)
        img = image
        channels = len(img.getbands())
    else:
        check_encodable(fmt, image.shape[0], image.shape[1])
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
        options["exif"] = exif if isinstance(exif, bytes) else kept_exif(exif)
    if tag is not None and fmt in ("JPEG", "WEBP"):
        options["xmp"] = xmp_packet(tag)
    buffer = io.BytesIO()
    try:
        img.save(buffer, format=fmt, **options)
    except (OSError, ValueError, struct.error) as exc:
        # A limit found by the encoder itself; the buffer is in memory, so not a disk error.
        name = _NAMES.get(fmt, fmt)
        raise EncodeError(f"cannot encode as {name}: {error_text(exc)}") from None
    if tag is not None and fmt == "PNG":
        return tag_png(buffer.getvalue(), tag)
    return buffer.getvalue()
