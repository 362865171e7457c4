"""The signal kernels the audio transforms share, in numpy alone (no scipy): band-limited
resampling, a phase vocoder, Butterworth-magnitude filters and coloured noise.

Every function is pure: float64 samples of shape (frames, channels) in, a new array out.
"""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np

#: Butterworth orders a filter step may name
ORDERS = (1, 2, 3, 4, 5, 6, 7, 8)


@lru_cache(maxsize=1024)
def fast_length(n: int) -> int:
    """The next length >= ``n`` whose only prime factors are 2, 3 and 5 (a quick FFT)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            quotient = -(-n // p35)
            candidate = p35 * (1 << max(0, (quotient - 1).bit_length()))
            best = min(best, candidate)
            p35 *= 3
        p5 *= 5
    return best


def resample(samples: np.ndarray, frames_out: int) -> np.ndarray:
    """``samples`` band-limited to ``frames_out`` frames (FFT resampling; the clip is padded
    with silence so its end does not wrap onto its start)."""
    frames = samples.shape[0]
    if frames_out == frames:
        return samples.copy()
    n_in, n_out = _resample_lengths(frames, frames_out)
    spectrum = np.fft.rfft(samples, n=n_in, axis=0)
    bins = n_out // 2 + 1
    if bins <= spectrum.shape[0]:
        spectrum = spectrum[:bins]
    else:
        spectrum = np.concatenate(
            [spectrum, np.zeros((bins - spectrum.shape[0], samples.shape[1]), complex)]
        )
    out = np.fft.irfft(spectrum, n=n_out, axis=0) * (n_out / n_in)
    if out.shape[0] < frames_out:
        out = np.concatenate([out, np.zeros((frames_out - out.shape[0], out.shape[1]))])
    return out[:frames_out]


#: the prime factors numpy's FFT (pocketfft) has fast passes for; a length with a larger
#: prime factor can be tens of times slower
FFT_PRIMES = (2, 3, 5, 7, 11)


@cache
def _quick_lengths(limit: int) -> np.ndarray:
    """Every length up to ``limit`` whose prime factors are all in :data:`FFT_PRIMES`."""
    found = [1]
    for prime in FFT_PRIMES:
        grown = []
        for n in found:
            while n <= limit:
                grown.append(n)
                n *= prime
        found = grown
    lengths = np.array(sorted(found), dtype=np.int64)
    lengths.flags.writeable = False  # shared by every call (a cache, never a byte of output)
    return lengths


def _resample_lengths(frames: int, frames_out: int) -> tuple[int, int]:
    """The padded lengths a resampling works at: both quick FFT lengths, the first at least
    the clip and some silence, their ratio the closest to ``frames_out / frames`` among the
    next 256 candidates. The time scale is then off by that ratio's error: a median of 2e-5
    and at most 6e-4 over 2,000 random ratios from 1/4 to 4."""
    target = frames_out / frames
    low = frames + max(64, frames // 8)
    lengths = _quick_lengths(1 << int(4 * low * max(1.0, target)).bit_length())
    first = int(np.searchsorted(lengths, low))
    n_in = lengths[first : first + 256]
    want = n_in * target
    near = np.searchsorted(lengths, want)
    below = lengths[np.maximum(near - 1, 0)]
    above = lengths[np.minimum(near, len(lengths) - 1)]
    n_out = np.where(np.abs(below - want) <= np.abs(above - want), below, above)
    best = int(np.argmin(np.abs(n_out - want) / want))
    return int(n_in[best]), max(1, int(n_out[best]))


def stft_size(rate: int) -> int:
    """The phase vocoder's FFT size: the power of two nearest 64 ms (1024 at 16 kHz)."""
    return 1 << max(8, round(np.log2(rate * 0.064)))


@cache
def _window(n_fft: int) -> np.ndarray:
    """The periodic Hann window of ``n_fft`` (shared, read-only)."""
    window = np.hanning(n_fft + 1)[:-1]
    window.flags.writeable = False
    return window


