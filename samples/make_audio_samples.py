"""Make ``samples/audio/`` (spoken words, for keyword spotting), as committed. See
``samples/AUDIO_LICENSES.md``.

The words are spoken by espeak-ng (``apt-get install -y espeak-ng``; made with 1.51), five
voices for ``train`` and two others for ``val`` (so no speaker is in both splits), each clip
trimmed of silence, resampled to 16 kHz, centred in one second and peak-normalised to
-3 dBFS, written as 16-bit PCM WAV. The noises are synthesised with numpy from fixed seeds.
The committed files are what CI uses; CI does not need espeak-ng.

    python samples/make_audio_samples.py
"""

from __future__ import annotations

import shutil
import subprocess
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


def main() -> None:
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
