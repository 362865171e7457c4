"""Build the bundled sample dataset ``samples/photos`` from scikit-image photos.

The dataset is a tiny ImageFolder tree (``<split>/<class>/<name>.<ext>``) of
random crops taken from freely licensed photographs that ship *inside* the
scikit-image wheel (no network access, no pooch download).  See
``samples/LICENSES.md`` for the origin and licence of every file.

Regenerate with::

    pip install scikit-image   # build-time only, not a runtime dependency
    python samples/make_samples.py

The script is deterministic: a fixed seed drives every random choice and no
timestamps are written, so running it twice yields byte-identical files (with
the same Pillow / libjpeg build).
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

SEED = 20240613
JPEG_QUALITY = 88
MIN_SIDE = 160
MAX_SIDE = 320
IMAGES_PER_CLASS = 12
TRAIN_PER_CLASS = 9  # the remaining 3 per class go to ``val``
SOFTWARE = "augtool samples/make_samples.py"

# EXIF / TIFF tag ids.
TAG_ORIENTATION = 0x0112
TAG_SOFTWARE = 0x0131
TAG_ARTIST = 0x013B
TAG_GPS_IFD = 0x8825


@dataclass(frozen=True)
class Source:
    """A photo bundled with scikit-image and the point every crop must keep."""

    label: str  # class folder name
    loader: str  # name of the ``skimage.data`` function
    filename: str  # file inside the installed ``skimage/data`` directory
    focus: tuple[int, int]  # (x, y) of the subject in the source photo
    margin: int  # keep at least this many pixels around ``focus``


SOURCES: tuple[Source, ...] = (
    Source("cat", "chelsea", "chelsea.png", focus=(230, 140), margin=60),
    Source("coffee", "coffee", "coffee.png", focus=(290, 160), margin=70),
    Source("rocket", "rocket", "rocket.jpg", focus=(322, 250), margin=40),
)

# Per-file extras: (label, index) -> settings.  Orientation values follow the
# EXIF spec; the stored pixels are rotated so that ``ImageOps.exif_transpose``
# restores the upright crop.
PNG_FILES: frozenset[tuple[str, int]] = frozenset({("coffee", 3)})
EXIF_FILES: dict[tuple[str, int], dict[str, object]] = {
    ("rocket", 2): {"orientation": 6, "gps": True},
    ("cat", 5): {"orientation": 3, "gps": False},
    ("rocket", 11): {"orientation": 8, "gps": False},
}

# Transpose that turns the upright image into the stored pixels, i.e. the
# inverse of what ``exif_transpose`` applies for the given orientation.
STORE_TRANSPOSE: dict[int, Image.Transpose] = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,  # exif_transpose applies ROTATE_270
    8: Image.Transpose.ROTATE_270,  # exif_transpose applies ROTATE_90
}


def load_bundled(source: Source) -> np.ndarray:
    """Load a photo that is shipped inside the scikit-image wheel."""
    data_dir = Path(skimage.data.__file__).resolve().parent
    if not (data_dir / source.filename).is_file():
        raise RuntimeError(
            f"{source.filename} is not bundled in {data_dir}; refusing to "
            "download it (only wheel-bundled photos may be used)"
        )
    image = np.asarray(getattr(skimage.data, source.loader)())
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise RuntimeError(f"{source.loader}: expected RGB uint8, got {image.shape}")
    return image


def draw_output_size(rng: np.random.Generator) -> tuple[int, int]:
    """Pick an output (width, height) with both sides in [MIN_SIDE, MAX_SIDE]."""
    while True:
        aspect = float(np.exp(rng.uniform(np.log(0.7), np.log(1.5))))  # w / h
        height = int(rng.integers(MIN_SIDE, MAX_SIDE + 1))
        width = round(height * aspect)
        if MIN_SIDE <= width <= MAX_SIDE:
            return width, height


def draw_crop(
    rng: np.random.Generator, source: Source, shape: tuple[int, ...], aspect: float
) -> tuple[int, int, int, int]:
    """Pick a crop box (left, top, right, bottom) of the given aspect ratio.

    The box covers 45-95 % of the photo height (clamped to the photo width)
    and always contains ``source.focus`` with ``source.margin`` to spare.
    """
    img_h, img_w = shape[:2]
    fx, fy = source.focus
    crop_h = rng.uniform(0.45, 0.95) * img_h
    crop_w = crop_h * aspect
    if crop_w > img_w:
        crop_w = float(img_w)
        crop_h = crop_w / aspect
    cw, ch = round(crop_w), round(crop_h)
    x_lo, x_hi = max(0, fx + source.margin - cw), min(img_w - cw, fx - source.margin)
    y_lo, y_hi = max(0, fy + source.margin - ch), min(img_h - ch, fy - source.margin)
    # If the margin cannot be honoured, fall back to any valid position.
    if x_lo > x_hi:
        x_lo, x_hi = 0, img_w - cw
    if y_lo > y_hi:
        y_lo, y_hi = 0, img_h - ch
    left = int(rng.integers(x_lo, x_hi + 1))
    top = int(rng.integers(y_lo, y_hi + 1))
    return left, top, left + cw, top + ch


def make_exif(orientation: int, gps: bool) -> Image.Exif:
    """Build an EXIF block with an Orientation tag and harmless extras."""
    exif = Image.Exif()
    exif[TAG_ORIENTATION] = orientation
    exif[TAG_SOFTWARE] = SOFTWARE
    exif[TAG_ARTIST] = "augtool sample data (fake metadata for tests)"
    if gps:
        gps_ifd = exif.get_ifd(TAG_GPS_IFD)
        gps_ifd[0] = b"\x02\x03\x00\x00"  # GPSVersionID 2.3.0.0
        gps_ifd[1] = "N"  # GPSLatitudeRef
        gps_ifd[2] = (0.0, 0.0, 0.0)  # GPSLatitude (Null Island)
        gps_ifd[3] = "E"  # GPSLongitudeRef
        gps_ifd[4] = (0.0, 0.0, 0.0)  # GPSLongitude
    return exif


def build(out_dir: Path) -> list[tuple[Path, str]]:
    """Write the dataset into ``out_dir``; return (path, provenance) pairs."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    rng = np.random.default_rng(SEED)
    written: list[tuple[Path, str]] = []
    for source in SOURCES:
        photo = Image.fromarray(load_bundled(source))
        for index in range(1, IMAGES_PER_CLASS + 1):
            split = "train" if index <= TRAIN_PER_CLASS else "val"
            width, height = draw_output_size(rng)
            box = draw_crop(rng, source, (photo.height, photo.width), width / height)
            flip = bool(rng.random() < 0.5)

            image = photo.crop(box).resize((width, height), Image.Resampling.LANCZOS)
            if flip:
                image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)

            key = (source.label, index)
            ext = "png" if key in PNG_FILES else "jpg"
            path = out_dir / split / source.label / f"{source.label}_{index:03d}.{ext}"
            path.parent.mkdir(parents=True, exist_ok=True)

            note = (
                f"skimage.data.{source.loader}() crop box={box} "
                f"-> {width}x{height}{' hflip' if flip else ''}"
            )
            if ext == "png":
                image.save(path, format="PNG")
            elif key in EXIF_FILES:
                extra = EXIF_FILES[key]
                orientation = int(extra["orientation"])  # type: ignore[call-overload]
                stored = image.transpose(STORE_TRANSPOSE[orientation])
                exif = make_exif(orientation, gps=bool(extra["gps"]))
                stored.save(path, format="JPEG", quality=JPEG_QUALITY, exif=exif)
                note += f"; EXIF Orientation={orientation}"
                note += " + GPS IFD" if extra["gps"] else ""
            else:
                image.save(path, format="JPEG", quality=JPEG_QUALITY)
            written.append((path, note))
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "photos",
        help="output directory (deleted and rebuilt; default: samples/photos)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print provenance per file")
    args = parser.parse_args(argv)
    written = build(args.out)
    for path, note in written:
        if args.verbose:
            print(f"{path.relative_to(args.out)}: {note}")
    total = sum(path.stat().st_size for path, _ in written)
    print(f"wrote {len(written)} images ({total / 1024:.0f} KiB) to {args.out}")


if __name__ == "__main__":
    main()
