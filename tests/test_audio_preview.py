"""The preview sheet for audio: a waveform and spectrogram tile per source and variant, drawn
by the medium from exactly the samples expand writes; ``--sweep`` too."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from audio_data import make_speech_like, pcm16_wav, tone
from PIL import Image

import augtool
from augtool.media import registry
from augtool.media.audio.codecs import decode
from augtool.media.audio.picture import SPECTRUM_HEIGHT, WAVE_HEIGHT, WIDTH

RECIPE = """\
version: 1
seed: 3
input: {layout: imagefolder}
pipeline:
  - gain: {gain_db: [-6, 6]}
  - low_pass: {cutoff_hz: [1000, 3000]}
  - time_stretch: {rate: [0.8, 1.2], p: 0.5}
"""


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, Path]:
    recipe = tmp_path / "audio.yaml"
    recipe.write_text(RECIPE)
    return recipe, make_speech_like(tmp_path / "data")


def test_preview_draws_each_variant_from_the_samples_expand_writes(
    tmp_path: Path, dataset: tuple[Path, Path]
) -> None:
    recipe, data = dataset
    made = augtool.preview_recipe(recipe, data, output=tmp_path / "p.png", sources=2, variants=2)
    assert len(made.rows) == 2 and all(len(row.tiles) == 3 for row in made.rows)
    assert Image.open(io.BytesIO((tmp_path / "p.png").read_bytes())).format == "PNG"
    augtool.expand(recipe, data, tmp_path / "out", jobs=1)
    medium = registry.get("audio")
    full = augtool.preview_recipe(recipe, data, sources=1, variants=1, tile=1024)
    row = full.rows[0]
    written = tmp_path / "out" / row.source.path.replace(".wav", "__v00.wav")
    clip = decode(written.read_bytes(), ["WAV"], None)
    expected = medium.tile(clip, None)
    assert expected.shape == (WAVE_HEIGHT + SPECTRUM_HEIGHT, WIDTH, 3)
    # the sheet's variant tile is the picture of the written clip (PCM rounding aside)
    shown = row.tiles[1].image.astype(int)
    assert shown.shape == expected.shape
    assert np.mean(np.abs(shown - expected.astype(int))) < 2.0
    assert "gain gain_db" in row.tiles[1].caption


def test_preview_sweep_has_a_row_per_step(dataset: tuple[Path, Path]) -> None:
    recipe, data = dataset
    made = augtool.preview_recipe(recipe, data, sweep=True)
    assert [row.label for row in made.rows] == ["gain", "low_pass", "time_stretch"]
    stretch = made.rows[2]
    sizes = [tile.info["size"][0] for tile in stretch.tiles[1:]]
    assert sizes[0] > sizes[1] > sizes[2]  # rate 0.8, 1.0, 1.2: longer to shorter
    assert [tile.info["at"] for tile in stretch.tiles[1:]] == ["low", "mid", "high"]


def test_preview_skips_a_clip_expand_would_skip_and_shows_the_next(
    tmp_path: Path, dataset: tuple[Path, Path]
) -> None:
    recipe, data = dataset
    broken = data / "train" / "high" / "aa_broken.wav"  # the first source in path order
    broken.write_bytes(pcm16_wav(tone(440.0, 0.2))[:30])
    made = augtool.preview_recipe(recipe, data, sources=2, variants=1)
    assert len(made.rows) == 2
    assert "train/high/aa_broken.wav" not in {row.source.path for row in made.rows}
    assert [s["path"] for s in made.skipped] == ["train/high/aa_broken.wav"]
    assert "truncated WAV" in made.skipped[0]["reason"]
