"""``background_noise``: files from a folder mixed at a measured SNR, the file and start
recorded, the folder hashed into the manifest header, and a changed file noticed by validate
and by reruns."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from audio_data import RATE, make_speech_like, tone, write_noises
from conftest import invoke, read_manifest

import augtool
from augtool.errors import InputError
from augtool.media.audio import codecs, dsp
from augtool.media.audio.transforms import REGISTRY, run
from augtool.run.resources import ResourceError, for_recipe

RECIPE = """\
version: 1
seed: 3
variants: 3
input: {{layout: imagefolder}}
pipeline:
  - gain: {{gain_db: [-3, 3]}}
  - background_noise: {{folder: {folder}, snr_db: [5, 20]}}
"""


def _db(ratio: float) -> float:
    return float(10 * np.log10(ratio))


def _speech(seconds: float = 0.5) -> np.ndarray:
    return tone(330.0, seconds) + tone(1210.0, seconds, amp=0.2)


@pytest.mark.parametrize("snr", [-5.0, 0.0, 12.5, 30.0])
def test_background_noise_hits_its_snr_and_its_record_reproduces_the_mix(
    tmp_path: Path, snr: float
) -> None:
    noises = write_noises(tmp_path / "noise")
    step = REGISTRY["background_noise"](folder="noise", snr_db=[snr, snr])
    resources = for_recipe([step], tmp_path)
    clip = np.repeat(_speech(), 2, axis=1)
    seen = set()
    for seed in range(12):
        out, records = run([step], clip, RATE, np.random.default_rng(seed), resources)
        params = records[0]["params"]
        seen.add(params["file"])
        added = out - clip
        # measured on the output against the source
        assert abs(_db(dsp.power(clip) / dsp.power(added)) - snr) < 0.5
        # the recorded file, read here, looped from the recorded start, is what was added
        noise = codecs.read_wav((tmp_path / params["file"]).read_bytes())
        mono = noise.samples.mean(axis=1, keepdims=True)
        if noise.rate != RATE:
            mono = dsp.resample(mono, round(mono.shape[0] * RATE / noise.rate))
        start = params["offset"]
        assert 0 <= start < mono.shape[0]
        looped = mono[(start + np.arange(clip.shape[0])) % mono.shape[0]]
        scale = np.sqrt(dsp.power(clip) / (dsp.power(looped) * 10 ** (snr / 10)))
        np.testing.assert_allclose(added, np.repeat(looped, 2, axis=1) * scale, atol=1e-12)
    assert seen == {f"noise/{p.name}" for p in noises.iterdir()}  # every file is drawn


def test_a_changed_noise_file_is_refused_when_read(tmp_path: Path) -> None:
    write_noises(tmp_path / "noise")
    step = REGISTRY["background_noise"](folder="noise")
    resources = for_recipe([step], tmp_path)
    (tmp_path / "noise" / "hum.wav").write_bytes(b"RIFF")
    with pytest.raises(ResourceError, match=r"hum\.wav: changed since it was hashed"):
        resources.read("noise/hum.wav")


def test_a_missing_or_empty_noise_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    step = REGISTRY["background_noise"](folder="nowhere")
    with pytest.raises(InputError, match="nowhere: resource folder not found"):
        for_recipe([step], tmp_path)
    (tmp_path / "nowhere").mkdir()
    with pytest.raises(InputError, match="holds no file"):
        for_recipe([step], tmp_path)


def test_only_the_audio_files_of_a_noise_folder_are_mixed_in(tmp_path: Path) -> None:
    """A noise collection's README and LICENSE are hashed with it but never drawn (one drawn
    stopped the run half way); a folder with no audio file at all is an error naming it."""
    data, recipe, noise = _setup(tmp_path)
    (noise / "README.txt").write_text("three synthesised noises\n")
    (noise / "LICENSE").write_text("CC0\n")
    out = tmp_path / "out"
    summary = augtool.expand(recipe, data, out, jobs=1)
    assert not summary.skipped
    lines = read_manifest(out)
    assert "../sounds/noise/README.txt" in lines[0]["resources"]["files"]
    drawn = {
        step["params"]["file"]
        for r in lines
        if r.get("role") == "augmented"
        for step in r["steps"]
        if step["name"] == "background_noise"
    }
    assert drawn == {f"../sounds/noise/{n}" for n in ("brown.wav", "hum.wav", "white.wav")}
    for clip in noise.glob("*.wav"):
        clip.unlink()
    with pytest.raises(InputError, match=r"sounds/noise: no \.wav, \.wave, \.flac, \.ogg file"):
        augtool.expand(recipe, data, tmp_path / "out-2", jobs=1)


def _setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A dataset, a noise folder beside it, and a recipe in a folder of its own that names
    the noise folder from there."""
    data = make_speech_like(tmp_path / "data")
    write_noises(tmp_path / "sounds" / "noise")
    recipe = tmp_path / "recipes" / "noisy.yaml"
    recipe.parent.mkdir()
    recipe.write_text(RECIPE.format(folder="../sounds/noise"))
    return data, recipe, tmp_path / "sounds" / "noise"


