"""The statistics of one audio file or one text table, as pure kernels, and the statistics
each medium reports (:data:`STATS_BY_MEDIUM`, the dispatch the rest of the report asks).

Audio is measured per file on the decoded float samples; text per row (a CSV, JSONL or TXT
source is a table of rows, decoded by the text medium as ``expand`` decodes it), with the
file's vocabulary kept for the overlap between two sides.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from augtool.report.stats import IMAGE_STATS

#: The numeric statistics of every audio file, with their unit. Sample rate and channel count
#: take few distinct values, so the drift rules test them as categories.
AUDIO_STATS: dict[str, str] = {
    "duration": "seconds",
    "rms_dbfs": "RMS level, dBFS",
    "spectral_centroid": "Hz",
    "sample_rate": "Hz",
    "channels": "count",
}
#: The numeric statistics of every text row.
TEXT_STATS: dict[str, str] = {"tokens": "words per row"}
#: Each medium's drift-tested numeric statistics.
STATS_BY_MEDIUM: dict[str, dict[str, str]] = {
    "image": IMAGE_STATS,
    "audio": AUDIO_STATS,
    "text": TEXT_STATS,
}
#: The level of digital silence, so a silent file has a finite RMS level.
SILENCE_DBFS = -120.0


def audio_stats(samples: np.ndarray, rate: int, fmt: str) -> dict[str, Any]:
    """Every statistic of an audio file: ``samples`` (frames, channels) floats in -1..1."""
    frames, channels = samples.shape
    mono = samples.astype(np.float64).mean(axis=1)
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if frames else 0.0
    level = 20 * np.log10(rms) if rms > 0 else SILENCE_DBFS
    return {
        "duration": round(frames / rate, 6),
        "rms_dbfs": round(max(float(level), SILENCE_DBFS), 6),
        "spectral_centroid": round(spectral_centroid(mono, rate), 6),
        "sample_rate": int(rate),
        "channels": int(channels),
        "format": fmt,
    }


def spectral_centroid(mono: np.ndarray, rate: int) -> float:
    """The magnitude-weighted mean frequency of the whole signal's spectrum, Hz (0: silence).
    The level cancels out, so a change of gain leaves it where it was."""
    if len(mono) < 2:
        return 0.0
    magnitude = np.abs(np.fft.rfft(mono))
    total = float(magnitude.sum())
    if total == 0:
        return 0.0
    frequencies = np.fft.rfftfreq(len(mono), 1 / rate)
    return float((frequencies * magnitude).sum() / total)


def text_stats(rows: list[tuple[str, ...]], fmt: str) -> dict[str, Any]:
    """Each row's length in words and the table's vocabulary (lower-cased words)."""
    from augtool.media.text.tokens import split_words

    lengths: list[int] = []
    vocabulary: set[str] = set()
    for texts in rows:
        words = [text[a:b].lower() for text in texts for a, b in split_words(text)]
        lengths.append(len(words))
        vocabulary.update(words)
    return {"tokens": lengths, "vocabulary": sorted(vocabulary), "format": fmt}


def measure_audio(data: bytes) -> dict[str, Any]:
    """Decode ``data`` as the audio medium decodes a source, and measure it."""
    from augtool.media import registry as media
    from augtool.media.audio.codecs import FORMATS

    decoded = media.get("audio").decode(data, FORMATS, None)
    return audio_stats(decoded.samples, decoded.rate, decoded.format)


def measure_text(data: bytes, name: str, settings: str) -> dict[str, Any]:
    """Decode ``data`` (the source ``name``) into rows as the text medium decodes a source
    with the run's ``settings``, and measure its rows."""
    from augtool.media import registry as media

    decoded = media.get("text").decode_file(data, _Limits(settings), name)
    return text_stats([row.texts for row in decoded.rows], decoded.format)


class _Limits:
    """What the text medium reads of a run's input limits: its settings."""

    def __init__(self, settings: str) -> None:
        self.settings = settings


def text_settings(layout: str, recipe: dict[str, Any] | None) -> str:
    """The settings a text source is decoded with: a recipe's (a manifest's), or the
    defaults (a ``text`` column) for a folder."""
    return json.dumps({"layout": layout, "recipe": recipe or {}}, sort_keys=True)
