"""Filters, room and SpecAugment-style masks.

The filters are zero-phase Butterworth magnitude responses of the stated ``order`` (default 4:
-3 dB at the cutoff, then 24 dB per octave), applied over the clip's spectrum with numpy
(:func:`augtool.media.audio.dsp.filtered`); no scipy is needed.
"""

from __future__ import annotations

import numpy as np

from augtool.media.audio import dsp
from augtool.media.audio.transforms.base import AudioTransform, Clip, Params, register, seed
from augtool.media.params import Int, Param, Range
from augtool.media.transform import integers, uniform

_ORDER = Param("order", Int(1, 8), 4, "Butterworth order (6 dB per octave each)")


def _below_nyquist(hz: float, rate: int) -> float:
    """A cutoff kept under the clip's Nyquist frequency (a 8 kHz clip has no 10 kHz)."""
    return float(min(hz, 0.49 * rate))


@register
class LowPass(AudioTransform):
    name = "low_pass"
    family = "filter"
    summary = "Keep the frequencies below a cutoff drawn in Hz (Butterworth, zero-phase)."
    example = "- low_pass: {cutoff_hz: [1500, 7500], order: 4}"
    params = (Param("cutoff_hz", Range(1.0, None), [150.0, 7500.0], "the -3 dB point"), _ORDER)

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        cutoff = _below_nyquist(uniform(rng, self.config["cutoff_hz"]), clip.rate)
        return {"cutoff_hz": cutoff, "order": int(self.config["order"])}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        return dsp.filtered(samples, rate, None, params["cutoff_hz"], params["order"])


@register
class HighPass(AudioTransform):
    name = "high_pass"
    family = "filter"
    summary = "Keep the frequencies above a cutoff drawn in Hz (Butterworth, zero-phase)."
    example = "- high_pass: {cutoff_hz: [20, 400]}"
    params = (Param("cutoff_hz", Range(1.0, None), [20.0, 2400.0], "the -3 dB point"), _ORDER)

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        cutoff = _below_nyquist(uniform(rng, self.config["cutoff_hz"]), clip.rate)
        return {"cutoff_hz": cutoff, "order": int(self.config["order"])}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        return dsp.filtered(samples, rate, params["cutoff_hz"], None, params["order"])


@register
class BandPass(AudioTransform):
    name = "band_pass"
    family = "filter"
    summary = (
        "Keep a band around a centre frequency drawn in Hz, its width a fraction of the "
        "centre (a high-pass and a low-pass, Butterworth, zero-phase)."
    )
    example = "- band_pass: {center_hz: [200, 4000], bandwidth_fraction: [0.5, 1.99]}"
    params = (
        Param("center_hz", Range(1.0, None), [200.0, 4000.0], "the band's centre"),
        Param("bandwidth_fraction", Range(0.01, 1.99), [0.5, 1.99], "width / centre"),
        _ORDER,
    )

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        centre = uniform(rng, self.config["center_hz"])
        width = uniform(rng, self.config["bandwidth_fraction"]) * centre
        high = _below_nyquist(centre + width / 2, clip.rate)
        low = min(centre - width / 2, high)
        return {"low_hz": float(low), "high_hz": high, "order": int(self.config["order"])}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        order = params["order"]
        return dsp.filtered(samples, rate, params["low_hz"], params["high_hz"], order)


@register
class Room(AudioTransform):
    name = "room"
    family = "filter"
    summary = (
        "Add a room's reverberation: a synthetic impulse response (exponentially decaying "
        "noise reaching -60 dB after rt60 seconds) mixed in at a wet fraction."
    )
    example = "- room: {rt60: [0.1, 0.5], wet: [0.1, 0.4], p: 0.3}"
    params = (
        Param("rt60", Range(0.01, 3.0), [0.1, 0.5], "seconds for the reverb to fall 60 dB"),
        Param("wet", Range(0.0, 1.0), [0.1, 0.4], "the reverberated share of the output"),
    )

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        rt60 = uniform(rng, self.config["rt60"])
        return {"rt60": rt60, "wet": uniform(rng, self.config["wet"]), "seed": seed(rng)}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        length = max(1, round(params["rt60"] * rate))
        t = np.arange(length) / rate
        noise = np.random.Generator(np.random.PCG64(params["seed"])).standard_normal(length)
        impulse = noise * 10.0 ** (-3.0 * t / params["rt60"])  # -60 dB at rt60
        impulse[0] = 1.0  # the direct sound
        impulse /= np.sqrt(np.sum(impulse**2))  # unit energy: the level stays about the same
        wet = dsp.convolve(samples, impulse)
        return (1.0 - params["wet"]) * samples + params["wet"] * wet


@register
class TimeMask(AudioTransform):
    name = "time_mask"
    family = "masking"
    summary = "Silence a span whose length is a fraction of the clip (SpecAugment's time mask)."
    example = "- time_mask: {fraction: [0.0, 0.15]}"
    params = (Param("fraction", Range(0.0, 1.0), [0.0, 0.15], "the span / the duration"),)

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        frames = round(uniform(rng, self.config["fraction"]) * clip.frames)
        return {"start": integers(rng, [0, clip.frames - frames]), "frames": frames}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        out = samples.copy()
        out[params["start"] : params["start"] + params["frames"]] = 0.0
        return out


@register
class FrequencyMask(AudioTransform):
    name = "frequency_mask"
    family = "masking"
    summary = (
        "Remove a band of frequencies whose width is a fraction of the Nyquist frequency, over "
        "the whole clip's spectrum (SpecAugment's frequency mask, applied to the waveform)."
    )
    example = "- frequency_mask: {fraction: [0.03, 0.25]}"
    params = (Param("fraction", Range(0.0, 1.0), [0.03, 0.25], "band width / Nyquist"),)

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        nyquist = clip.rate / 2
        width = uniform(rng, self.config["fraction"]) * nyquist
        low = uniform(rng, [0.0, nyquist - width])
        return {"low_hz": low, "high_hz": float(low + width)}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        return dsp.band_stop(samples, rate, params["low_hz"], params["high_hz"])


__all__ = ["BandPass", "FrequencyMask", "HighPass", "LowPass", "Room", "TimeMask"]
