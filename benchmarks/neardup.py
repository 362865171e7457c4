"""Benchmark the near-duplicate check of ``augtool expand`` (docs/governance.md): its cost per
1,000 sources cold (no cache: every source decoded) and warm (the cache of the run before), on
one process and on a pool, and its false-positive rate at the default threshold.

The sources are distinct generated 640x480 JPEGs (quality 90), half in ``train/`` and half in
``val/``: each a random linear gradient plus a low-frequency noise texture and fine grain, under
2-6 random ellipses, rectangles and polygons. No two are copies of each other, so every pair the
check reports is a false positive. The bundled photos (``samples/photos``) are measured too.

Timed is :func:`augtool.run.leak.check_leaks` as expand calls it (stat, cache read, decode of
what is missing, all-pairs comparison); warm runs first write the cache as expand does.

    python benchmarks/neardup.py                      # 1,000 sources, --jobs 1 and 2
    python benchmarks/neardup.py --sources 2000 --jobs 4
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from augtool.layouts.discovery import discover
from augtool.manifest import PHASH_CACHE_NAME
from augtool.neardup import DEFAULT_BITS, Hashed, cross_split_pairs, file_phash
from augtool.run.leak import check_leaks
from augtool.run.phashcache import write_phashes

SIZE = (640, 480)
PHOTOS = Path(__file__).resolve().parent.parent / "samples" / "photos"


def generated(seed: int) -> Image.Image:
    """A distinct picture: gradient, noise texture, grain and random shapes."""
    rng = np.random.default_rng(seed)
    width, height = SIZE
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xs / width + np.sin(angle) * ys / height)[..., None]
    low, high = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    pixels = low + (high - low) * (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    cells = rng.normal(0, 40, (int(rng.integers(3, 12)), int(rng.integers(3, 12)), 3))
    texture = Image.fromarray(np.clip(cells + 128, 0, 255).astype(np.uint8))
    smooth = np.asarray(texture.resize(SIZE, Image.Resampling.BICUBIC), np.float32) - 128
    grain = rng.normal(0, rng.uniform(2, 12), (height, width, 1))
    picture = Image.fromarray(np.clip(pixels + smooth + grain, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    for _ in range(int(rng.integers(2, 7))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x0, x1 = sorted(int(v) for v in rng.integers(0, width, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, height, 2))
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            points = [(int(x), int(y)) for x, y in rng.integers(0, (width, height), (5, 2))]
            draw.polygon(points, fill=colour)
    return picture


def make_sources(root: Path, count: int) -> None:
    for seed in range(count):
        folder = root / ("train" if seed % 2 else "val")
        folder.mkdir(parents=True, exist_ok=True)
        generated(seed).save(folder / f"g{seed:05d}.jpg", quality=90)


def timed_check(root: Path, out: Path, jobs: int, warm: bool) -> tuple[float, int]:
    """Seconds of one check (cold: the cache removed first; warm: written by the run before),
    and the cross-split pairs it found."""
    dataset = discover(root, "flat", [".jpg"], ["train", "val"], ["train"])
    cache = out / PHASH_CACHE_NAME
    if not warm:
        cache.unlink(missing_ok=True)
    started = time.perf_counter()
    leaks = check_leaks(dataset, root, "warn", {"train"}, "image", out, jobs)
    seconds = time.perf_counter() - started
    assert leaks.cache is not None
    write_phashes(out, root, leaks.cache, leaks.kind)
    pairs = sum(w.count(" is a near-duplicate of ") for w in leaks.warnings)
    return seconds, pairs


def false_positives(root: Path) -> dict[str, object]:
    """Pairs within the threshold among distinct images: across splits and over all pairs."""
    items = [
        Hashed(str(p.relative_to(root)), "all", file_phash(p) or 0)
        for p in sorted(root.rglob("*"))
        if p.suffix.lower() in (".jpg", ".png")
    ]
    split = [Hashed(i.path, i.path.split("/")[0], i.hash) for i in items]
    values = np.array([i.hash for i in items], dtype=np.uint64)
    distances = [
        np.unpackbits(
            np.bitwise_xor(values[k + 1 :], values[k]).view(np.uint8).reshape(-1, 8), axis=1
        ).sum(axis=1)
        for k in range(len(items) - 1)
    ]
    every = np.concatenate(distances) if distances else np.array([], int)
    cross = cross_split_pairs(split)
    splits = {i.split for i in split}
    sizes = [sum(1 for i in split if i.split == s) for s in splits]
    cross_total = (sum(sizes) ** 2 - sum(n * n for n in sizes)) // 2
    return {
        "images": len(items),
        "pairs": int(every.size),
        "pairs_within": int((every <= DEFAULT_BITS).sum()),
        "cross_split_pairs": cross_total,
        "cross_split_within": len(cross),
        "closest_bits": int(every.min()) if every.size else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="augtool-neardup-") as temp:
        root, out = Path(temp) / "in", Path(temp) / "out"
        out.mkdir()
        make_sources(root, args.sources)
        per_k = 1000 / args.sources
        for jobs in args.jobs:
            cold, pairs = timed_check(root, out, jobs, warm=False)
            warm, again = timed_check(root, out, jobs, warm=True)
            assert pairs == again
            print(
                json.dumps(
                    {
                        "sources": args.sources,
                        "jobs": jobs,
                        "cold_s_per_1000": round(cold * per_k, 2),
                        "warm_s_per_1000": round(warm * per_k, 3),
                        "cross_split_pairs_reported": pairs,
                    }
                )
            )
        print(json.dumps({"false_positives": "generated", **false_positives(root)}))
    print(json.dumps({"false_positives": "samples/photos", **false_positives(PHOTOS)}))


if __name__ == "__main__":
    main()
