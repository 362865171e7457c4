"""The audio medium: WAV clips read with numpy (FLAC/OGG with ``augtool[audio]``), the audio
transforms, and variants written in the source's rate, channels and sample format unless the
recipe's ``output`` says otherwise. Registered in :data:`augtool.media.registry.BUILTIN`; the
core reaches it only through the registry."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from augtool.errors import ParamError
from augtool.media.audio import codecs, dsp
from augtool.media.audio.codecs import Decoded
from augtool.media.audio.transforms import FAMILIES, REGISTRY, Clip, replay, run
from augtool.media.base import DecodeError, EncodeError
from augtool.media.params import Choice, Float, Param
from augtool.provenance import split_tag, tag_wav

Record = dict[str, Any]

#: ``output.format`` settings: the container and file ending written
OUTPUT_FORMATS = {"wav": ("WAV", ".wav"), "flac": ("FLAC", ".flac")}
# With ``format: same`` a WAV or FLAC source is written in its own container; OGG/Vorbis is
# written as FLAC (lossless, and libsndfile gives each Ogg stream a random serial number, so
# Vorbis bytes would differ from run to run).
SAME_FORMATS = {".wav": "WAV", ".wave": "WAV", ".flac": "FLAC"}
SUBTYPES = ("same", "PCM_U8", "PCM_S8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")
#: under ``subtype: same``, what a container writes for a source's sample format it cannot
#: hold: 8-bit stays 8-bit (WAV's is unsigned, FLAC's signed), anything else is written as
#: FLAC's widest or WAV's float
NEAREST = {("WAV", "PCM_S8"): "PCM_U8", ("FLAC", "PCM_U8"): "PCM_S8"}
WIDEST = {"WAV": "FLOAT", "FLAC": "PCM_24"}


@dataclass(frozen=True)
class FormatNames:
    """A list of the containers the medium reads."""

    @property
    def form(self) -> str:
        return "a list of WAV, FLAC, OGG"

    @property
    def json_schema(self) -> dict[str, Any]:
        # any case: the loader upper-cases the names
        one = {"type": "string", "pattern": "^([Ww][Aa][Vv]|[Ff][Ll][Aa][Cc]|[Oo][Gg][Gg])$"}
        many = {"type": "array", "items": one, "minItems": 1}
        return {"anyOf": [one, many]}

    def __call__(self, value: Any) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
            raise ParamError(f"expected {self.form}, got {value!r}")
        upper = [v.upper() for v in items]
        unknown = [v for v in upper if v not in codecs.FORMATS]
        if unknown or len(set(upper)) != len(upper):
            raise ParamError(f"expected {self.form} (each once), got {value!r}")
        return upper


@dataclass(frozen=True)
class SampleRate:
    """``same`` or a rate in Hz."""

    @property
    def form(self) -> str:
        return "same or a sample rate in Hz (1000 to 768000)"

    @property
    def json_schema(self) -> dict[str, Any]:
        rate = {"type": "integer", "minimum": 1000, "maximum": 768_000}
        return {"anyOf": [{"const": "same"}, rate]}

    def __call__(self, value: Any) -> str | int:
        if value == "same":
            return "same"
        if isinstance(value, bool) or not isinstance(value, int) or not 1000 <= value <= 768_000:
            raise ParamError(f"expected {self.form}, got {value!r}")
        return int(value)


@dataclass(frozen=True)
class OutputFormat(Choice):
    """``output.format``: FLAC is refused when the recipe is read if soundfile is missing,
    before anything is written."""

    @property
    def json_schema(self) -> dict[str, Any]:
        return {"enum": list(self.options)}

    def __call__(self, value: Any) -> str:
        chosen = super().__call__(value)
        if chosen == "flac" and not codecs.soundfile_installed():
            raise ParamError(f"flac needs soundfile, not installed ({codecs.INSTALL_HINT})")
        return chosen


def input_fields() -> tuple[Param, ...]:
    from augtool.recipe.fields import StrList

    return (
        Param("extensions", StrList(lower=True), [".wav", ".flac", ".ogg"], "file endings read"),
        Param("formats", FormatNames(), list(codecs.FORMATS), "containers accepted"),
        Param("max_seconds", Float(0.001, None), 600.0, "longer clips are skipped"),
    )


OUTPUT_FIELDS = (
    Param(
        "format",
        OutputFormat(("same", *OUTPUT_FORMATS)),
        "same",
        "same (as the source), wav or flac",
    ),
    Param("subtype", Choice(SUBTYPES), "same", "the sample format written (soundfile's names)"),
    Param("sample_rate", SampleRate(), "same", "the rate written (band-limited resampling)"),
)


def output_format(source_path: str, setting: str) -> tuple[str, str]:
    """The container and file ending of a source's variants, from its name alone."""
    if setting != "same":
        return OUTPUT_FORMATS[setting]
    ext = os.path.splitext(source_path)[1]
    if ext.lower() in SAME_FORMATS:
        return SAME_FORMATS[ext.lower()], ext
    return "FLAC", ".flac"


