"""The statistics of one image, as pure kernels: pixels in, plain numbers out.

Pixel statistics are measured on a working copy whose longer side is at most :data:`WORK_SIDE`
pixels, so a 24-megapixel photo and its 256-pixel crop are measured at comparable scales and
the cost of a file is bounded; sizes and formats are the file's own. Values are plain Python
floats (JSON, the cache), rounded to what the report shows.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

#: The longer side of the working copy the pixel statistics are measured on.
WORK_SIDE = 512
#: The side of the grey thumbnail kept per file for SSIM (a variant against its source). At
#: 16 px a crop or a small rotation moves content by a pixel or two, which SSIM tolerates; at
#: 64 px it already reads as a change of structure.
THUMB_SIDE = 16
#: Bumped whenever a statistic's definition changes: a cache entry of another version is unused.
STATS_VERSION = 1

#: ITU-R BT.601 luma weights: the "perceived brightness" of an RGB pixel.
_LUMA = np.array([0.299, 0.587, 0.114])

#: The numeric statistics of every image, in the order the report lists them, with their unit.
IMAGE_STATS: dict[str, str] = {
    "width": "px",
    "height": "px",
    "aspect": "width / height",
    "brightness": "mean luma, 0-1",
    "contrast": "RMS contrast (luma std), 0-1",
    "sharpness": "variance of the Laplacian",
    "colourfulness": "Hasler-Süsstrunk M",
    "entropy": "bits (luma histogram)",
    "mean_r": "0-255",
    "mean_g": "0-255",
    "mean_b": "0-255",
    "std_r": "0-255",
    "std_g": "0-255",
    "std_b": "0-255",
}


def luma(rgb: np.ndarray) -> np.ndarray:
    """The float64 luma (0-255) of an (H, W, 3) RGB image."""
    return rgb[..., :3].astype(np.float64) @ _LUMA


def laplacian_variance(grey: np.ndarray) -> float:
    """The variance of the 4-neighbour Laplacian over the interior: low for a blurry image."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * grey[1:-1, 1:-1]
    return float(lap.var())


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler and Süsstrunk's colourfulness M (2003): sigma_rgyb + 0.3 mu_rgyb."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg = r - g
    yb = 0.5 * (r + g) - b
    sigma = np.hypot(rg.std(), yb.std())
    mu = np.hypot(rg.mean(), yb.mean())
    return float(sigma + 0.3 * mu)


def entropy(grey: np.ndarray) -> float:
    """The Shannon entropy, in bits, of the 256-bin histogram of ``grey`` (0-255)."""
    counts = np.bincount(np.clip(grey, 0, 255).astype(np.uint8).ravel(), minlength=256)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0


def dhash(grey: np.ndarray) -> int:
    """The 64-bit difference hash (Krawetz): the sign of horizontal gradients of a 9x8 grey
    thumbnail. Near-duplicate images differ in a few bits."""
    small = resize_grey(grey, 8, 9)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


def resize_grey(grey: np.ndarray, height: int, width: int) -> np.ndarray:
    """``grey`` resampled to (height, width) by box averaging (Pillow's BOX filter)."""
    from PIL import Image

    picture = Image.fromarray(np.clip(grey, 0, 255).astype(np.float32), mode="F")
    return np.asarray(picture.resize((width, height), Image.Resampling.BOX), dtype=np.float64)


def thumbnail(grey: np.ndarray) -> bytes:
    """The THUMB_SIDE x THUMB_SIDE grey thumbnail SSIM is measured on, as bytes."""
    small = resize_grey(grey, THUMB_SIDE, THUMB_SIDE)
    return np.clip(np.rint(small), 0, 255).astype(np.uint8).tobytes()


def thumb_array(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint8).reshape(THUMB_SIDE, THUMB_SIDE)


def image_stats(rgb: np.ndarray, width: int, height: int, fmt: str) -> dict[str, Any]:
    """Every statistic of an image: ``rgb`` is its (H, W, 3) uint8 working copy, ``width`` and
    ``height`` the file's own size, ``fmt`` its format."""
    grey = luma(rgb)
    channels = rgb[..., :3].astype(np.float64)
    means = channels.mean(axis=(0, 1))
    stds = channels.std(axis=(0, 1))
    low, high = np.percentile(grey, [5, 99])
    stats: dict[str, Any] = {
        "width": int(width),
        "height": int(height),
        "aspect": width / height if height else 0.0,
        "brightness": grey.mean() / 255,
        "contrast": grey.std() / 255,
        "sharpness": laplacian_variance(grey),
        "colourfulness": colourfulness(rgb),
        "entropy": entropy(np.rint(grey)),
        "mean_r": means[0],
        "mean_g": means[1],
        "mean_b": means[2],
        "std_r": stds[0],
        "std_g": stds[1],
        "std_b": stds[2],
        "luma_p05": low / 255,
        "luma_p99": high / 255,
        "format": fmt,
        "dhash": f"{dhash(grey):016x}",
        "pixels_sha256": hashlib.sha256(np.ascontiguousarray(rgb[..., :3]).tobytes()).hexdigest(),
    }
    return {
        k: round(float(v), 6) if isinstance(v, float | np.floating) else v for k, v in stats.items()
    }


def ssim(a: np.ndarray, b: np.ndarray, window: int = 7) -> float:
    """The mean structural similarity (Wang et al. 2004) of two grey images of one shape,
    0-255, with a ``window`` x ``window`` uniform window and K1 = 0.01, K2 = 0.03 (the defaults
    of scikit-image's ``structural_similarity``)."""
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    c1 = (0.01 * 255) ** 2
    c2 = (0.03 * 255) ** 2
    n = window * window
    mx, my = _box(x, window), _box(y, window)
    # sample (co)variances, as scikit-image computes them
    cov = n / (n - 1)
    vx = (_box(x * x, window) - mx * mx) * cov
    vy = (_box(y * y, window) - my * my) * cov
    vxy = (_box(x * y, window) - mx * my) * cov
    num = (2 * mx * my + c1) * (2 * vxy + c2)
    den = (mx * mx + my * my + c1) * (vx + vy + c2)
    return float((num / den).mean())


def _box(image: np.ndarray, window: int) -> np.ndarray:
    """The mean over every ``window`` x ``window`` block fully inside ``image`` (valid mode)."""
    summed = np.pad(image, ((1, 0), (1, 0))).cumsum(axis=0).cumsum(axis=1)
    w = window
    total = summed[w:, w:] - summed[:-w, w:] - summed[w:, :-w] + summed[:-w, :-w]
    return total / (w * w)


def mirror_ssim(variant: np.ndarray, source: np.ndarray) -> float:
    """The SSIM of a variant to its source or to the source mirrored, whichever is higher: a
    horizontal flip changes no content, and is not counted as a departure from the source."""
    return max(ssim(variant, source), ssim(variant, source[:, ::-1]))