def test_expand_records_the_noise_folder_and_validate_rederives_it(tmp_path: Path) -> None:
    data, recipe, noise = _setup(tmp_path)
    made = []
    for backend, jobs in (("sequential", 1), ("loky", 2)):
        out = tmp_path / f"out-{jobs}"
        augtool.expand(recipe, data, out, jobs=jobs, backend=backend)
        made.append(((out / "SHA256SUMS").read_bytes(), (out / "manifest.jsonl").read_bytes()))
    assert made[0] == made[1]
    out = tmp_path / "out-1"
    lines = read_manifest(out)
    header = lines[0]
    hashes = {
        f"../sounds/noise/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
        for p in noise.iterdir()
    }
    assert header["resources"] == {"root": "../recipes", "files": hashes}
    fired = [
        step["params"]
        for r in lines
        if r.get("role") == "augmented"
        for step in r["steps"]
        if step["name"] == "background_noise"
    ]
    assert len(fired) == 6 * 3 and {p["file"] for p in fired} <= set(hashes)
    report = augtool.validate_manifest(out / "manifest.jsonl", source=data, recompute="all")
    assert report.ok, report.problems
    assert report.recomputed == 18

    (noise / "hum.wav").write_bytes((noise / "white.wav").read_bytes())
    checked = augtool.validate_manifest(out / "manifest.jsonl", source=data)  # no re-derive
    assert [(p.kind, Path(p.path).name) for p in checked.problems] == [("source", "hum.wav")]
    assert "changed since it was hashed" in checked.problems[0].message
    report = augtool.validate_manifest(out / "manifest.jsonl", source=data, recompute="all")
    assert not report.ok
    rederived = [p for p in report.problems if p.kind == "recompute"]
    assert all("hum.wav: changed since it was hashed" in p.message for p in rederived)
    used = {r["path"] for r in lines if "../sounds/noise/hum.wav" in json.dumps(r.get("steps"))}
    assert used and {p.path for p in rederived} == used  # the outputs it was mixed into


def test_a_rerun_after_a_noise_file_changed_redoes_its_outputs(tmp_path: Path) -> None:
    data, recipe, noise = _setup(tmp_path)
    out = tmp_path / "out"
    augtool.expand(recipe, data, out, jobs=1)
    again = augtool.expand(recipe, data, out, jobs=1)
    assert again.activity["made"] == 0  # nothing changed: everything kept
    shutil.copyfile(noise / "white.wav", noise / "hum.wav")
    redone = augtool.expand(recipe, data, out, jobs=1)
    assert redone.activity["kept"] == 0 and redone.activity["made"] > 0
    fresh = tmp_path / "fresh"
    augtool.expand(recipe, data, fresh, jobs=1)
    assert (out / "manifest.jsonl").read_bytes() == (fresh / "manifest.jsonl").read_bytes()
    report = augtool.validate_manifest(out / "manifest.jsonl", source=data, recompute="all")
    assert report.ok, report.problems


def test_a_noise_that_does_not_decode_stops_the_run_before_any_output(tmp_path: Path) -> None:
    """A truncated noise file is named in one line when the run starts (exit 2), rather
    than when a variant first draws it, half way through the outputs."""
    data, recipe, noise = _setup(tmp_path)
    hum = noise / "hum.wav"
    hum.write_bytes(hum.read_bytes()[:30])
    out = tmp_path / "out"
    result = invoke("expand", recipe, data, "-o", out, "-j", "1")
    assert result.exit_code == 2, result.output
    assert f"{hum.name}: cannot decode the noise" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() or not any(p.suffix == ".wav" for p in out.rglob("*"))
