"""Make ``samples/audio/`` (spoken words, for keyword spotting), as committed. See
``samples/AUDIO_LICENSES.md``.

The words are spoken by espeak-ng (``apt-get install -y espeak-ng``; made with 1.51), five
voices for ``train`` and two others for ``val`` (so no speaker is in both splits), each clip
trimmed of silence, resampled to 16 kHz, centred in one second and peak-normalised to
-3 dBFS, written as 16-bit PCM WAV. The background noises of ``samples/audio_noise/`` (for
``background_noise``) are synthesised with numpy from fixed seeds, needing no espeak-ng.
The committed files are what CI uses; CI does not need espeak-ng.

    python samples/make_audio_samples.py          # the words and the noises
    python samples/make_audio_samples.py noise    # the noises only
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from augtool.media.audio import codecs, dsp

HERE = Path(__file__).resolve().parent
RATE = 16_000
WORDS = ("yes", "no", "up", "down")
# (voice, words per minute, pitch 0-99)
TRAIN_VOICES = (
    ("en-us", 160, 50),
    ("en-gb", 150, 40),
    ("en-gb-scotland", 170, 60),
    ("en-us+f2", 150, 70),
    ("en-029", 140, 45),
)
VAL_VOICES = (("en-gb-x-rp", 155, 55), ("en-us+m3", 165, 35))


def spoken(word: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """``word`` as espeak-ng says it: one second of 16 kHz mono samples."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "word.wav"
        command = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path)]
        subprocess.run([*command, word], check=True)
        decoded = codecs.read_wav(path.read_bytes())
    samples = decoded.samples
    loud = np.flatnonzero(np.abs(samples[:, 0]) > 0.02)
    samples = samples[max(0, loud[0] - 160) : loud[-1] + 160]
    samples = dsp.resample(samples, round(samples.shape[0] * RATE / decoded.rate))
    samples = samples[:RATE]
    before = (RATE - samples.shape[0]) // 2
    samples = np.pad(samples, ((before, RATE - samples.shape[0] - before), (0, 0)))
    return samples * (10 ** (-3 / 20) / np.max(np.abs(samples)))


def noises() -> dict[str, tuple[np.ndarray, int]]:
    """Three short noises a microphone picks up, by file name: (samples, rate). ``fan`` is
    at 22.05 kHz, so that mixing it into 16 kHz clips resamples it."""
    rng = np.random.default_rng(17)
    t = np.arange(2 * RATE) / RATE
    hum = sum(0.3 / k * np.sin(2 * np.pi * 50 * k * t + k) for k in (1, 2, 3, 5))
    hum = hum + 0.01 * rng.standard_normal(t.shape)
    rain = dsp.coloured_noise(int(rng.integers(2**32)), 2 * RATE, 1, "pink")[:, 0]
    drops = np.zeros_like(rain)
    drops[rng.integers(0, drops.shape[0], 120)] = rng.uniform(0.3, 1.0, 120)
    rain = rain + np.convolve(drops, np.exp(-np.arange(200) / 30.0), mode="same")
    fan_rate = 22_050
    ft = np.arange(int(1.5 * fan_rate)) / fan_rate
    fan = dsp.coloured_noise(int(rng.integers(2**32)), ft.shape[0], 1, "brown")[:, 0]
    fan = fan + 0.2 * np.sin(2 * np.pi * 120 * ft)
    made = {"hum.wav": (hum, RATE), "rain.wav": (rain, RATE), "fan.wav": (fan, fan_rate)}
    # each peak-normalised to -6 dBFS
    return {k: ((v * (0.5 / np.max(np.abs(v))))[:, None], r) for k, (v, r) in made.items()}


def write_noises() -> None:
    folder = HERE / "audio_noise"
    folder.mkdir(exist_ok=True)
    for name, (samples, rate) in noises().items():
        (folder / name).write_bytes(codecs.write_wav(samples, rate, "PCM_16"))


def main() -> None:
    write_noises()
    if sys.argv[1:] == ["noise"]:
        return
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed (apt-get install -y espeak-ng)")
    root = HERE / "audio"
    for split, voices in (("train", TRAIN_VOICES), ("val", VAL_VOICES)):
        for word in WORDS:
            folder = root / split / word
            folder.mkdir(parents=True, exist_ok=True)
            for voice, speed, pitch in voices:
                name = voice.replace("+", "-")
                clip = spoken(word, voice, speed, pitch)
                (folder / f"{word}_{name}.wav").write_bytes(codecs.write_wav(clip, RATE, "PCM_16"))


if __name__ == "__main__":
    main()
