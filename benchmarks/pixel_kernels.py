"""Per-image cost of the pixel-level steps added for Albumentations users, beside Albumentations
2.x's own transforms of the same name, on one synthetic RGB image.

Why: each step is a pure numpy/Pillow kernel (OpenCV only where it gives the same bytes), and a
user choosing between the tools wants to know what that costs per image. Each side is timed on
the same image with the transform's default parameters, ``p=1``, best and median of ``--repeat``
calls after one warm-up; OpenCV is limited to one thread, as augtool's workers are.

    python benchmarks/pixel_kernels.py --size 480 640 --repeat 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

#: augtool step -> Albumentations class name (the defaults of both are the same numbers)
PAIRS = {
    "hue_saturation_value": "HueSaturationValue",
    "rgb_shift": "RGBShift",
    "to_sepia": "ToSepia",
    "fancy_pca": "FancyPCA",
    "clahe": "CLAHE",
    "unsharp_mask": "UnsharpMask",
    "emboss": "Emboss",
    "iso_noise": "ISONoise",
    "multiplicative_noise": "MultiplicativeNoise",
    "median_blur": "MedianBlur",
    "defocus": "Defocus",
    "zoom_blur": "ZoomBlur",
    "glass_blur": "GlassBlur",
    "random_fog": "RandomFog",
    "random_rain": "RandomRain",
    "random_snow": "RandomSnow",
    "random_shadow": "RandomShadow",
    "random_sun_flare": "RandomSunFlare",
    "random_gravel": "RandomGravel",
}


def _times(call: Callable[[], Any], repeat: int) -> list[float]:
    call()
    found = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        found.append(time.perf_counter() - start)
    return found


def _augtool(name: str, image: np.ndarray) -> Callable[[], Any]:
    from augtool.media.image.transforms import REGISTRY

    step = REGISTRY[name]()
    params = step.sample(np.random.default_rng(0), image.shape)
    return lambda: step.apply(image, params)


def _albumentations(name: str, image: np.ndarray) -> Callable[[], Any] | None:
    try:
        import albumentations as A
        import cv2
    except ImportError:
        return None
    cv2.setNumThreads(1)
    transform = getattr(A, name)(p=1)
    return lambda: transform(image=image)["image"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=2, default=[480, 640], help="height width")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    image = np.random.default_rng(1).integers(0, 256, (*args.size, 3), dtype=np.uint8)
    for name, theirs in PAIRS.items():
        row: dict[str, Any] = {"step": name, "size": args.size}
        for side, call in (
            ("augtool", _augtool(name, image)),
            ("albumentations", _albumentations(theirs, image)),
        ):
            if call is None:
                continue
            times = _times(call, args.repeat)
            row[f"{side}_ms_best"] = round(min(times) * 1000, 2)
            row[f"{side}_ms_median"] = round(statistics.median(times) * 1000, 2)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
