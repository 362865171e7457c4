"""Time the curved warps (docs/geometry.md) on one image: augtool's kernel (its numpy remap)
against Albumentations' (OpenCV's remap) where it is installed, and augtool's ``rotate`` (one
matrix warp) as the floor of a resampling.

Each line is one JSON record: the transform, the image size, and the median milliseconds of
``--repeats`` applications (parameters drawn once; targets not moved). Albumentations is
imported only with ``--albumentations`` (the [test] extra has 2.0.8).

    python benchmarks/warps.py                          # 1024 x 1024 RGB, augtool only
    python benchmarks/warps.py --size 1024 --albumentations
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from augtool.media.image.transforms import REGISTRY

#: augtool step config and the Albumentations call that draws the same kind of warp.
WARPS = {
    "elastic": ({"alpha": 120.0, "sigma": 6.0}, "ElasticTransform(alpha=120, sigma=6, p=1)"),
    "grid_distortion": ({}, "GridDistortion(p=1)"),
    "optical_distortion": ({"distort_limit": 0.3}, "OpticalDistortion(distort_limit=0.3, p=1)"),
    "piecewise_affine": ({}, "PiecewiseAffine(p=1)"),
    "rotate": ({"limit": 30}, "Rotate(limit=30, p=1)"),
}


def median_ms(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="side of the square RGB image")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--albumentations", action="store_true", help="time Albumentations too")
    args = parser.parse_args()
    image = np.random.default_rng(0).integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
    album = None
    if args.albumentations:
        os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
        import albumentations as album
    for name, (config, theirs) in WARPS.items():
        step = REGISTRY[name](**config)
        params = step.sample(np.random.default_rng(1), image.shape)
        record = {
            "transform": name,
            "size": [args.size, args.size],
            "augtool_ms": median_ms(lambda: step.apply(image, params), args.repeats),  # noqa: B023
        }
        if album is not None:
            transform = eval(f"album.{theirs}")  # a fixed table above, not input
            record["albumentations"] = theirs
            record["albumentations_ms"] = median_ms(
                lambda: transform(image=image),  # noqa: B023
                args.repeats,
            )
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