def check_subtype(setting: str, subtype: str) -> None:
    """Raise :class:`ParamError` when ``output.format`` names a container that cannot hold
    ``output.subtype`` (under ``format: same`` each source's container decides, per file)."""
    if setting == "same" or subtype == "same":
        return
    container = OUTPUT_FORMATS[setting][0]
    if subtype not in codecs.WRITABLE[container]:
        held = ", ".join(codecs.WRITABLE[container])
        raise ParamError(f"output.subtype: {container} cannot hold {subtype} (it holds {held})")


def encoder_settings(container: str, output: dict[str, Any], decoded: Decoded) -> dict[str, Any]:
    """The container, sample format and rate a variant is written with: the source's unless
    the recipe's ``output`` names them (a source's format the container cannot hold becomes
    the nearest it can: 8-bit stays 8-bit, FLOAT in FLAC is PCM_24)."""
    subtype = output.get("subtype", "same")
    if subtype == "same":
        subtype = decoded.subtype
        if subtype not in codecs.WRITABLE[container]:
            subtype = NEAREST.get((container, subtype), WIDEST[container])
    elif subtype not in codecs.WRITABLE[container]:
        raise EncodeError(f"{container} cannot hold {subtype} samples")
    rate = output.get("sample_rate", "same")
    return {
        "format": container,
        "subtype": subtype,
        "sample_rate": decoded.rate if rate == "same" else int(rate),
    }