def _stft(samples: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """(channels, frames, bins) of the Hann-windowed, centre-padded clip."""
    frames, channels = samples.shape
    padded = np.zeros((frames + n_fft + hop, channels)).T  # the layout np.pad gave
    padded[:, n_fft // 2 : n_fft // 2 + frames] = samples.T
    windows = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=1)[:, ::hop]
    frames = windows * _window(n_fft)
    return np.fft.rfft(frames, axis=-1)


def overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """(channels, frames, n) summed at ``hop`` apart: (channels, n + hop * (frames - 1)).

    ``n`` is a multiple of ``hop``: each block of ``hop`` outputs is the sum of one part of each
    frame over it, added in frame order as a loop over the frames adds them (so the floats
    round as they would), one vectorised pass per part instead of one per frame."""
    channels, count, n = frames.shape
    parts = n // hop
    blocks = np.zeros((channels, count + parts - 1, hop))
    split = frames.reshape(channels, count, parts, hop)
    # Block b is reached by frame b - k through its part k; frame order is k descending.
    for k in range(parts - 1, -1, -1):
        blocks[:, k : k + count] += split[:, :, k]
    return blocks.reshape(channels, -1)


@lru_cache(maxsize=32)
def _window_norm(n_fft: int, hop: int, count: int) -> np.ndarray:
    """The summed squared windows of ``count`` frames (never zero: 1.0 where they vanish;
    shared, read-only; the last 32 kept, not one per clip length a dataset has)."""
    squared = np.broadcast_to(_window(n_fft) ** 2, (1, count, n_fft))
    norm = overlap_add(squared, hop)[0]
    norm = np.where(norm > 1e-8, norm, 1.0)
    norm.flags.writeable = False
    return norm


def _istft(spectra: np.ndarray, n_fft: int, hop: int, length: int) -> np.ndarray:
    frames = np.fft.irfft(spectra, n=n_fft, axis=-1) * _window(n_fft)
    count = frames.shape[1]
    out = overlap_add(frames, hop)
    out /= _window_norm(n_fft, hop, count)
    out = out[:, n_fft // 2 : n_fft // 2 + length]
    if out.shape[1] < length:
        out = np.pad(out, ((0, 0), (0, length - out.shape[1])))
    return out.T


def time_stretch(samples: np.ndarray, rate: float, sample_rate: int) -> np.ndarray:
    """``samples`` played ``rate`` times as fast with the pitch kept: a phase vocoder (Hann
    window of :func:`stft_size`, hop a quarter of it). Each output frame takes the magnitudes
    interpolated between two input frames and advances every bin's phase by its advance
    between them. Phases are kept as unit phasors: every input bin is scaled to magnitude 1
    once, an advance is one frame's phasor times the conjugate of the other's, and an output
    frame's phasor is the one before turned by its advance, so no trigonometric function is
    evaluated. The result has ``round(frames / rate)`` frames."""
    frames = samples.shape[0]
    length = max(1, round(frames / rate))
    n_fft = stft_size(sample_rate)
    hop = n_fft // 4
    spectra = _stft(samples, n_fft, hop)
    magnitudes = np.abs(spectra)
    to_unit(spectra, magnitudes)
    steps = np.arange(0.0, spectra.shape[1] - 1, rate)
    left = np.floor(steps).astype(int)
    frac = (steps - left)[None, :, None]
    before, after = magnitudes[:, left], magnitudes[:, left + 1]
    magnitude = (1 - frac) * before + frac * after
    # The first output frame has the first input frame's phases; each later one turns the one
    # before by the advance between the two input frames the one before read.
    phasors = np.empty(magnitude.shape, dtype=spectra.dtype)
    phasors[:, 0] = spectra[:, 0]
    read = left[:-1]
    np.multiply(spectra[:, read + 1], np.conj(spectra[:, read]), out=phasors[:, 1:])
    # The products drift from magnitude 1 by about 1e-12 over ten minutes of frames, far
    # below a 32-bit float sample's resolution, so they are not scaled back to it.
    np.cumprod(phasors, axis=1, out=phasors)
    phasors *= magnitude
    return _istft(phasors, n_fft, hop, length)


def to_unit(values: np.ndarray, size: np.ndarray) -> None:
    """Complex ``values`` of magnitude ``size`` scaled to 1, in place (where ``size`` is 0, 1:
    no phase)."""
    nonzero = size > 0
    scale = np.divide(1.0, size, out=np.ones_like(size), where=nonzero)
    values.real *= scale
    values.imag *= scale
    values[~nonzero] = 1.0


def pitch_shift(samples: np.ndarray, semitones: float, sample_rate: int) -> np.ndarray:
    """Every frequency moved by ``semitones`` at the same duration: the phase vocoder
    stretches the clip by the frequency ratio, then band-limited resampling brings it back to
    its length (and so multiplies every frequency by the ratio)."""
    ratio = 2.0 ** (semitones / 12.0)
    longer = time_stretch(samples, 1.0 / ratio, sample_rate)
    return resample(longer, samples.shape[0])


@lru_cache(maxsize=32)
def _frequencies(n: int, sample_rate: int) -> np.ndarray:
    """The bins' frequencies of an ``n``-point real FFT (shared, read-only; the last 32 kept,
    not one per clip length a dataset has)."""
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    freqs.flags.writeable = False
    return freqs


def butterworth_gain(freqs: np.ndarray, cutoff: float, order: int, high: bool) -> np.ndarray:
    """The magnitude response of a Butterworth low-pass (or high-pass) of ``order``."""
    with np.errstate(divide="ignore"):
        ratio = freqs / cutoff if not high else np.where(freqs > 0, cutoff / freqs, np.inf)
    return 1.0 / np.sqrt(1.0 + ratio ** (2 * order))


def filtered(
    samples: np.ndarray,
    sample_rate: int,
    low: float | None,
    high: float | None,
    order: int,
) -> np.ndarray:
    """``samples`` through a zero-phase Butterworth magnitude response of ``order``: a
    high-pass at ``low`` Hz and/or a low-pass at ``high`` Hz, applied in the frequency domain
    (the clip padded with silence so the response does not wrap round)."""
    frames = samples.shape[0]
    n = fast_length(frames + max(256, frames // 4))
    spectrum = np.fft.rfft(samples, n=n, axis=0)
    freqs = _frequencies(n, sample_rate)
    gain = np.ones_like(freqs)
    if low is not None:
        gain *= butterworth_gain(freqs, low, order, high=True)
    if high is not None:
        gain *= butterworth_gain(freqs, high, order, high=False)
    return np.fft.irfft(spectrum * gain[:, None], n=n, axis=0)[:frames]


def band_stop(samples: np.ndarray, sample_rate: int, low: float, high: float) -> np.ndarray:
    """``samples`` with every frequency in [``low``, ``high``] Hz removed (SpecAugment's
    frequency mask, over the whole clip's spectrum)."""
    frames = samples.shape[0]
    n = fast_length(frames)
    spectrum = np.fft.rfft(samples, n=n, axis=0)
    freqs = _frequencies(n, sample_rate)
    keep = ~((freqs >= low) & (freqs <= high))
    return np.fft.irfft(spectrum * keep[:, None], n=n, axis=0)[:frames]


NOISE_SLOPES = {"white": 0.0, "pink": 0.5, "brown": 1.0}


def coloured_noise(seed: int, frames: int, channels: int, colour: str) -> np.ndarray:
    """Noise of unit RMS whose power falls as 1/f**(2*slope): white, pink (1/f) or brown
    (1/f**2), from its own ``seed`` (so a record replays it)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    slope = NOISE_SLOPES[colour]
    # Coloured noise is shaped at a quick FFT length, then cut to the clip.
    white = rng.standard_normal((fast_length(frames) if slope else frames, channels))
    if slope:
        spectrum = np.fft.rfft(white, axis=0)
        index = np.arange(spectrum.shape[0], dtype=np.float64)
        index[0] = 1.0
        spectrum *= (1.0 / index**slope)[:, None]
        spectrum[0] = 0.0
        white = np.fft.irfft(spectrum, n=white.shape[0], axis=0)[:frames]
    rms = np.sqrt(np.mean(white**2))
    return white / rms if rms > 0 else white


def power(samples: np.ndarray) -> float:
    """Mean power over every sample of every channel."""
    return float(np.mean(samples**2))


def convolve(samples: np.ndarray, impulse: np.ndarray) -> np.ndarray:
    """``samples`` convolved with a mono ``impulse``, cut to the clip's length."""
    frames = samples.shape[0]
    n = fast_length(frames + impulse.shape[0] - 1)
    spectrum = np.fft.rfft(samples, n=n, axis=0) * np.fft.rfft(impulse, n=n)[:, None]
    return np.fft.irfft(spectrum, n=n, axis=0)[:frames]


__all__ = [
    "NOISE_SLOPES",
    "ORDERS",
    "band_stop",
    "butterworth_gain",
    "coloured_noise",
    "convolve",
    "fast_length",
    "filtered",
    "pitch_shift",
    "power",
    "resample",
    "stft_size",
    "time_stretch",
    "to_unit",
]
