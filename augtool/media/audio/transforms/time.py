"""Time and pitch: shifts, stretches, speed, reversal, crops and padding.

``time_stretch`` and ``pitch_shift`` use the phase vocoder of
:func:`augtool.media.audio.dsp.time_stretch` (pitch: stretch by the frequency ratio, then
band-limited resampling back to the length); ``speed`` resamples alone, so tempo and pitch
move together.
"""

from __future__ import annotations

import numpy as np

from augtool.media.audio import dsp
from augtool.media.audio.transforms.base import AudioTransform, Clip, Params, register
from augtool.media.params import Bool, Choice, Float, Param, Range
from augtool.media.transform import integers, uniform


@register
class TimeShift(AudioTransform):
    name = "time_shift"
    family = "time"
    summary = (
        "Shift the clip in time by a fraction of its duration; what leaves one end comes "
        "back at the other (rollover) or is replaced by silence."
    )
    example = "- time_shift: {shift: [-0.2, 0.2], rollover: true}"
    params = (
        Param("shift", Range(-1.0, 1.0, around=0.0), [-0.5, 0.5], "fraction of the duration"),
        Param("rollover", Bool(), True, "wrap round (true) or pad with silence (false)"),
    )

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        frames = round(uniform(rng, self.config["shift"]) * clip.frames)
        return {"frames": int(frames), "rollover": self.config["rollover"]}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        shift = params["frames"]
        out = np.roll(samples, shift, axis=0)
        if not params["rollover"] and shift:
            if shift > 0:
                out[:shift] = 0.0
            else:
                out[shift:] = 0.0
        return out


@register
class TimeStretch(AudioTransform):
    name = "time_stretch"
    family = "time"
    summary = (
        "Play the clip faster (rate > 1) or slower with its pitch kept (phase vocoder); the "
        "duration becomes duration / rate."
    )
    example = "- time_stretch: {rate: [0.8, 1.25], p: 0.5}"
    params = (Param("rate", Range(0.25, 4.0), [0.8, 1.25], "the speed-up factor"),)

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        return {"rate": uniform(rng, self.config["rate"])}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        return dsp.time_stretch(samples, params["rate"], rate)


@register
class PitchShift(AudioTransform):
    name = "pitch_shift"
    family = "time"
    summary = (
        "Move every frequency by a number of semitones drawn from a range, keeping the "
        "duration (phase vocoder, then band-limited resampling)."
    )
    example = "- pitch_shift: {semitones: [-4, 4], p: 0.5}"
    params = (Param("semitones", Range(-24.0, 24.0, around=0.0), [-4.0, 4.0], "the shift"),)

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        return {"semitones": uniform(rng, self.config["semitones"])}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        return dsp.pitch_shift(samples, params["semitones"], rate)


@register
class Speed(AudioTransform):
    name = "speed"
    family = "time"
    summary = (
        "Play the clip faster or slower as a tape would (tempo and pitch together, by "
        "band-limited resampling); the duration becomes duration / factor."
    )
    example = "- speed: {factor: [0.9, 1.1]}"
    params = (Param("factor", Range(0.25, 4.0), [0.9, 1.1], "the speed factor"),)

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        return {"factor": uniform(rng, self.config["factor"])}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        return dsp.resample(samples, max(1, round(samples.shape[0] / params["factor"])))


@register
class Reverse(AudioTransform):
    name = "reverse"
    family = "time"
    summary = "Play the clip backwards."
    example = "- reverse: {p: 0.5}"
    default_p = 0.5

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        return {}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        return samples[::-1].copy()


@register
class RandomCrop(AudioTransform):
    name = "random_crop"
    family = "time"
    summary = "Cut a window of the given duration from a random place (a shorter clip is kept)."
    # Alone, random_crop is the audio one when its parameters say so (seconds), else the image
    # one (one recipe, one medium): the example puts an audio step beside it.
    example = "- pad_to: {seconds: 1.0}\n- random_crop: {seconds: 1.0}"
    params = (Param("seconds", Float(0.001, None), 1.0, "the window's duration"),)

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        frames = min(clip.frames, max(1, round(self.config["seconds"] * clip.rate)))
        return {"start": integers(rng, [0, clip.frames - frames]), "frames": frames}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        return samples[params["start"] : params["start"] + params["frames"]].copy()


@register
class PadTo(AudioTransform):
    name = "pad_to"
    family = "time"
    summary = "Pad a shorter clip to the given duration (a longer clip is kept as it is)."
    example = "- pad_to: {seconds: 1.0, position: random}"
    params = (
        Param("seconds", Float(0.001, None), 1.0, "the duration reached"),
        Param("mode", Choice(("silence", "wrap", "reflect")), "silence", "what fills the pad"),
        Param(
            "position",
            Choice(("end", "start", "center", "random")),
            "end",
            "where the pad goes: after, before, both sides equally, or split at random",
        ),
    )

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:
        missing = max(0, round(self.config["seconds"] * clip.rate) - clip.frames)
        position = self.config["position"]
        if position == "random":
            before = integers(rng, [0, missing])
        else:
            before = {"end": 0, "start": missing, "center": missing // 2}[position]
        return {"before": before, "after": missing - before, "mode": self.config["mode"]}

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:
        widths = ((params["before"], params["after"]), (0, 0))
        mode = {"silence": "constant", "wrap": "wrap", "reflect": "symmetric"}[params["mode"]]
        return np.pad(samples, widths, mode=mode)  # type: ignore[call-overload]


__all__ = ["PadTo", "PitchShift", "RandomCrop", "Reverse", "Speed", "TimeShift", "TimeStretch"]
