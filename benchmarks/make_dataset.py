"""Generate a benchmark dataset of realistic photos, deterministically from a seed.

Why real photos and not noise or flat colours: JPEG decode and encode costs depend on image
content (entropy, edges), so synthetic patterns give misleading codec timings. The photos are the
colour ones scikit-image bundles in its wheel (no download, works offline): each output is a
random crop of one of them (area 50-100 %, the target's aspect ratio), scaled to the target size
with Lanczos, lightly re-exposed, plus a little sensor-like grain, then saved as JPEG q90
(4:2:0, no EXIF) in a flat folder (no split folders, so every image is augmented).

The grain matters for large targets: the bundled photos are at most 640 pixels wide, so a
1920x1080 image is an up-scale, smoother than a real camera frame; grain brings its JPEG size
(bytes per pixel, hence decode cost) back near that of a real photo.

Same ``--seed``, ``--count`` and ``--size`` give the same bytes (for a given Pillow/libjpeg).

    python benchmarks/make_dataset.py --out /tmp/bench/640x480 --count 400 --size 640x480 --seed 0
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

PHOTOS = ("chelsea", "coffee", "rocket", "astronaut")
QUALITY = 90


def parse_size(text: str) -> tuple[int, int]:
    """``"640x480"`` -> ``(640, 480)`` (width, height)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return width, height


def _load_photos() -> list[np.ndarray]:
    import skimage.data  # here: only the generator needs scikit-image

    return [np.ascontiguousarray(getattr(skimage.data, name)()[:, :, :3]) for name in PHOTOS]


def render(photos: list[np.ndarray], size: tuple[int, int], seed: int, index: int) -> Image.Image:
    """One image: its own random stream from (seed, index), so files do not depend on order or
    on how the work is split across processes."""
    rng = np.random.default_rng([seed, index])
    photo = photos[int(rng.integers(len(photos)))]
    height, width = photo.shape[:2]
    target_w, target_h = size
    aspect = target_w / target_h
    area = rng.uniform(0.5, 1.0) * width * height
    crop_w = min(width, round(np.sqrt(area * aspect)))
    crop_h = min(height, round(crop_w / aspect))
    crop_w = min(width, round(crop_h * aspect))
    left = int(rng.integers(0, width - crop_w + 1))
    top = int(rng.integers(0, height - crop_h + 1))
    image = Image.fromarray(photo[top : top + crop_h, left : left + crop_w])
    image = image.resize(size, Image.Resampling.LANCZOS)
    pixels = np.asarray(image, dtype=np.float32)
    gain = rng.uniform(0.85, 1.15)
    grain = rng.normal(0.0, 2.5, size=(target_h, target_w, 1)).astype(np.float32)
    pixels = pixels * gain + grain
    if rng.random() < 0.5:
        pixels = pixels[:, ::-1]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _write_range(out: str, size: tuple[int, int], seed: int, start: int, stop: int) -> int:
    photos = _load_photos()
    digits = 6
    for index in range(start, stop):
        path = Path(out) / f"img_{index:0{digits}d}.jpg"
        if path.exists():
            continue
        tmp = path.with_suffix(".tmp")
        render(photos, size, seed, index).save(tmp, "JPEG", quality=QUALITY, subsampling=2)
        os.replace(tmp, path)
    return stop - start


def make_dataset(out: Path, count: int, size: tuple[int, int], seed: int, jobs: int = 1) -> None:
    """Write ``count`` JPEGs into ``out`` (files already there are kept: generation resumes)."""
    out.mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(jobs, count))
    step = -(-count // jobs)
    ranges = [(i, min(count, i + step)) for i in range(0, count, step)]
    if jobs == 1:
        for start, stop in ranges:
            _write_range(str(out), size, seed, start, stop)
        return
    with ProcessPoolExecutor(jobs) as pool:
        futures = [
            pool.submit(_write_range, str(out), size, seed, start, stop) for start, stop in ranges
        ]
        for future in futures:
            future.result()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (flat)")
    parser.add_argument("--count", type=int, required=True, help="number of images")
    parser.add_argument("--size", type=parse_size, default=(640, 480), help="WIDTHxHEIGHT")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    make_dataset(args.out, args.count, args.size, args.seed, args.jobs)


if __name__ == "__main__":
    main()
