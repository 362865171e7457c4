"""Audio datasets through the real engine, manifest and validate: the same code as images."""

from __future__ import annotations

import io
import json
import struct
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile
from audio_data import RATE, make_speech_like, pcm16_wav, tone
from conftest import invoke

import augtool

RECIPE = """\
version: 1
seed: 7
variants: 2
input: {layout: imagefolder}
pipeline:
  - gain: {gain_db: [-6, 6]}
  - one_of:
      transforms:
        - add_noise: {snr_db: [10, 30], color: [white, pink]}
        - pitch_shift: {semitones: [-2, 2]}
        - time_stretch: {rate: [0.9, 1.1]}
  - low_pass: {cutoff_hz: [2000, 6000], p: 0.5}
  - time_mask: {fraction: [0, 0.1], p: 0.5}
"""


def _recipe(tmp_path: Path, text: str = RECIPE) -> Path:
    path = tmp_path / "audio.yaml"
    path.write_text(text)
    return path


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def test_an_audio_recipe_expands_class_folders_and_validates(tmp_path: Path) -> None:
    data = make_speech_like(tmp_path / "data")
    out = tmp_path / "out"
    recipe = augtool.load_recipe(_recipe(tmp_path))
    assert recipe.medium == "audio"
    summary = augtool.expand(_recipe(tmp_path), data, out, jobs=1)
    assert not summary.skipped
    lines = _lines(out)
    assert lines[0]["libraries"]["numpy"] == np.__version__
    augmented = [r for r in lines if r.get("role") == "augmented"]
    assert len(augmented) == 6 * 2  # six train clips, two variants each; val copied
    assert {r["label"] for r in augmented} == {"low", "mid", "high"}
    assert all(r["split"] == "train" for r in augmented)
    for record in augmented:
        written = (out / record["path"]).read_bytes()
        with wave.open(io.BytesIO(written)) as w:  # the standard library reads it
            assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (RATE, 2, 1)
            assert w.getnframes() == record["image_size"][0]
        samples, rate = soundfile.read(io.BytesIO(written), always_2d=True)
        assert rate == RATE and samples.shape == tuple(record["image_size"])
        assert record["encoder"] == {"format": "WAV", "subtype": "PCM_16", "sample_rate": RATE}
        assert record["steps"][-1]["name"] == "clip"
    report = augtool.validate_manifest(out / "manifest.jsonl", source=data, recompute="all")
    assert report.ok, report.problems


def test_validate_recompute_catches_an_edited_clip(tmp_path: Path) -> None:
    data = make_speech_like(tmp_path / "data")
    out = tmp_path / "out"
    augtool.expand(_recipe(tmp_path), data, out, jobs=1)
    record = next(r for r in _lines(out) if r.get("role") == "augmented")
    target = out / record["path"]
    edited = bytearray(target.read_bytes())
    edited[-2:] = bytes([edited[-2] ^ 1, edited[-1]])
    target.write_bytes(bytes(edited))
    report = augtool.validate_manifest(out / "manifest.jsonl", source=data, recompute="all")
    assert not report.ok
    assert any(record["path"] in problem for problem in map(str, report.problems))


@pytest.mark.slow
def test_jobs_and_backends_write_the_same_bytes(tmp_path: Path) -> None:
    data = make_speech_like(tmp_path / "data")
    made = []
    for backend, jobs in (("sequential", 1), ("loky", 2), ("threading", 2)):
        out = tmp_path / backend
        augtool.expand(_recipe(tmp_path), data, out, jobs=jobs, backend=backend)
        made.append(((out / "SHA256SUMS").read_text(), (out / "manifest.jsonl").read_bytes()))
    assert made[0] == made[1] == made[2]


