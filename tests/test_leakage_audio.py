"""Leakage by content for audio (docs/governance.md): a copy of a val clip in train, gained,
resampled and re-encoded, is found by expand and validate through the audio medium's
fingerprint; distinct clips do not pair."""

from __future__ import annotations

import io
import itertools
import json
import shutil
import wave
from pathlib import Path

import numpy as np
from audio_data import pcm16_wav, tone
from conftest import invoke

from augtool.media import registry
from augtool.media.audio import codecs, dsp
from augtool.media.audio.fingerprint import fingerprint

AUDIO = Path(__file__).resolve().parent.parent / "samples" / "audio"
VAL_CLIP = "val/yes/yes_en-us-m3.wav"
PLANTED = "train/yes/planted_copy.wav"
MEDIUM = registry.get("audio")
BITS: int = MEDIUM.fingerprint_bits  # type: ignore[attr-defined]


def pcm8_wav(samples: np.ndarray, rate: int) -> bytes:
    """``samples`` as 8-bit unsigned PCM, written by the standard library's ``wave``."""
    ints = np.clip(np.rint(samples[:, 0] * 127) + 128, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        w.writeframes(ints.tobytes())
    return out.getvalue()


def near_copy(path: Path, eight_bit: bool = False) -> bytes:
    """The clip 6 dB quieter, resampled to 8 kHz, padded with 0.2 s of silence and stored as
    16-bit PCM; or (``eight_bit``) as it is, stored as 8-bit PCM."""
    clip = codecs.decode(path.read_bytes(), codecs.FORMATS, None)
    if eight_bit:
        return pcm8_wav(clip.samples, clip.rate)
    quieter = dsp.resample(clip.samples * 0.5, clip.frames * 8000 // clip.rate)
    padded = np.concatenate([np.zeros((1600, quieter.shape[1])), quieter])
    return pcm16_wav(padded, 8000)


def distance(a: int | None, b: int | None) -> int:
    assert a is not None and b is not None
    return (a ^ b).bit_count()


def test_a_gained_resampled_reencoded_copy_is_near_and_distinct_clips_are_not(
    tmp_path: Path,
) -> None:
    copy = tmp_path / "copy.wav"
    prints = {
        str(p.relative_to(AUDIO)): MEDIUM.fingerprint(p) for p in sorted(AUDIO.rglob("*.wav"))
    }  # type: ignore[attr-defined]
    assert len(prints) > 20
    for path, value in prints.items():
        for eight_bit in (False, True):
            copy.write_bytes(near_copy(AUDIO / path, eight_bit))
            assert distance(value, MEDIUM.fingerprint(copy)) <= BITS, path  # type: ignore[attr-defined]
    # the bundled clips: the same four words in 7 voices, and no two of them pair
    assert min(distance(a, b) for a, b in itertools.combinations(prints.values(), 2)) > BITS


def test_a_steady_or_silent_clip_has_no_fingerprint() -> None:
    assert fingerprint(np.zeros((16000, 1)), 16000) is None
    assert fingerprint(tone(440.0), 16000) is None  # every clip of one tone would pair


def planted(tmp_path: Path) -> Path:
    source = tmp_path / "audio"
    shutil.copytree(AUDIO, source)
    (source / PLANTED).write_bytes(near_copy(AUDIO / VAL_CLIP))
    return source


def recipe(tmp_path: Path, on_leak: str) -> Path:
    text = {
        "version": 1,
        "input": {"layout": "imagefolder", "extensions": [".wav"]},
        "output": {"format": "same"},
        "splits": {"augment": ["train"], "on_leak": on_leak},
        "variants": 1,
        "pipeline": [{"gain": {"gain_db": [-3, 3]}}],
    }
    path = tmp_path / f"recipe-{on_leak}.yaml"
    path.write_text(json.dumps(text), encoding="utf-8")
    return path


def test_expand_and_validate_find_the_planted_clip(tmp_path: Path) -> None:
    source, out = planted(tmp_path), tmp_path / "out"
    failed = invoke("expand", recipe(tmp_path, "fail"), source, "-o", out)
    assert failed.exit_code == 1, failed.output
    assert PLANTED in failed.output and VAL_CLIP in failed.output
    assert "audio fingerprints" in failed.output
    warned = invoke("expand", recipe(tmp_path, "warn"), source, "-o", out)
    assert warned.exit_code == 0 and PLANTED in warned.output
    checked = invoke("validate", "manifest", out / "manifest.jsonl")  # the recorded hashes
    assert checked.exit_code == 1 and PLANTED in checked.output


def test_bundled_audio_expands_without_a_pair(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("expand", recipe(tmp_path, "fail"), AUDIO, "-o", out, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "near-duplicate" not in result.output
