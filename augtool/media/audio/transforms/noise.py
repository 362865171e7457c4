"""Noise: coloured noise, or a file from a folder of noises, at a signal-to-noise ratio
measured on the clip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from augtool.errors import InputError, ParamError
from augtool.media.audio import codecs, dsp
from augtool.media.audio.transforms.base import (
    AudioTransform,
    Choices,
    Clip,
    Params,
    pick,
    register,
    seed,
)
from augtool.media.base import DecodeError
from augtool.media.params import Param, Range
from augtool.media.transform import uniform


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


@dataclass(frozen=True)
class Folder:
    """A folder, relative to the recipe's folder."""

    @property
    def form(self) -> str:
        return "a folder relative to the recipe's folder"

    @property
    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "minLength": 1}

    def __call__(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ParamError(f"expected {self.form}, got {value!r}")
        return value


def decoded_noise(resources: Any, name: str) -> codecs.Decoded:
    """Resource file ``name`` decoded; an :class:`InputError` naming it when it does not."""
    try:
        return codecs.decode(resources.read(name), codecs.FORMATS, None)
    except DecodeError as exc:
        raise InputError(f"{resources.root}/{name}: cannot decode the noise: {exc}") from None


def noise_track(resources: Any, name: str, rate: int) -> np.ndarray:
    """Resource file ``name`` as one mono track (channels averaged) at ``rate`` (resampled
    as ``output.sample_rate`` is), decoded once per :class:`~augtool.run.resources.Resources`."""

    def decode() -> np.ndarray:
        decoded = decoded_noise(resources, name)
        mono = decoded.samples.mean(axis=1, keepdims=True)
        if decoded.rate != rate:
            mono = dsp.resample(mono, max(1, round(mono.shape[0] * rate / decoded.rate)))
        return mono

    return resources.remember(("audio noise", name, rate), decode)  # type: ignore[no-any-return]


#: the files of a noise folder that are drawn from: its README or LICENSE is hashed into the
#: header with the rest, but never mixed in
NOISE_ENDINGS = (".wav", ".wave", ".flac", ".ogg")


def noise_files(names: list[str]) -> list[str]:
    """The audio files among a noise folder's ``names``, by their endings (any case)."""
    return [name for name in names if name.lower().endswith(NOISE_ENDINGS)]


def looped(track: np.ndarray, offset: int, frames: int) -> np.ndarray:
    """``frames`` of ``track`` from ``offset``, wrapping round to its start."""
    return track[(offset + np.arange(frames)) % track.shape[0]]


@register
class BackgroundNoise(AudioTransform):
    name = "background_noise"
    family = "noise"
    summary = (
        "Mix in a file drawn from a folder of noises (mono, at the clip's rate, looped from a "
        "drawn start) at a signal-to-noise ratio drawn in dB, measured on the clip; the file "
        "and start are recorded, the folder's files hashed into the manifest header."
    )
    example = "- background_noise: {folder: noise, snr_db: [5, 20]}"
    params = (
        Param("folder", Folder(), "noise", "the folder of WAV/FLAC/OGG noises"),
        Param("snr_db", Range(-20.0, 100.0), [5.0, 30.0], "the signal-to-noise ratio"),
    )
    resources = ("folder",)

    def check_resources(self, resources: Any) -> None:
        """Every noise decodes: one that does not is named before the run, not when a
        variant first draws it."""
        for name in self._names(resources):
            decoded_noise(resources, name)

    def _names(self, resources: Any) -> list[str]:
        names = noise_files(resources.names(self.config["folder"]))
        if not names:
            folder = f"{resources.root}/{self.config['folder']}"
            raise InputError(f"{folder}: no {', '.join(NOISE_ENDINGS)} file to mix in")
        return names

    def sample(self, rng: np.random.Generator, clip: Clip, resources: Any = None) -> Params:  # type: ignore[override]
        if resources is None:
            raise ParamError("background_noise: no resource folder was given to read from")
        names = self._names(resources)
        name = names[int(rng.integers(len(names)))]
        track = noise_track(resources, name, clip.rate)
        return {
            "file": name,
            "offset": int(rng.integers(track.shape[0])),
            "snr_db": uniform(rng, self.config["snr_db"]),
        }

    @staticmethod
    def apply(  # type: ignore[override]
        samples: np.ndarray, rate: int, params: Params, resources: Any = None
    ) -> np.ndarray:
        if resources is None:
            raise ParamError("background_noise: no resource folder was given to read from")
        track = noise_track(resources, params["file"], rate)
        noise = looped(track, int(params["offset"]), samples.shape[0])
        return mix_at_snr(samples, np.broadcast_to(noise, samples.shape), params["snr_db"])


__all__ = [
    "NOISE_ENDINGS",
    "AddNoise",
    "BackgroundNoise",
    "looped",
    "mix_at_snr",
    "noise_files",
    "noise_track",
]
