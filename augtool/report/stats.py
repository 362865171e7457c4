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
    """The float32 luma (0-255) of an (H, W, 3) RGB image."""
    return rgb[..., :3].astype(np.float32) @ _LUMA.astype(np.float32)


def laplacian_variance(grey: np.ndarray) -> float:
    """The variance of the 4-neighbour Laplacian over the interior: low for a blurry image."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    g = grey.astype(np.float32)
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
    return float(lap.astype(np.float64).var())


def histogram_moments(counts: np.ndarray, offset: float = 0.0) -> tuple[float, float]:
    """The mean and standard deviation of values ``offset + i`` counted ``counts[i]`` times:
    one pass of ``bincount`` over an image gives every moment a statistic needs."""
    values = np.arange(len(counts), dtype=np.float64) + offset
    total = counts.sum()
    mean = float((values * counts).sum() / total)
    var = float(((values - mean) ** 2 * counts).sum() / total)
    return mean, var**0.5


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler and Süsstrunk's colourfulness M (2003): sigma_rgyb + 0.3 mu_rgyb, with
    rg = R - G and yb = (R + G) / 2 - B."""
    r, g, b = (rgb[..., i].astype(np.int16).ravel() for i in range(3))
    rg_mean, rg_std = histogram_moments(np.bincount(r - g + 255, minlength=511), -255)
    yb2_mean, yb2_std = histogram_moments(np.bincount(r + g - 2 * b + 510, minlength=1021), -510)
    sigma = np.hypot(rg_std, yb2_std / 2)
    mu = np.hypot(rg_mean, yb2_mean / 2)
    return float(sigma + 0.3 * mu)


def entropy(counts: np.ndarray) -> float:
    """The Shannon entropy, in bits, of a histogram."""
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0


def percentile(counts: np.ndarray, q: float) -> float:
    """The smallest value at or below which ``q`` percent of a 256-bin histogram lies."""
    cumulative = np.cumsum(counts)
    return float(np.searchsorted(cumulative, cumulative[-1] * q / 100))


def dhash(grey: np.ndarray) -> int:
    """The 64-bit difference hash (Krawetz): the sign of horizontal gradients of a 9x8 grey
    thumbnail. Near-duplicate images differ in a few bits."""
    small = resize_grey(grey, 8, 9)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


def phash(grey: np.ndarray) -> int:
    """The 64-bit perceptual hash (imagededup's pHash): which of the 8x8 lowest frequencies of
    the DCT of a 32x32 grey thumbnail lie above their median (the DC term left out of it).
    Steadier than :func:`dhash` under crops and more apart on distinct photos."""
    basis = _dct_matrix(32)
    low = (basis @ resize_grey(grey, 32, 32) @ basis.T)[:8, :8].ravel()
    bits = low >= np.median(low[1:])
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


def _dct_matrix(n: int) -> np.ndarray:
    """The orthonormal DCT-II matrix of size ``n``."""
    k = np.arange(n)[:, None]
    basis = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n)) * np.sqrt(2 / n)
    basis[0] /= np.sqrt(2)
    return basis


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


def image_stats(
    rgb: np.ndarray, width: int, height: int, fmt: str, grey: np.ndarray | None = None
) -> dict[str, Any]:
    """Every statistic of an image: ``rgb`` is its (H, W, 3) uint8 working copy (``grey`` its
    luma, when the caller has it), ``width`` and ``height`` the file's own size, ``fmt`` its
    format."""
    grey = luma(rgb) if grey is None else grey
    levels = np.bincount(np.rint(grey).astype(np.uint8).ravel(), minlength=256)
    brightness, contrast = histogram_moments(levels)
    channels = [
        histogram_moments(np.bincount(rgb[..., i].ravel(), minlength=256)) for i in range(3)
    ]
    stats: dict[str, Any] = {
        "width": int(width),
        "height": int(height),
        "aspect": width / height if height else 0.0,
        "brightness": brightness / 255,
        "contrast": contrast / 255,
        "sharpness": laplacian_variance(grey),
        "colourfulness": colourfulness(rgb),
        "entropy": entropy(levels),
        **{f"mean_{c}": channels[i][0] for i, c in enumerate("rgb")},
        **{f"std_{c}": channels[i][1] for i, c in enumerate("rgb")},
        "luma_p05": percentile(levels, 5) / 255,
        "luma_p99": percentile(levels, 99) / 255,
        "format": fmt,
        "dhash": f"{dhash(grey):016x}",
        "pixels_sha256": hashlib.sha256(np.ascontiguousarray(rgb[..., :3]).tobytes()).hexdigest(),
    }
    return {
        k: round(float(v), 6) if isinstance(v, float | np.floating) else v for k, v in stats.items()
    }


def ssim(a: np.ndarray, b: np.ndarray, window: int = 7) -> np.ndarray | float:
    """The mean structural similarity (Wang et al. 2004) of two grey images of one shape,
    0-255, with a ``window`` x ``window`` uniform window and K1 = 0.01, K2 = 0.03 (the defaults
    of scikit-image's ``structural_similarity``). Stacks of images (N, H, W) give N values."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    c1 = (0.01 * 255) ** 2
    c2 = (0.03 * 255) ** 2
    n = window * window
    mx, my, xx, yy, xy = _box(np.stack([x, y, x * x, y * y, x * y]), window)
    cov = n / (n - 1)  # sample (co)variances, as scikit-image computes them
    vx = (xx - mx * mx) * cov
    vy = (yy - my * my) * cov
    vxy = (xy - mx * my) * cov
    num = (2 * mx * my + c1) * (2 * vxy + c2)
    den = (mx * mx + my * my + c1) * (vx + vy + c2)
    means = (num / den).mean(axis=(-2, -1))
    return float(means) if means.ndim == 0 else means


def _box(images: np.ndarray, window: int) -> np.ndarray:
    """The mean over every ``window`` x ``window`` block fully inside each image of the stack
    (valid mode), from summed-area tables."""
    *lead, height, width = images.shape
    summed = np.zeros((*lead, height + 1, width + 1))
    summed[..., 1:, 1:] = images.cumsum(axis=-2).cumsum(axis=-1)
    w = window
    total = (
        summed[..., w:, w:] - summed[..., :-w, w:] - summed[..., w:, :-w] + summed[..., :-w, :-w]
    )
    return total / (w * w)


def mirror_ssim(variants: np.ndarray, source: np.ndarray) -> list[float]:
    """The SSIM of each variant (a stack) to its source or to the source mirrored, whichever
    is higher: a horizontal flip changes no content, and is not counted as a departure from
    the source."""
    count = len(variants)
    if count == 0:
        return []
    sources = np.broadcast_to(source, (count, *source.shape))
    mirrored = np.broadcast_to(source[:, ::-1], (count, *source.shape))
    both = ssim(np.concatenate([variants, variants]), np.concatenate([sources, mirrored]))
    return [float(v) for v in np.maximum(both[:count], both[count:])]
