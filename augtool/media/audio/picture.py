"""A clip as a preview tile: a waveform strip over a log-magnitude spectrogram.

The waveform shows each pixel column's lowest and highest sample (all channels), full scale at
the strip's edges, with samples beyond full scale (clipped when written) in red. The
spectrogram is linear in frequency (0 Hz at the bottom, Nyquist at the top) and shows the
80 dB below the clip's loudest bin, so a quiet noise floor or a filter's slope is visible.
"""

from __future__ import annotations

import numpy as np

WIDTH = 384
WAVE_HEIGHT = 96
SPECTRUM_HEIGHT = 192
RANGE_DB = 80.0
#: colour stops of the spectrogram, quiet to loud (dark blue, purple, orange, pale yellow)
STOPS = np.array(
    [[0, 0, 4], [40, 11, 84], [120, 28, 109], [212, 72, 66], [250, 193, 39], [252, 255, 164]],
    dtype=np.float64,
)


def picture(samples: np.ndarray, rate: int) -> np.ndarray:
    """``samples`` (frames, channels) as a uint8 RGB picture of WIDTH columns."""
    return np.concatenate([waveform(samples), spectrogram(samples, rate)], axis=0)


def waveform(samples: np.ndarray) -> np.ndarray:
    frames = samples.shape[0]
    edges = np.linspace(0, frames, WIDTH + 1).astype(int)
    edges[1:] = np.maximum(edges[1:], edges[:-1] + 1)
    edges = np.minimum(edges, frames)
    out = np.full((WAVE_HEIGHT, WIDTH, 3), 248, np.uint8)
    out[WAVE_HEIGHT // 2] = (200, 200, 200)  # the zero line
    rows = np.arange(WAVE_HEIGHT)[:, None]
    for column in range(WIDTH):
        lo, hi = edges[column], max(edges[column + 1], edges[column] + 1)
        chunk = samples[min(lo, frames - 1) : hi]
        low, high = float(chunk.min()), float(chunk.max())
        top = _row(high)
        bottom = _row(low)
        colour = (200, 30, 30) if max(abs(low), abs(high)) > 1.0 else (30, 70, 160)
        mask = (rows[:, 0] >= top) & (rows[:, 0] <= bottom)
        out[mask, column] = colour
    return out


def _row(value: float) -> int:
    clipped = min(1.0, max(-1.0, value))
    return round((1.0 - clipped) / 2.0 * (WAVE_HEIGHT - 1))


def spectrogram(samples: np.ndarray, rate: int) -> np.ndarray:
    mono = samples.mean(axis=1)
    n_fft = 1 << max(6, round(np.log2(rate * 0.032)))  # about 32 ms
    padded = np.pad(mono, (n_fft // 2, n_fft // 2))
    starts = np.linspace(0, padded.shape[0] - n_fft, WIDTH).astype(int)
    frames = padded[starts[:, None] + np.arange(n_fft)[None, :]] * np.hanning(n_fft)
    magnitude = np.abs(np.fft.rfft(frames, axis=1))  # (WIDTH, bins)
    db = 20.0 * np.log10(magnitude + 1e-12)
    top = db.max()
    level = np.clip((db - (top - RANGE_DB)) / RANGE_DB, 0.0, 1.0)
    bins = level.shape[1]
    rows = np.linspace(bins - 1, 0, SPECTRUM_HEIGHT).round().astype(int)
    return colour(level[:, rows].T)


def colour(level: np.ndarray) -> np.ndarray:
    """Levels in [0, 1] through :data:`STOPS`."""
    position = level * (len(STOPS) - 1)
    index = np.minimum(position.astype(int), len(STOPS) - 2)
    frac = (position - index)[..., None]
    rgb = STOPS[index] * (1 - frac) + STOPS[index + 1] * frac
    return rgb.round().astype(np.uint8)


__all__ = ["picture", "spectrogram", "waveform"]