def test_bad_clips_are_skipped_with_a_reason_and_nothing_else_is_lost(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    good = pcm16_wav(tone(440.0, 0.5))
    (data / "good.wav").write_bytes(good)
    (data / "truncated.wav").write_bytes(good[: len(good) // 2])
    (data / "empty.wav").write_bytes(pcm16_wav(np.zeros((0, 1))))
    (data / "long.wav").write_bytes(pcm16_wav(tone(440.0, 3.0)))
    for subtype in ("ULAW", "IMA_ADPCM"):
        encoded = io.BytesIO()
        soundfile.write(encoded, tone(440.0, 0.2), RATE, subtype=subtype, format="WAV")
        (data / f"{subtype.lower()}.wav").write_bytes(encoded.getvalue())
    at = good.index(b"data")
    (data / "no_fmt.wav").write_bytes(
        b"RIFF" + struct.pack("<I", len(good) - at + 4) + b"WAVE" + good[at:]
    )
    wrong = bytearray(good)
    wrong[at + 4 : at + 8] = struct.pack("<I", len(good))  # more than follow
    (data / "wrong_size.wav").write_bytes(bytes(wrong))
    recipe = _recipe(
        tmp_path,
        "version: 1\nvariants: 1\ninput: {layout: flat, max_seconds: 2}\npipeline:\n  - gain: {}\n",
    )
    summary = augtool.expand(recipe, data, tmp_path / "out", jobs=1)
    reasons = {s["path"]: s["reason"] for s in summary.skipped}
    expected = {
        "truncated.wav": "truncated WAV",
        "empty.wav": "zero-length",
        "long.wav": "longer than input.max_seconds 2",
        "ulaw.wav": "μ-law",
        "ima_adpcm.wav": "ADPCM",
        "no_fmt.wav": "malformed WAV: no 'fmt ' chunk",
        "wrong_size.wav": "wrong WAV data size",
    }
    assert set(reasons) == set(expected)
    for name, reason in expected.items():
        assert reason in reasons[name] and "\n" not in reasons[name]
    assert (tmp_path / "out" / "good__v00.wav").exists()


def test_output_format_subtype_and_rate_follow_the_recipe(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.wav").write_bytes(pcm16_wav(tone(440.0, 0.5)))
    recipe = _recipe(
        tmp_path,
        "version: 1\nvariants: 1\ninput: {layout: flat}\n"
        "output: {format: flac, subtype: PCM_24, sample_rate: 8000}\n"
        "pipeline:\n  - gain: {gain_db: 20}\n",
    )
    out = tmp_path / "out"
    augtool.expand(recipe, data, out, jobs=1)
    info = soundfile.info(str(out / "a__v00.flac"))
    assert (info.format, info.subtype, info.samplerate) == ("FLAC", "PCM_24", 8000)
    record = next(r for r in _lines(out) if r.get("role") == "augmented")
    # 20 dB on a 0.5 peak: about half the samples go past full scale, and the record says so
    assert record["steps"][-1]["fired"] and record["steps"][-1]["params"]["samples"] > 1000
    report = augtool.validate_manifest(out / "manifest.jsonl", source=data, recompute="all")
    assert report.ok, report.problems


def test_an_8_bit_source_expands_to_flac_and_what_flac_cannot_hold_is_refused(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    soundfile.write(str(data / "a.wav"), tone(440.0, 0.3), RATE, subtype="PCM_U8")
    recipe = _recipe(
        tmp_path,
        "version: 1\nvariants: 1\ninput: {layout: flat}\noutput: {format: flac}\n"
        "pipeline:\n  - gain: {gain_db: [-3, -3]}\n",
    )
    out = tmp_path / "out"
    summary = augtool.expand(recipe, data, out, jobs=1)
    assert not summary.skipped
    assert soundfile.info(str(out / "a__v00.flac")).subtype == "PCM_S8"
    report = augtool.validate_manifest(out / "manifest.jsonl", source=data, recompute="all")
    assert report.ok, report.problems
    for subtype in ("PCM_U8", "PCM_32", "FLOAT"):
        bad = _recipe(
            tmp_path,
            f"version: 1\noutput: {{format: flac, subtype: {subtype}}}\n"
            "pipeline:\n  - gain: {}\n",
        )
        with pytest.raises(augtool.RecipeError, match=f"FLAC cannot hold {subtype}"):
            augtool.load_recipe(bad)
    wav = _recipe(tmp_path, "version: 1\noutput: {format: wav, subtype: PCM_S8}\n"
                  "pipeline:\n  - gain: {}\n")  # fmt: skip
    with pytest.raises(augtool.RecipeError, match="WAV cannot hold PCM_S8"):
        augtool.load_recipe(wav)
    tagged = _recipe(tmp_path, "version: 1\noutput: {format: flac, provenance_tag: true}\n"
                     "pipeline:\n  - gain: {}\n")  # fmt: skip
    with pytest.raises(augtool.RecipeError, match="a FLAC output cannot carry the tag"):
        augtool.load_recipe(tagged)


def test_a_run_that_clips_says_so_in_one_warning(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name, amp in (("loud", 0.5), ("quiet", 0.05)):
        (data / f"{name}.wav").write_bytes(pcm16_wav(tone(440.0, 0.3, amp=amp)))
    recipe = _recipe(
        tmp_path,
        "version: 1\nvariants: 2\ninput: {layout: flat}\n"
        "pipeline:\n  - gain: {gain_db: [12, 12]}\n",
    )
    summary = augtool.expand(recipe, data, tmp_path / "out", jobs=1)
    clipped = [w for w in summary.warnings if "clipped at full scale" in w]
    peak = 0.5 * 10 ** (12 / 20)
    assert clipped == [
        f"2 of the 4 augmented outputs were clipped at full scale (peak {peak:.3g}, "
        f"{20 * np.log10(peak):+.1f} dBFS); their 'clip' records count the samples cut: "
        "lower the gain or add a normalize step"
    ]
    quiet = _recipe(tmp_path, recipe.read_text().replace("[12, 12]", "[3, 3]"))
    calm = augtool.expand(quiet, data, tmp_path / "calm", jobs=1)
    assert not [w for w in calm.warnings if "clipped" in w]


def test_audio_recipe_fields_are_checked_by_name(tmp_path: Path) -> None:
    bad = _recipe(tmp_path, "version: 1\noutput: {format: jpeg}\npipeline:\n  - gain: {}\n")
    with pytest.raises(augtool.RecipeError, match="same, wav, flac"):
        augtool.load_recipe(bad)
    image_field = _recipe(tmp_path, "version: 1\noutput: {quality: 90}\npipeline:\n  - gain: {}\n")
    with pytest.raises(augtool.RecipeError, match="quality"):
        augtool.load_recipe(image_field)


def test_a_name_two_media_share_is_built_as_the_recipes_medium(tmp_path: Path) -> None:
    audio = _recipe(
        tmp_path,
        "version: 1\npipeline:\n  - gain: {}\n  - one_of:\n      transforms:\n"
        "        - random_crop: {seconds: 0.5}\n",
    )
    loaded = augtool.load_recipe(audio)
    assert loaded.medium == "audio"
    crop = loaded.steps[1].children[0]
    assert crop.config == {"seconds": 0.5, "p": 1.0}
    image = _recipe(tmp_path, "version: 1\npipeline:\n  - random_crop: {size: [8, 8]}\n")
    assert augtool.load_recipe(image).medium == "image"
    # alone, its parameters say whose it is; with none, it is the image one
    alone = _recipe(tmp_path, "version: 1\npipeline:\n  - random_crop: {seconds: 0.5, p: 1}\n")
    loaded = augtool.load_recipe(alone)
    assert loaded.medium == "audio" and loaded.steps[0].config == {"seconds": 0.5, "p": 1.0}
    bare = _recipe(tmp_path, "version: 1\npipeline:\n  - random_crop: {p: 1}\n")
    assert augtool.load_recipe(bare).medium == "image"


def test_a_rerun_keeps_every_output_and_a_changed_clip_is_redone(tmp_path: Path) -> None:
    data = make_speech_like(tmp_path / "data")
    out = tmp_path / "out"
    augtool.expand(_recipe(tmp_path), data, out, jobs=1)
    first = (out / "manifest.jsonl").read_bytes()
    again = augtool.expand(_recipe(tmp_path), data, out, jobs=1)
    assert again.activity["made"] == 0 and (out / "manifest.jsonl").read_bytes() == first
    changed = data / "train" / "low" / "low_0.wav"
    changed.write_bytes(pcm16_wav(tone(250.0, 0.5)))
    third = augtool.expand(_recipe(tmp_path), data, out, jobs=1)
    assert third.activity["made"] == 3  # that source: its copy and its two variants
    report = augtool.validate_manifest(out / "manifest.jsonl", source=data, recompute="all")
    assert report.ok, report.problems


def test_flac_and_ogg_sources_expand_to_flac_and_validate(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    clip = np.repeat(tone(440.0, 0.5), 2, axis=1)  # stereo
    soundfile.write(str(data / "a.flac"), clip, RATE, subtype="PCM_24")
    soundfile.write(str(data / "b.ogg"), clip, RATE, subtype="VORBIS")
    recipe = _recipe(tmp_path, "version: 1\nvariants: 2\ninput: {layout: flat}\n"
                     "pipeline:\n  - gain: {}\n")  # fmt: skip
    made = []
    for run in ("one", "two"):
        out = tmp_path / run
        augtool.expand(recipe, data, out, jobs=1)
        made.append((out / "SHA256SUMS").read_text())
        report = augtool.validate_manifest(out / "manifest.jsonl", source=data, recompute="all")
        assert report.ok, report.problems
    assert made[0] == made[1]  # FLAC bytes are the same run after run
    out = tmp_path / "one"
    assert soundfile.info(str(out / "a__v00.flac")).subtype == "PCM_24"
    b = soundfile.info(str(out / "b__v00.flac"))
    assert (b.format, b.subtype, b.channels) == ("FLAC", "PCM_24", 2)


def test_without_soundfile_flac_is_refused_early_and_skipped_with_the_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "soundfile", None)  # import soundfile fails
    flac = _recipe(tmp_path, "version: 1\noutput: {format: flac}\npipeline:\n  - gain: {}\n")
    with pytest.raises(augtool.RecipeError, match=r"augtool\[audio\]"):
        augtool.load_recipe(flac)
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.wav").write_bytes(pcm16_wav(tone(440.0, 0.2)))
    (data / "b.flac").write_bytes(b"fLaC" + bytes(60))
    recipe = _recipe(tmp_path, "version: 1\nvariants: 1\ninput: {layout: flat}\n"
                     "pipeline:\n  - gain: {}\n")  # fmt: skip
    summary = augtool.expand(recipe, data, tmp_path / "out", jobs=1)
    assert [(s["path"], s["reason"]) for s in summary.skipped] == [
        ("b.flac", "FLAC needs soundfile, not installed (pip install 'augtool[audio]')")
    ]


def _listed(root: Path, table: str) -> Path:
    """make_speech_like's clips without class folders, their classes in ``table`` (CSV or
    JSONL, Hugging Face's audiofolder tables) only."""
    data = make_speech_like(root)
    rows = []
    for clip in sorted(data.rglob("*.wav")):
        split, label, name = clip.relative_to(data).parts
        clip.rename(data / split / name)
        rows.append({"file_name": f"{split}/{name}", "label": label})
    for folder in sorted(p for p in data.glob("*/*") if p.is_dir()):
        folder.rmdir()
    if table == "metadata.csv":
        text = "file_name,label\n" + "".join(f"{r['file_name']},{r['label']}\n" for r in rows)
    else:
        text = "".join(json.dumps(r) + "\n" for r in rows)
    (data / table).write_text(text)
    return data


@pytest.mark.parametrize("table", ["metadata.csv", "metadata.jsonl"])
def test_a_clip_list_with_labels_expands_and_rederives(tmp_path: Path, table: str) -> None:
    data = _listed(tmp_path / "data", table)
    out = tmp_path / "out"
    recipe = _recipe(tmp_path, RECIPE.replace("layout: imagefolder", "layout: auto"))
    augtool.expand(recipe, data, out, jobs=2)
    lines = _lines(out)
    assert lines[0]["layout"] == "imagelist"
    augmented = [r for r in lines if r.get("role") == "augmented"]
    assert len(augmented) == 6 * 2
    for record in augmented:  # each variant carries its source's listed class
        assert record["label"] == record["source"]["path"].split("/")[1].split("_")[0]
    written = (out / table).read_text()
    assert all(r["path"] in written for r in augmented)  # the table lists every output
    report = augtool.validate_manifest(out / "manifest.jsonl", source=data, recompute="all")
    assert report.ok, report.problems
    assert report.recomputed == len(augmented) + 1  # the variants and the table


def test_a_clip_list_without_a_file_name_column_says_which_columns_it_has(
    tmp_path: Path,
) -> None:
    """A list written as path,label (the usual spelling elsewhere) is refused naming the
    column augtool reads and the ones the header has."""
    data = _listed(tmp_path / "data", "metadata.csv")
    table = data / "metadata.csv"
    table.write_text(table.read_text().replace("file_name,label", "path,label", 1))
    recipe = _recipe(tmp_path, RECIPE.replace("layout: imagefolder", "layout: auto"))
    with pytest.raises(augtool.InputError) as raised:
        augtool.expand(recipe, data, tmp_path / "out", jobs=1)
    message = str(raised.value)
    assert "no 'file_name' column (the file of each row; the header has path, label)" in message


def test_the_help_says_audio_is_expanded_too() -> None:
    top = invoke("--help").stdout
    assert "Expand image, audio and text datasets" in " ".join(top.split())
    assert "variants per training file" in invoke("expand", "--help").stdout
