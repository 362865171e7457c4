"""Small audio datasets for the audio tests, written with the standard library's ``wave`` (a
writer that is not augtool's) or soundfile."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np

RATE = 16_000


def tone(freq: float, seconds: float = 1.0, rate: int = RATE, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t))[:, None]


def pcm16_wav(samples: np.ndarray, rate: int = RATE) -> bytes:
    """``samples`` (frames, channels) as 16-bit PCM, written by ``wave``."""
    ints = np.clip(np.rint(samples * 32768), -32768, 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(ints.tobytes())
    return out.getvalue()


def peak_frequency(samples: np.ndarray, rate: int) -> float:
    """The frequency of the strongest component of a (mono) clip: the FFT peak of the
    Hann-windowed clip, refined by a parabola through the log magnitudes around it."""
    x = samples[:, 0] * np.hanning(samples.shape[0])
    n = 8 * samples.shape[0]
    spectrum = np.abs(np.fft.rfft(x, n=n))
    k = int(np.argmax(spectrum))
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-300)
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return float((k + offset) * rate / n)


def make_speech_like(root: Path, splits: tuple[str, ...] = ("train", "val")) -> Path:
    """A class-folder dataset: tones with a little noise per class and split."""
    rng = np.random.default_rng(0)
    for s, split in enumerate(splits):
        for cls, freq in (("low", 220.0), ("mid", 440.0), ("high", 880.0)):
            folder = root / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(2):
                clip = tone(freq * (1 + 0.03 * i + 0.01 * s), 0.5)
                clip = clip + 0.01 * rng.standard_normal(clip.shape)
                (folder / f"{cls}_{i}.wav").write_bytes(pcm16_wav(clip))
    return root


def write_noises(folder: Path) -> Path:
    """A folder of three noises for ``background_noise``: white and a hum at 16 kHz (2 s and
    0.3 s: shorter than a clip, so it loops) and brown noise at 8 kHz (resampled when mixed)."""
    rng = np.random.default_rng(21)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "white.wav").write_bytes(pcm16_wav(0.3 * rng.standard_normal((2 * RATE, 1))))
    (folder / "hum.wav").write_bytes(pcm16_wav(tone(50.0, 0.3) + tone(100.0, 0.3, amp=0.2)))
    brown = np.cumsum(rng.standard_normal(8000))
    brown = (0.5 * (brown - brown.mean()) / np.max(np.abs(brown - brown.mean())))[:, None]
    (folder / "brown.wav").write_bytes(pcm16_wav(brown, 8000))
    return folder
