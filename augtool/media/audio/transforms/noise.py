"""Noise: coloured noise at a signal-to-noise ratio measured on the clip."""

from __future__ import annotations

import numpy as np

from augtool.media.audio import dsp
from augtool.media.audio.transforms.base import (
    AudioTransform,
    Choices,
    Clip,
    Params,
    pick,
    register,
    seed,
)
from augtool.media.image.transforms.base import uniform
from augtool.media.image.transforms.params import Param, Range


def mix_at_snr(samples: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``samples`` plus ``noise`` scaled so that the clip's power over the noise's is
    ``snr_db``; a silent clip is returned as it is (no ratio to it exists)."""
    signal = dsp.power(samples)
    noise_power = dsp.power(noise)
    if signal == 0.0 or noise_power == 0.0:
        return samples.copy()
    scale = np.sqrt(signal / (noise_power * 10.0 ** (snr_db / 10.0)))
    return samples + noise * scale


@register
class AddNoise(AudioTransform):
    name = "add_noise"
    family = "noise"
    summary = (
        "Add white, pink or brown noise at a signal-to-noise ratio drawn in dB, measured on "
        "the clip (its mean power over the noise's)."
    )
    example = "- add_noise: {snr_db: [10, 30], color: [white, pink]}"
    params = (
        Param("snr_db", Range(-20.0, 100.0), [10.0, 40.0], "the signal-to-noise ratio"),
        Param("color", Choices(tuple(dsp.NOISE_SLOPES)), ["white"], "the noise colour(s)"),
    )

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        return {
            "snr_db": uniform(rng, self.config["snr_db"]),
            "color": pick(rng, self.config["color"]),
            "seed": seed(rng),
        }

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        frames, channels = samples.shape
        noise = dsp.coloured_noise(params["seed"], frames, channels, params["color"])
        return mix_at_snr(samples, noise, params["snr_db"])


__all__ = ["AddNoise", "mix_at_snr"]
