"""``augtool report`` on audio and text datasets: every mode reports, drift is tested on the
medium's own statistics, and datasets of different media stay a clear error."""

from __future__ import annotations

import csv
import json
import random
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import expand, invoke

from augtool import api
from augtool.report import DatasetReport

pytest.importorskip("scipy")
REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


def report(*paths: Path, **options: object) -> DatasetReport:
    return api.make_report(list(paths), jobs=1, cache=False, **options)  # type: ignore[arg-type]


def verdicts(found: DatasetReport) -> dict[str, bool]:
    return {r.statistic: r.drift for r in found.drift}


def louder(source: Path, target: Path, gain_db: float) -> Path:
    """A copy of the 16-bit WAV dataset ``source`` with ``gain_db`` applied (clipped)."""
    for path in sorted(source.rglob("*.wav")):
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path)) as reader:
            params = reader.getparams()
            samples = np.frombuffer(reader.readframes(params.nframes), dtype="<i2")
        scaled = np.clip(np.rint(samples * 10 ** (gain_db / 20)), -32768, 32767).astype("<i2")
        with wave.open(str(out), "wb") as writer:
            writer.setparams(params)
            writer.writeframes(scaled.tobytes())
    return target


@pytest.mark.parametrize("medium", ["audio", "text"])
def test_one_folder_reports_the_media_statistics(medium: str) -> None:
    found = report(SAMPLES / medium)
    side = found.as_json()["sides"][0]
    assert side["medium"] == medium
    expected = {"audio": {"duration", "rms_dbfs", "spectral_centroid"}, "text": {"tokens"}}
    assert expected[medium] <= set(side["statistics"])
    assert side["unreadable"] == []
    if medium == "text":
        assert side["rows"] > 100 and side["vocabulary"] > 50
    else:
        assert side["images"] == 28
        assert -60 < side["statistics"]["rms_dbfs"]["median"] < 0
    result = invoke("report", SAMPLES / medium, "--no-cache")
    assert result.exit_code == 0, result.output
    assert "files" in result.output and "images" not in result.output  # no image words


def test_audio_with_6_db_gain_drifts_on_level_not_on_duration(tmp_path: Path) -> None:
    loud = louder(SAMPLES / "audio", tmp_path / "loud", 6.0)
    found = report(SAMPLES / "audio", loud)
    drift = verdicts(found)
    assert drift["rms_dbfs"] is True
    assert drift["duration"] is False
    assert drift["spectral_centroid"] is False
    before, after = found.as_json()["sides"]
    shift = after["statistics"]["rms_dbfs"]["median"] - before["statistics"]["rms_dbfs"]["median"]
    assert 5.0 < shift < 6.1


def test_a_text_dataset_against_a_random_half_of_itself_does_not_drift(tmp_path: Path) -> None:
    with (SAMPLES / "text" / "train.csv").open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    half = tmp_path / "half"
    half.mkdir()
    with (half / "train.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *random.Random(5).sample(rows, len(rows) // 2)])
    whole = tmp_path / "whole"
    whole.mkdir()
    shutil.copy(SAMPLES / "text" / "train.csv", whole / "train.csv")
    found = report(whole, half)
    assert not found.drifted, [r for r in found.drift if r.drift]
    assert verdicts(found)["tokens"] is False
    overlap = [f for f in found.findings if f.startswith("vocabulary overlap")]
    assert overlap and "100% of B's" in overlap[0]


@pytest.mark.parametrize("medium", ["audio", "text"])
def test_an_expansion_reports_its_sources_against_the_output(medium: str, tmp_path: Path) -> None:
    out = expand(REPO / "configs" / f"{medium}.yaml", SAMPLES / medium, tmp_path / "out")
    result = invoke("report", out / "manifest.jsonl", "--no-cache", "--json", "-j", "1")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mode"] == "expansion"
    assert data["over_augmentation"] is None  # SSIM is an image measure
    sources, expanded = data["sides"]
    assert sources["medium"] == expanded["medium"] == medium
    assert expanded["images"] > sources["images"] or medium == "text"
    tested = {s["statistic"] for s in data["drift"]["statistics"]}
    assert ({"rms_dbfs", "duration"} if medium == "audio" else {"tokens"}) <= tested
    terminal = invoke("report", out / "manifest.jsonl", "--no-cache", "-j", "1")
    assert terminal.exit_code == 0, terminal.output
    assert "rms_dbfs" in terminal.output if medium == "audio" else "tokens" in terminal.output


@pytest.mark.parametrize("medium", ["audio", "text"])
def test_the_html_page_charts_the_media_statistics(medium: str, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    html = tmp_path / "report.html"
    result = invoke("report", SAMPLES / medium, SAMPLES / medium, "--no-cache", "-o", html)
    assert result.exit_code == 0, result.output
    assert "chart-" + ("rms_dbfs" if medium == "audio" else "tokens") in html.read_text()


def test_images_against_audio_is_a_clear_error(tmp_path: Path) -> None:
    result = invoke("report", SAMPLES / "photos", SAMPLES / "audio", "--no-cache")
    assert result.exit_code == 2
    assert "holds image" in result.output and "holds audio" in result.output
