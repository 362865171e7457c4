"""The audio transforms: registry-wide properties (as for images), then measured ones: what
each step claims to do to a clip is measured on its output."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from audio_data import RATE, peak_frequency, tone, write_noises

from augtool.media.audio import dsp
from augtool.media.audio.transforms import REGISTRY, Clip, replay, run
from augtool.media.audio.transforms.base import AudioTransform
from augtool.run.resources import Resources, for_recipe

NAMES = sorted(REGISTRY)


def _extra(step: AudioTransform, root: Path) -> dict[str, Resources | None]:
    """The ``resources`` keyword of a step that reads files (its default ``noise`` folder
    written under ``root``); none for the others."""
    if not step.resources:
        return {}
    write_noises(root / step.config["folder"])
    return {"resources": for_recipe([step], root)}


def _clip(channels: int = 2, seconds: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(5)
    base = tone(330.0, seconds) + tone(1210.0, seconds, amp=0.2)
    return np.repeat(base, channels, axis=1) + 0.02 * rng.standard_normal((base.shape[0], 1))


def _db(ratio: float) -> float:
    return float(10 * np.log10(ratio))


@pytest.mark.parametrize("name", NAMES)
def test_every_transform_is_documented_and_its_defaults_are_valid(name: str) -> None:
    cls = REGISTRY[name]
    assert issubclass(cls, AudioTransform)
    assert cls.summary.endswith(".") and cls.family and f"- {name}:" in cls.example
    assert all(param.help for param in cls.all_params())
    assert cls().p == cls.default_p


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("channels", [1, 2])
def test_every_transform_samples_json_applies_purely_and_replays(
    name: str, channels: int, tmp_path: Path
) -> None:
    step = REGISTRY[name](p=1.0)
    extra = _extra(step, tmp_path)
    samples = _clip(channels)
    before = samples.copy()
    clip = Clip(samples.shape[0], channels, RATE)
    params = step.sample(np.random.default_rng(3), clip, **extra)
    assert json.loads(json.dumps(params)) == params  # plain JSON, nothing numpy
    out = step.apply(samples, RATE, params, **extra)
    np.testing.assert_array_equal(samples, before)  # the input is never edited
    assert out is not samples and out.dtype == np.float64
    assert out.ndim == 2 and out.shape[1] == channels and np.isfinite(out).all()
    np.testing.assert_array_equal(step.apply(samples, RATE, params, **extra), out)
    assert pickle.loads(pickle.dumps(step)).config == step.config


@pytest.mark.parametrize("name", NAMES)
def test_running_a_pipeline_equals_replaying_its_records(name: str, tmp_path: Path) -> None:
    steps = [REGISTRY[name](p=1.0), REGISTRY["gain"](gain_db=[-3, 3], p=0.5)]
    resources = _extra(steps[0], tmp_path).get("resources")
    samples = _clip()
    out, records = run(steps, samples, RATE, np.random.default_rng(11), resources)
    records = json.loads(json.dumps(records))
    np.testing.assert_array_equal(replay(records, samples, RATE, resources), out)
    assert records[-1]["name"] == "clip"


def test_clipping_is_counted_in_the_last_record() -> None:
    loud = [REGISTRY["gain"](gain_db=[12, 12])]
    samples = tone(440.0, 0.1, amp=0.5)
    _, records = run(loud, samples, RATE, np.random.default_rng(0))
    expected = int(np.count_nonzero(np.abs(samples * 10 ** (12 / 20)) > 1.0))
    assert expected > 0
    assert records[-1] == {
        "name": "clip",
        "fired": True,
        "params": {"samples": expected, "peak": pytest.approx(0.5 * 10 ** (12 / 20), abs=1e-3)},
    }
    _, quiet = run([REGISTRY["gain"](gain_db=[-1, -1])], samples, RATE, np.random.default_rng(0))
    assert quiet[-1] == {"name": "clip", "fired": False, "params": {}}


@pytest.mark.parametrize("color", ["white", "pink", "brown"])
@pytest.mark.parametrize("snr", [0.0, 10.0, 30.0])
def test_add_noise_hits_its_snr_within_half_a_db(color: str, snr: float) -> None:
    samples = _clip(1)
    step = REGISTRY["add_noise"](snr_db=[snr, snr], color=color)
    params = step.sample(np.random.default_rng(2), Clip(samples.shape[0], 1, RATE))
    out = step.apply(samples, RATE, params)
    measured = _db(dsp.power(samples) / dsp.power(out - samples))
    assert abs(measured - snr) < 0.5


def test_add_noise_colours_have_their_slopes() -> None:
    """Pink noise loses about 3 dB per octave, brown about 6, white none."""
    for color, slope in (("white", 0.0), ("pink", -3.0), ("brown", -6.0)):
        noise = dsp.coloured_noise(1, 2**16, 1, color)[:, 0]
        spectrum = np.abs(np.fft.rfft(noise)) ** 2
        bands = [spectrum[lo : 2 * lo].mean() for lo in (512, 1024, 2048, 4096)]
        per_octave = np.mean(np.diff([_db(b) for b in bands]))
        assert abs(per_octave - slope) < 0.6, (color, per_octave)


@pytest.mark.parametrize("gain_db", [-12.0, -3.5, 0.0, 6.0])
def test_gain_changes_the_level_by_its_db(gain_db: float) -> None:
    samples = _clip(1)
    step = REGISTRY["gain"](gain_db=[gain_db, gain_db])
    out = step.apply(samples, RATE, step.sample(np.random.default_rng(0), Clip(1, 1, RATE)))
    assert abs(_db(dsp.power(out) / dsp.power(samples)) - gain_db) < 1e-9


@pytest.mark.parametrize("semitones", [-5.0, -1.0, 2.5, 7.0])
def test_pitch_shift_moves_a_pure_tone_by_its_semitones(semitones: float) -> None:
    samples = tone(440.0, 1.0)
    out = REGISTRY["pitch_shift"].apply(samples, RATE, {"semitones": semitones})
    assert out.shape == samples.shape
    expected = 440.0 * 2 ** (semitones / 12)
    assert abs(peak_frequency(out, RATE) / expected - 1) < 0.01


@pytest.mark.parametrize("rate", [0.8, 1.0, 1.25, 1.5])
def test_time_stretch_changes_duration_by_its_rate_and_keeps_the_pitch(rate: float) -> None:
    samples = tone(523.25, 1.0)
    out = REGISTRY["time_stretch"].apply(samples, RATE, {"rate": rate})
    assert out.shape[0] == round(samples.shape[0] / rate)
    assert abs(peak_frequency(out, RATE) / 523.25 - 1) < 0.01


def test_speed_changes_duration_and_pitch_together() -> None:
    samples = tone(440.0, 1.0)
    out = REGISTRY["speed"].apply(samples, RATE, {"factor": 1.1})
    assert out.shape[0] == round(RATE / 1.1)
    assert abs(peak_frequency(out, RATE) / (440.0 * 1.1) - 1) < 0.01


def _gain_db(name: str, params: dict[str, float], freq: float) -> float:
    samples = tone(freq, 1.0)
    out = REGISTRY[name].apply(samples, RATE, params)
    middle = slice(RATE // 4, 3 * RATE // 4)  # away from the clip's ends
    return _db(dsp.power(out[middle]) / dsp.power(samples[middle]))


@pytest.mark.parametrize("order", [2, 4, 8])
def test_low_and_high_pass_attenuate_as_butterworth_filters_of_their_order(order: int) -> None:
    """-3 dB at the cutoff, 6 dB per octave per order beyond it, flat well inside."""
    low = {"cutoff_hz": 1000.0, "order": order}
    assert abs(_gain_db("low_pass", low, 1000.0) + 3.01) < 0.1
    assert abs(_gain_db("low_pass", low, 2000.0) - _db(1 / (1 + 2 ** (2 * order)))) < 0.1
    assert _gain_db("low_pass", low, 2000.0) < -6 * order + 0.5
    assert abs(_gain_db("low_pass", low, 250.0)) < 0.1
    high = {"cutoff_hz": 1000.0, "order": order}
    assert abs(_gain_db("high_pass", high, 1000.0) + 3.01) < 0.1
    assert _gain_db("high_pass", high, 500.0) < -6 * order + 0.5
    assert abs(_gain_db("high_pass", high, 4000.0)) < 0.1


def test_band_pass_keeps_its_band_and_attenuates_either_side() -> None:
    params = {"low_hz": 500.0, "high_hz": 2000.0, "order": 4}
    assert abs(_gain_db("band_pass", params, 1000.0)) < 0.5
    assert _gain_db("band_pass", params, 200.0) < -24
    assert _gain_db("band_pass", params, 5000.0) < -24


def test_frequency_mask_removes_its_band_only() -> None:
    params = {"low_hz": 800.0, "high_hz": 1200.0}
    assert _gain_db("frequency_mask", params, 1000.0) < -40
    assert abs(_gain_db("frequency_mask", params, 3000.0)) < 0.1


def test_time_crop_pad_and_shift_move_samples_as_recorded() -> None:
    samples = np.arange(10, dtype=np.float64)[:, None] / 10
    shift = REGISTRY["time_shift"].apply
    np.testing.assert_array_equal(
        shift(samples, RATE, {"frames": 3, "rollover": True})[:, 0], np.roll(samples[:, 0], 3)
    )
    padded = shift(samples, RATE, {"frames": -3, "rollover": False})[:, 0]
    np.testing.assert_array_equal(padded, [*samples[3:, 0], 0, 0, 0])
    crop = REGISTRY["random_crop"].apply(samples, RATE, {"start": 2, "frames": 4})
    np.testing.assert_array_equal(crop[:, 0], samples[2:6, 0])
    pad = REGISTRY["pad_to"].apply(samples, RATE, {"before": 2, "after": 1, "mode": "silence"})
    np.testing.assert_array_equal(pad[:, 0], [0, 0, *samples[:, 0], 0])
    step = REGISTRY["pad_to"](seconds=1.0, position="random")
    params = step.sample(np.random.default_rng(0), Clip(RATE // 2, 1, RATE))
    assert params["before"] + params["after"] == RATE // 2


def test_normalize_reaches_its_peak_or_rms_level() -> None:
    samples = _clip(1)
    peak = REGISTRY["normalize"].apply(samples, RATE, {"mode": "peak", "target_db": -6.0})
    assert abs(20 * np.log10(np.max(np.abs(peak))) + 6.0) < 1e-9
    rms = REGISTRY["normalize"].apply(samples, RATE, {"mode": "rms", "target_db": -20.0})
    assert abs(_db(dsp.power(rms)) + 20.0) < 1e-9


@pytest.mark.parametrize(("frames", "frames_out"), [(16000, 15011), (16000, 17250), (997, 3001)])
def test_resampling_works_at_quick_fft_lengths_near_the_ratio(frames: int, frames_out: int) -> None:
    """A resampled length with a large prime factor made numpy's FFT tens of times slower;
    the padded lengths are products of 2, 3, 5, 7, 11 and keep the ratio within 0.1 %."""
    n_in, n_out = dsp._resample_lengths(frames, frames_out)
    for n in (n_in, n_out):
        for prime in dsp.FFT_PRIMES:
            while n % prime == 0:
                n //= prime
        assert n == 1
    assert n_in >= frames + 64
    assert abs(n_out / n_in / (frames_out / frames) - 1) < 1e-3
    out = REGISTRY["speed"].apply(tone(440.0, 1.0), RATE, {"factor": frames / frames_out})
    assert out.shape[0] == round(RATE * frames_out / frames)


@pytest.mark.parametrize("count", [1, 2, 7, 64])
def test_overlap_add_rounds_as_a_loop_over_the_frames_does(count: int) -> None:
    """The vectorised overlap-add adds each output's parts in frame order, so its floats are
    the plain loop's bit for bit (the phase vocoder's bytes do not depend on the rewrite)."""
    rng = np.random.default_rng(count)
    frames = rng.standard_normal((2, count, 1024)) * 10.0 ** rng.uniform(-8, 3, (2, count, 1))
    hop = 256
    looped = np.zeros((2, 1024 + hop * (count - 1)))
    for i in range(count):
        looped[:, i * hop : i * hop + 1024] += frames[:, i]
    assert dsp.overlap_add(frames, hop).tobytes() == looped.tobytes()


@pytest.mark.parametrize("silence", [0.0, 0.25])
def test_time_stretch_at_rate_one_gives_the_clip_back(silence: float) -> None:
    """The vocoder's phases are the input's own, also where a sound starts after digital
    silence (whose bins have no phase), and they do not drift over a long clip."""
    seconds = 30.0
    samples = tone(440.0, seconds) + tone(1250.0, seconds, amp=0.2)
    samples[: round(silence * RATE)] = 0.0
    stereo = np.concatenate([samples, -0.5 * samples], axis=1)
    out = REGISTRY["time_stretch"].apply(stereo, RATE, {"rate": 1.0})
    assert np.abs(out - stereo).max() < 1e-9


def _level_db(samples: np.ndarray, seconds: float) -> float:
    """The mean power of ``samples`` (1-D) in the 10 ms round ``seconds``, in dB."""
    at = round(seconds * RATE)
    return _db(float(np.mean(samples[at - 80 : at + 80] ** 2)))


def test_room_decays_by_60_db_over_its_rt60_and_mixes_at_its_wet_share() -> None:
    """The response to a click: its energy falls 30 dB over half its rt60 (60 dB over rt60),
    measured between 10 ms windows; wet 0.5 is half the click and half the reverberation."""
    click = np.zeros((RATE, 1))
    click[0] = 1.0
    for rt60 in (0.2, 0.5):
        params = {"rt60": rt60, "wet": 1.0, "seed": 3}
        response = REGISTRY["room"].apply(click, RATE, params)[:, 0]
        assert abs(_level_db(response, 0.02) - _level_db(response, 0.02 + rt60 / 2) - 30) < 2
        half = REGISTRY["room"].apply(click, RATE, {**params, "wet": 0.5})[:, 0]
        np.testing.assert_allclose(half, 0.5 * response + 0.5 * click[:, 0], atol=1e-15)


@pytest.mark.parametrize("percentile", [5.0, 20.0, 40.0])
def test_clipping_distortion_clips_its_percentage_of_samples(percentile: float) -> None:
    samples = np.random.default_rng(0).uniform(-1, 1, (10_000, 2))
    out = REGISTRY["clipping_distortion"].apply(samples, RATE, {"percentile": percentile})
    clipped = out != samples
    assert abs(100 * np.mean(clipped) - percentile) < 0.05
    levels = np.abs(out[clipped])
    assert levels.max() - levels.min() < 1e-12  # all cut to one level, above every kept one
    assert levels.min() >= np.abs(samples[~clipped]).max()


def test_fade_mask_reverse_and_polarity_change_the_samples_as_recorded() -> None:
    samples = _clip(2)
    frames = samples.shape[0]
    params = {"fade_in": 800, "fade_out": 1600, "shape": "linear"}
    faded = REGISTRY["fade"].apply(samples, RATE, params)
    ramp_in = np.arange(800) / 800
    ramp_out = (np.arange(1600) / 1600)[::-1]
    np.testing.assert_allclose(faded[:800], samples[:800] * ramp_in[:, None], atol=1e-15)
    tail = samples[frames - 1600 :] * ramp_out[:, None]
    np.testing.assert_allclose(faded[frames - 1600 :], tail, atol=1e-15)
    np.testing.assert_array_equal(faded[800 : frames - 1600], samples[800 : frames - 1600])
    masked = REGISTRY["time_mask"].apply(samples, RATE, {"start": 1000, "frames": 500})
    assert not masked[1000:1500].any()
    outside = np.r_[0:1000, 1500:frames]
    np.testing.assert_array_equal(masked[outside], samples[outside])
    np.testing.assert_array_equal(REGISTRY["reverse"].apply(samples, RATE, {}), samples[::-1])
    flipped = REGISTRY["polarity_inversion"].apply(samples, RATE, {})
    np.testing.assert_array_equal(flipped, -samples)


def test_transforms_json_names_each_transform_s_medium() -> None:
    """``augtool transforms --json`` lists the audio transforms under their medium, the audio
    random_crop beside the image one (the name two media share)."""
    from augtool import docs

    listed = docs.as_json()
    assert all(item["medium"] in ("image", "audio", "text") for item in listed)
    assert {item["name"] for item in listed if item["medium"] == "audio"} == set(NAMES)
    crops = docs.as_json("random_crop")
    assert [(c["medium"], [p["name"] for p in c["params"]]) for c in crops] == [
        ("image", ["size", "fill", "p"]),
        ("audio", ["seconds", "p"]),
    ]
