"""RGB to HLS and back, vectorised (Python's ``colorsys`` formulas), for the kernels that work on
lightness: ``iso_noise`` and the weather. Values are float32 in [0, 1], hue in turns.

The round trip of a uint8 image is exact after rounding (its error is far under half a level),
so pixels a kernel leaves alone come back as they were.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_SIXTH, _THIRD, _TWO_THIRDS = np.float32(1 / 6), np.float32(1 / 3), np.float32(2 / 3)


def rgb_to_hls(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) float RGB in [0, 1] to (..., 3) float32 HLS: hue in turns, lightness, saturation."""
    rgb = rgb.astype(np.float32, copy=False)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    high, low = rgb.max(axis=-1), rgb.min(axis=-1)
    light = (high + low) / 2
    spread = high - low
    grey = spread == 0
    safe = np.where(grey, np.float32(1), spread)
    total = high + low
    saturation = np.where(light <= 0.5, spread / np.where(grey, 1, total), 0)
    saturation = np.where(light > 0.5, spread / np.where(grey, 1, 2 - total), saturation)
    rc, gc, bc = (high - r) / safe, (high - g) / safe, (high - b) / safe
    hue = np.where(r == high, bc - gc, np.where(g == high, 2 + rc - bc, 4 + gc - rc))
    hue = np.where(grey, 0, (hue / 6) % 1)
    return np.stack([hue, light, np.where(grey, 0, saturation)], axis=-1).astype(np.float32)


def hls_to_rgb(hls: np.ndarray) -> np.ndarray:
    """(..., 3) float HLS (hue in turns) to (..., 3) float32 RGB in [0, 1]."""
    hue, light, saturation = hls[..., 0], hls[..., 1], hls[..., 2]
    m2 = np.where(light <= 0.5, light * (1 + saturation), light + saturation - light * saturation)
    m1 = 2 * light - m2
    channels = [_value(m1, m2, hue + _THIRD), _value(m1, m2, hue), _value(m1, m2, hue - _THIRD)]
    rgb = np.stack(channels, axis=-1)
    grey = (saturation == 0)[..., None]
    return np.where(grey, light[..., None], rgb).astype(np.float32)


def _value(m1: np.ndarray, m2: np.ndarray, hue: np.ndarray) -> np.ndarray:
    hue = hue % 1
    rising = m1 + (m2 - m1) * hue * 6
    falling = m1 + (m2 - m1) * (_TWO_THIRDS - hue) * 6
    return np.where(
        hue < _SIXTH, rising, np.where(hue < 0.5, m2, np.where(hue < _TWO_THIRDS, falling, m1))
    )


def map_lightness(colour: np.ndarray, change: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``colour`` (uint8, 1 or 3 channels) with its HLS lightness (0-1) replaced by
    ``change(lightness)``, hue and saturation kept; a grey image's lightness is its value."""
    values = colour.astype(np.float32) / np.float32(255)
    if colour.shape[2] == 1:
        light = np.clip(change(values[:, :, 0]), 0, 1)
        return _rounded(light[:, :, None])
    hls = rgb_to_hls(values)
    hls[:, :, 1] = np.clip(change(hls[:, :, 1]), 0, 1)
    return _rounded(hls_to_rgb(hls))


def _rounded(values: np.ndarray) -> np.ndarray:
    scaled = values * np.float32(255)
    np.rint(scaled, out=scaled)
    return np.clip(scaled, 0, 255).astype(np.uint8)
