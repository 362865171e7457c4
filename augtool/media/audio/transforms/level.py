"""Level: gain, normalisation, polarity, clipping distortion and fades."""

from __future__ import annotations

import numpy as np

from augtool.media.audio.transforms.base import AudioTransform, Clip, Params, register
from augtool.media.params import Choice, Param, Range
from augtool.media.transform import uniform


def db_to_amplitude(db: float) -> float:
    return float(10.0 ** (db / 20.0))


@register
class Gain(AudioTransform):
    name = "gain"
    family = "level"
    summary = "Multiply the clip by a gain drawn in decibels."
    example = "- gain: {gain_db: [-12, 12], p: 0.5}"
    params = (Param("gain_db", Range(-96.0, 96.0, around=0.0), [-12.0, 12.0], "gain in dB"),)

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        return {"gain_db": uniform(rng, self.config["gain_db"])}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        return samples * db_to_amplitude(params["gain_db"])


@register
class Normalize(AudioTransform):
    name = "normalize"
    family = "level"
    summary = "Scale the clip so its peak (or RMS) sits at a level drawn in dBFS."
    example = "- normalize: {mode: peak, target_db: [-3, -1]}"
    params = (
        Param("mode", Choice(("peak", "rms")), "peak", "measure the peak or the RMS level"),
        Param("target_db", Range(-96.0, 0.0), [-1.0, -1.0], "the level reached, in dBFS"),
    )

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        return {"mode": self.config["mode"], "target_db": uniform(rng, self.config["target_db"])}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        if params["mode"] == "peak":
            level = float(np.max(np.abs(samples)))
        else:
            level = float(np.sqrt(np.mean(samples**2)))
        if level == 0.0:
            return samples.copy()  # silence stays silence
        return samples * (db_to_amplitude(params["target_db"]) / level)


@register
class PolarityInversion(AudioTransform):
    name = "polarity_inversion"
    family = "level"
    summary = "Negate every sample (flip the waveform upside down)."
    example = "- polarity_inversion: {p: 0.5}"
    default_p = 0.5

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        return {}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        return -samples


@register
class ClippingDistortion(AudioTransform):
    name = "clipping_distortion"
    family = "level"
    summary = (
        "Clip the loudest samples: the given percentage of samples (by magnitude) is cut to "
        "the magnitude of the next one."
    )
    example = "- clipping_distortion: {percentile: [0, 40], p: 0.3}"
    params = (Param("percentile", Range(0.0, 100.0), [0.0, 40.0], "percentage of samples clipped"),)

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        return {"percentile": uniform(rng, self.config["percentile"])}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        threshold = float(np.percentile(np.abs(samples), 100.0 - params["percentile"]))
        return np.clip(samples, -threshold, threshold)


@register
class Fade(AudioTransform):
    name = "fade"
    family = "level"
    summary = "Fade in from silence and out to silence over durations drawn in seconds."
    example = "- fade: {fade_in: [0, 0.1], fade_out: [0, 0.1], shape: cosine}"
    params = (
        Param("fade_in", Range(0.0, None), [0.0, 0.1], "fade-in length in seconds"),
        Param("fade_out", Range(0.0, None), [0.0, 0.1], "fade-out length in seconds"),
        Param("shape", Choice(("linear", "cosine")), "linear", "the curve of the fade"),
    )

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        fade_in = round(uniform(rng, self.config["fade_in"]) * clip.rate)
        fade_out = round(uniform(rng, self.config["fade_out"]) * clip.rate)
        return {
            "fade_in": min(fade_in, clip.frames),
            "fade_out": min(fade_out, clip.frames),
            "shape": self.config["shape"],
        }

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        """``fade_in`` and ``fade_out`` are counts of frames."""
        envelope = np.ones(samples.shape[0])
        for count, reverse in ((params["fade_in"], False), (params["fade_out"], True)):
            if count <= 0:
                continue
            ramp = np.arange(count, dtype=np.float64) / count
            if params["shape"] == "cosine":
                ramp = 0.5 - 0.5 * np.cos(np.pi * ramp)
            if reverse:
                envelope[samples.shape[0] - count :] *= ramp[::-1]
            else:
                envelope[:count] *= ramp
        return samples * envelope[:, None]


__all__ = [
    "ClippingDistortion",
    "Fade",
    "Gain",
    "Normalize",
    "PolarityInversion",
    "db_to_amplitude",
]
