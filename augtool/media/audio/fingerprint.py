"""A clip's 64-bit fingerprint for the near-duplicate check across splits (docs/governance.md):
a coarse spectral-band energy hash of the decoded signal, in the manner of Haitsma and Kalker's
audio fingerprint, so that a copy with another gain, sample rate or encoding lands a few bits
from its original and distinct clips about half the bits apart.

The clip is mixed to mono and trimmed of what is quieter than 1 % of its peak at either end
(padding with silence moves nothing). Its power spectrum is summed over 9 time segments of equal
length and 9 frequency bands spaced evenly in log frequency from 100 Hz to 3.8 kHz (below the
Nyquist frequency of 8 kHz audio, so a resampled copy sees the same bands). Bit ``(t, b)`` is
whether the log-energy step from band ``b`` to ``b + 1`` grows from segment ``t`` to ``t + 1``:
differences of logarithms, so a gain cancels, and differences over time, so a clip's steady
spectral tilt (a microphone's, a codec's) cancels too.
"""

from __future__ import annotations

import numpy as np

SEGMENTS = 9
BANDS = 9
LOW_HZ, HIGH_HZ = 100.0, 3800.0
#: the trim threshold, against the clip's peak
QUIET = 0.01
#: band energies below this share of the loudest are one floor (noise there flips no bit)
FLOOR = 1e-2
#: a change of log energy this small is no change (bands held at the floor change by 0)
STEADY = 1e-6


def fingerprint(samples: np.ndarray, rate: int) -> int | None:
    """The fingerprint of float samples (frames, channels) at ``rate`` Hz; None for a clip
    that is silent, too short to cut into segments, or so steady that most of its bits would
    say nothing (such clips are not checked)."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    level = np.abs(mono)
    peak = float(level.max(initial=0.0))
    if peak <= 0.0:
        return None
    loud = np.flatnonzero(level >= peak * QUIET)
    mono = mono[loud[0] : loud[-1] + 1]
    if mono.size < SEGMENTS * 8:
        return None
    segments = np.zeros((SEGMENTS, BANDS))
    edges = np.geomspace(LOW_HZ, min(HIGH_HZ, rate * 0.475), BANDS + 1)
    for row, part in enumerate(np.array_split(mono, SEGMENTS)):
        power = np.abs(np.fft.rfft(part * np.hanning(part.size))) ** 2
        band = np.searchsorted(edges, np.fft.rfftfreq(part.size, 1.0 / rate), side="right") - 1
        inside = (band >= 0) & (band < BANDS)
        segments[row] = np.bincount(band[inside], power[inside], BANDS) / part.size
    logs = np.log(segments + segments.max() * FLOOR + 1e-30)
    steps = np.diff(logs, axis=1)
    changes = np.diff(steps, axis=0).ravel()
    if np.count_nonzero(np.abs(changes) > STEADY) < changes.size // 2:
        return None  # too steady (a pure tone, a hum): most bits would be the floor's zeros
    bits = changes > 0
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))