class AudioMedium:
    """:class:`augtool.media.base.Medium` for audio. Decoded content is a
    :class:`~augtool.media.audio.codecs.Decoded`; a variant's content is its float64 samples."""

    name = "audio"
    default_kernels = "numpy"
    kernel_names = ("numpy",)
    #: the near-duplicate check's fingerprint (augtool.media.audio.fingerprint); audio pairs
    #: within fewer bits than images do: a copy lands at most 6 bits away on the bundled clips,
    #: two distinct clips at least 11 (docs/governance.md)
    fingerprint_kind = "audio-bands64-v1"
    fingerprint_name = "64-bit audio fingerprints"
    fingerprint_bits = 8

    def fingerprint(self, path: Path) -> int | None:
        """The fingerprint of the clip at ``path``, or None when it cannot be decoded (or is
        silent)."""
        from augtool.media.audio.fingerprint import fingerprint

        try:
            decoded = codecs.decode(path.read_bytes(), codecs.FORMATS, None)
        except (OSError, DecodeError):
            return None
        return fingerprint(decoded.samples, decoded.rate)

    def transforms(self) -> Mapping[str, Any]:
        return REGISTRY

    def blocks(self) -> Mapping[str, Any]:
        """None of its own: ``one_of``, ``some_of`` and ``sequence`` are the image medium's,
        built by it (:meth:`make_block` builds the same) and run by the audio runner."""
        return {}

    def families(self) -> tuple[str, ...]:
        return FAMILIES

    def make_block(
        self, kind: str, p: float, children: list[Any], n: Any, config: dict[str, Any]
    ) -> Any:
        from augtool.media.image.transforms import Block

        return Block(kind=kind, p=p, children=children, n=n, config=config)

    # -- the recipe's input and output sections (asked by augtool.recipe.model) -------------
    def recipe_fields(self) -> tuple[tuple[Param, ...], tuple[Param, ...]]:
        """The medium's own ``input`` and ``output`` fields (beside path, layout, links,
        originals and metadata, which every medium has)."""
        return input_fields(), OUTPUT_FIELDS

    def core_settings(
        self, input_: dict[str, Any], output: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """What the core hands back to this medium, by the names it passes on: the decode
        limit (``max_pixels``: here seconds) and the encoder settings (``quality``: here the
        subtype and rate). Not part of the normalised recipe. A ``subtype`` the named
        ``format`` cannot hold, or a provenance tag asked of FLAC, is refused here, before
        anything is written."""
        check_subtype(output["format"], output["subtype"])
        if output.get("provenance_tag") and output["format"] == "flac":
            raise ParamError("output.provenance_tag: a FLAC output cannot carry the tag (WAV can)")
        quality = {"subtype": output["subtype"], "sample_rate": output["sample_rate"]}
        return {"max_pixels": input_["max_seconds"]}, {"quality": quality}

    def kernels_missing(self, name: str) -> tuple[str, str] | None:
        return None

    def check_kernels(self, name: str) -> str:
        if name not in self.kernel_names:
            raise ValueError(f"unknown audio kernels {name!r}; expected numpy")
        return name

    def versions(self, kernels_name: str) -> dict[str, str]:
        """numpy decides every sample; soundfile (and its libsndfile) the FLAC bytes, when
        installed."""
        found = {"numpy": np.__version__}
        soundfile = codecs.soundfile_version()
        if soundfile is not None:
            found["soundfile"] = soundfile
        return found

    def output_format(self, source_path: str, setting: str) -> tuple[str, str]:
        return output_format(source_path, setting)

    def encoder_settings(
        self, encoder: str, quality: Any, decoded: Decoded, same_format: bool
    ) -> dict[str, Any]:
        return encoder_settings(encoder, quality if isinstance(quality, dict) else {}, decoded)

    def decode(self, data: bytes, formats: Sequence[str], max_pixels: Any) -> Decoded:
        """``max_pixels`` is the recipe's ``input.max_seconds`` (see :meth:`core_settings`)."""
        return codecs.decode(data, formats, max_pixels)

    def decoded_facts(self, decoded: Decoded) -> dict[str, Any]:
        return {
            "format": decoded.format,
            "subtype": decoded.subtype,
            "sample_rate": decoded.rate,
            "channels": decoded.channels,
        }

    def size(self, decoded: Decoded, content: np.ndarray | None = None) -> list[int]:
        """(frames, channels)."""
        if content is None:
            return list(decoded.size)
        return [int(content.shape[0]), int(content.shape[1])]

    def new_cache(self) -> None:
        return None

    def run(
        self,
        steps: Sequence[Any],
        decoded: Decoded,
        seed: int,
        kernels_name: str,
        cache: Any,
        targets: Any = None,
        resources: Any = None,
    ) -> tuple[np.ndarray | None, list[Record]]:
        rng = np.random.Generator(np.random.PCG64(seed))
        samples, records = run(list(steps), decoded.samples, decoded.rate, rng, resources)
        return (None if samples is decoded.samples else samples), records

    def replay(
        self,
        records: list[Record],
        decoded: Decoded,
        kernels_name: str,
        cache: Any,
        resources: Any = None,
    ) -> np.ndarray | None:
        samples = replay(records, decoded.samples, decoded.rate, resources)
        return None if samples is decoded.samples else samples

    def kept_metadata(self, decoded: Decoded) -> None:
        """Nothing: a variant is written with its format and data chunks alone."""
        return None

    def encode(
        self, decoded: Decoded, content: np.ndarray | None, encoder: dict[str, Any], metadata: Any
    ) -> bytes:
        encoder, tag = split_tag(encoder)
        if tag is not None and encoder["format"] != "WAV":
            raise EncodeError(
                f"provenance_tag: a {encoder['format']} output cannot carry the tag (WAV can)"
            )
        samples = decoded.samples if content is None else content
        rate = int(encoder["sample_rate"])
        samples = np.clip(samples, -1.0, 1.0)
        if rate != decoded.rate:
            frames = max(1, round(samples.shape[0] * rate / decoded.rate))
            # The resampler's ringing round a clipped peak is clipped again, by a hair.
            samples = np.clip(dsp.resample(samples, frames), -1.0, 1.0)
        data = codecs.encode(samples, rate, encoder["format"], encoder["subtype"])
        return data if tag is None else tag_wav(data, tag)

    # -- preview (asked by augtool.preview) ---------------------------------------------------
    def tile(self, decoded: Decoded, content: np.ndarray | None = None) -> np.ndarray:
        """A preview tile of ``content`` (None: the source): waveform over spectrogram."""
        from augtool.media.audio.picture import picture

        return picture(decoded.samples if content is None else content, decoded.rate)

    def sample_step(
        self, step: Any, rng: np.random.Generator, decoded: Decoded, resources: Any = None
    ) -> Record:
        """A step's parameters for the decoded source (a preview sweep's draw)."""
        extra = {"resources": resources} if step.resources else {}
        return step.sample(rng, Clip(decoded.frames, decoded.channels, decoded.rate), **extra)

    def move_targets(self, records: list[Record], targets: Any, kernels_name: str) -> Any:
        return targets  # a clip's label is its class: nothing moves

    def filter_targets(
        self,
        targets: Any,
        rules: tuple[float, float],
        records: list[Record],
        min_box_side: float | None,
    ) -> tuple[Any, list[Any]]:
        return targets, []

    def copying_steps(self, steps: Sequence[Any]) -> list[tuple[str, str]]:
        return []

    def mirrored(self, records: list[Record]) -> bool:
        return False


MEDIUM = AudioMedium()

__all__ = ["MEDIUM", "OUTPUT_FORMATS", "SAME_FORMATS", "AudioMedium", "output_format"]
