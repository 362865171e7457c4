"""The text medium (see ``docs/text.md``): a source is a text file (a CSV or JSONL table, a
``.txt`` of one example per line, or a ``.txt`` that is one example); its variant file holds
``variants`` variants of each of its rows (one, for a one-example file), and its manifest line
the row table of their seeds and parameters. Registered in
:data:`augtool.media.registry.BUILTIN`; the core reaches it only through the registry."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from augtool.errors import ParamError
from augtool.media.base import DecodeError, EncodeError
from augtool.media.params import Choice, Float, Param
from augtool.media.text import codecs, stream
from augtool.media.text.codecs import FORMATS, Row, Table
from augtool.media.text.fingerprint import WIDTH, fingerprint
from augtool.media.text.rows import Rails, Written, replay_rows, run_rows
from augtool.media.text.transforms import FAMILIES, REGISTRY

Record = dict[str, Any]
DEFAULT_TEXT = ("text",)


def _options(settings: str) -> dict[str, Any]:
    """What a run's settings (``augtool.run.derive.recipe_settings``) say of its text."""
    found = json.loads(settings) if settings else {}
    recipe = found.get("recipe") or {}
    section = recipe.get("input") or {}
    text = recipe.get("text") or {}
    from augtool.layouts import registry

    layout = registry.find(found.get("layout"))
    return {
        "packed": layout is not None and layout.packs_variants,
        "variants": int(recipe.get("variants", 1)),
        "text": tuple(section.get("text") or DEFAULT_TEXT),
        "label": section.get("label"),
        "split": section.get("split"),
        "names": tuple((recipe.get("splits") or {}).get("names") or ()),
        "augment": tuple((recipe.get("splits") or {}).get("augment") or ()),
        "bad_rows": section.get("bad_rows") or "skip",
        "protect": tuple(text.get("protect") or ()),
        "max_token_distance": float(text.get("max_token_distance", 1.0)),
    }


def example_key(texts: tuple[str, ...], split: str | None = None) -> str:
    """16 hex digits of the sha256 of an example's texts (stripped)."""
    joined = "\x1f".join(text.strip() for text in texts)
    key = hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]
    return key if split is None else f"{key} {split}"


def _compiled(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the protect patterns compiled."""
    try:
        protect = tuple(re.compile(p) for p in options["protect"])
    except re.error as exc:
        raise DecodeError(f"a protect pattern does not compile: {exc}") from None
    return {**options, "protect": protect}


def _format(name: str, packed: bool) -> str:
    ending = os.path.splitext(name)[1].lower()
    if ending not in FORMATS:
        raise DecodeError(f"not a text file ending ({', '.join(FORMATS)})")
    found = FORMATS[ending]
    return found if packed or found != "lines" else "document"


class Patterns:
    """A list of regular expressions (each must compile)."""

    form = "a list of regular expressions"
    json_schema: ClassVar[dict[str, Any]] = {
        "anyOf": [
            {"type": "null"},
            {"type": "string", "minLength": 1},
            {"type": "array", "items": {"type": "string", "minLength": 1}},
        ]
    }

    def __call__(self, value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ParamError(f"expected {self.form}, got {value!r}")
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ParamError(f"{pattern!r} is not a regular expression: {exc}") from None
        return list(value)


class Name:
    """One non-empty name (a column)."""

    form = "a column name"
    json_schema: ClassVar[dict[str, Any]] = {"type": ["string", "null"], "minLength": 1}

    def __call__(self, value: Any) -> str | None:
        if value is None or (isinstance(value, str) and value):
            return value
        raise ParamError(f"expected {self.form} or null, got {value!r}")


def input_fields() -> tuple[Param, ...]:
    """The ``input`` fields of a text recipe (beside path, layout and links)."""
    from augtool.recipe.fields import StrList

    return (
        Param("extensions", StrList(lower=True), [".csv", ".jsonl", ".txt"], "file endings read"),
        Param("text", StrList(), list(DEFAULT_TEXT), "the text column(s) the steps change"),
        Param("label", Name(), None, "the label column, carried unchanged (checked present)"),
        Param("split", Name(), None, "a column naming each row's split (one file, many splits)"),
        Param("bad_rows", Choice(("skip", "error")), "skip", "skip a bad row, or the whole file"),
    )


OUTPUT_FIELDS = (Param("format", Choice(("same",)), "same", "the source's own format"),)

#: the recipe's ``text:`` section
SECTION = (
    Param("protect", Patterns(), [], "spans (regular expressions) no step changes"),
    Param(
        "max_token_distance",
        Float(0.0, 1.0),
        1.0,
        "a variant further from its source (token edits / source tokens) is dropped; 1: off",
    ),
)


class TextMedium:
    """:class:`augtool.media.base.Medium` for text. Decoded content is a
    :class:`~augtool.media.text.codecs.Table`; a variant's content is the list of rows its file
    holds."""

    name = "text"
    recipe_section = SECTION
    default_kernels = "python"
    kernel_names = ("python",)
    #: the near-duplicate check's fingerprint (augtool.media.text.fingerprint), one per
    #: example: 256 bits, and a pair within 76 of them (a one-bit MinHash estimate of a
    #: character 4-gram Jaccard similarity of about 0.4 or more; docs/governance.md)
    fingerprint_kind = "text-minhash256-char4-v1"
    fingerprint_name = "256-bit text MinHashes"
    fingerprint_bits = 76
    fingerprint_width = WIDTH

    def recipe_fields(self) -> tuple[tuple[Param, ...], tuple[Param, ...]]:
        """The medium's own ``input`` and ``output`` fields (docs/text.md)."""
        return input_fields(), OUTPUT_FIELDS

    def core_settings(
        self, input_: dict[str, Any], output: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Text has no image formats, pixel limit or quality; its settings reach it through
        ``InputLimits.settings``."""
        return {"formats": [], "max_pixels": None}, {"quality": 0}

    def transforms(self) -> Mapping[str, Any]:
        return REGISTRY

    def blocks(self) -> Mapping[str, Any]:
        return {}

    def families(self) -> tuple[str, ...]:
        return FAMILIES

    def make_block(
        self, kind: str, p: float, children: list[Any], n: Any, config: dict[str, Any]
    ) -> Any:
        raise ValueError(f"text recipes have no {kind!r} blocks")

    def kernels_missing(self, kernels: str) -> tuple[str, str] | None:
        return None

    def versions(self, kernels: str) -> dict[str, str]:
        """Python's version: its ``csv``, ``json`` and Unicode tables write the bytes."""
        import numpy as np

        return {"python": sys.version.split()[0], "numpy": np.__version__}

    def output_format(self, source_path: str, setting: str) -> tuple[str, str]:
        ending = os.path.splitext(source_path)[1]
        return FORMATS.get(ending.lower(), "lines"), ending

    def encoder_settings(
        self, encoder: str, quality: int, decoded: Table, same_format: bool
    ) -> dict[str, Any]:
        return {"format": decoded.format, "encoding": "utf-8"}

    def decode(self, data: bytes, formats: Sequence[str], max_pixels: int | None) -> Table:
        raise DecodeError("a text source is read with its name (decode_file)")

    def decode_file(self, data: bytes, limits: Any, name: str) -> Table:
        """The rows of the source ``name`` (its ending and the layout decide its format)."""
        options = _options(limits.settings)
        kind = _format(name, options["packed"])
        text, bom = codecs.decode_text(data)
        columns: tuple[str, ...] = ()
        skipped: list[codecs.Bad] = []
        if kind == "document":
            if not text.strip():
                raise DecodeError("an empty text")
            rows: tuple[Row, ...] = (Row(1, 1, text, (text,)),)
            text_columns: tuple[str, ...] = ("text",)
        else:
            lines = io.StringIO(text, newline="") if kind == "csv" else text.split("\n")
            if kind == "lines":
                lines = text.splitlines(keepends=True)
            columns, text_columns, found = stream.read_rows(kind, lines, options)
            rows = tuple(stream.kept(found, options["bad_rows"], skipped))
        return Table(kind, rows, columns, text_columns, bom, tuple(skipped), _compiled(options))

    def open_packed(self, path: Path, limits: Any, name: str) -> stream.Packed | None:
        """A source of many rows opened for streaming (its rows checked and hashed, not
        kept); None for a one-example file, decoded whole by :meth:`decode_file`."""
        options = _options(limits.settings)
        kind = _format(name, options["packed"])
        if kind == "document":
            return None
        return stream.open_packed(path, kind, _compiled(options))

    def examples_name_splits(self, settings: str) -> bool:
        """Whether a row names its own split (``input.split``), so that one file's rows may be
        in two splits."""
        return bool(_options(settings)["split"])

    def example_fingerprints(
        self, path: Path, settings: str
    ) -> list[tuple[int, int | None, str | None]] | None:
        """Each usable row's (1-based data row, fingerprint, own split) in the source at
        ``path``, read as expand reads it (a bad row passed over); None when the file cannot
        be read."""
        options = _options(settings)
        try:
            kind = _format(path.name, options["packed"])
            if kind == "document":
                text, _ = codecs.decode_text(path.read_bytes())
                return [(1, fingerprint((text,)), None)]
            with stream.lines_of(path, kind) as lines:
                _, _, rows = stream.read_rows(kind, lines, options)
                kept = stream.kept(rows, "skip", None)
                return [(row.number, fingerprint(row.texts), row.split) for row in kept]
        except (OSError, UnicodeDecodeError, DecodeError):
            return None

    def packed_facts(self, packed: stream.Packed) -> dict[str, Any]:
        return {**self.decoded_facts(packed.table), "rows": packed.count}

    def write_packed(
        self, steps: Sequence[Any], packed: stream.Packed, seed: int, targets: tuple[Path, Path]
    ) -> dict[str, Any]:
        """The variant file and its row table written to ``targets`` as a stream: their
        (sha256, bytes), and the rows written (see :mod:`augtool.media.text.stream`)."""
        options = packed.table.options
        return stream.write_packed(
            packed, steps, seed, options["variants"], self._rails(packed.table), targets
        )

    def replay_packed(self, packed: stream.Packed, records: Iterable[Record]) -> tuple[str, int]:
        """The variant file ``records`` (its row table's entries, in order) write, re-derived
        as a stream: its (sha256, bytes) (see :func:`augtool.media.text.stream.replay_packed`)."""
        return stream.replay_packed(packed, records, self._rails(packed.table))

    def rows_path(self, variant: str) -> str:
        return stream.rows_path(variant)

    def decoded_facts(self, decoded: Table) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "format": decoded.format,
            "rows": len(decoded.rows),
            "bom": decoded.bom,
        }
        if decoded.skipped:
            facts["skipped_rows"] = [{"line": n, "reason": r} for n, r in decoded.skipped]
        return facts

    def size(self, decoded: Table, content: list[Written] | None = None) -> list[int]:
        """[rows]: of the source, or of the variant file."""
        return [len(decoded.rows) if content is None else len(content)]

    def new_cache(self) -> None:
        return None

    def check_kernels(self, kernels: str) -> str:
        if kernels not in self.kernel_names:
            raise ValueError(f"unknown kernels {kernels!r} for text")
        return kernels

    def _rails(self, decoded: Table) -> Rails:
        options = decoded.options
        one_example = decoded.format == "document"
        return Rails(options["protect"], options["max_token_distance"], not one_example)

    def run(
        self,
        steps: Sequence[Any],
        decoded: Table,
        seed: int,
        kernels: str,
        cache: Any,
        targets: Any = None,
    ) -> tuple[list[Written], list[Record]]:
        packed = decoded.options.get("packed", False)
        variants = decoded.options.get("variants", 1) if packed else 1
        written, entries = run_rows(steps, decoded, seed, variants, self._rails(decoded))
        if not packed:
            for entry in entries:
                del entry["variant"]  # the file is the variant
        return written, entries

    def replay(
        self, records: list[Record], decoded: Table, kernels: str, cache: Any
    ) -> list[Written]:
        return replay_rows(records, decoded, self._rails(decoded))

    def example_keys(self, decoded: Table, content: list[Written] | None = None) -> list[str]:
        """A key per row (of the source, or of the variant file) from its texts, so that a text
        in two splits is found by validate."""
        if content is None:
            return [example_key(row.texts, row.split) for row in decoded.rows]
        return [example_key(texts, row.split) for row, _, texts in content]

    def preview(self, *args: Any) -> Any:
        """``augtool preview``: a table and an HTML page (augtool.media.text.preview)."""
        from augtool.media.text.preview import render

        return render(*args)

    def kept_metadata(self, decoded: Table) -> None:
        return None

    def encode(
        self, decoded: Table, content: list[Written] | None, encoder: dict[str, Any], metadata: Any
    ) -> bytes:
        if content is None:
            raise EncodeError("a text variant has no rows")
        return codecs.encode_rows(decoded, content)

    def move_targets(self, records: list[Record], targets: Any, kernels: str) -> Any:
        return targets

    def filter_targets(
        self, targets: Any, rules: tuple[float, float], records: list[Record], min_box_side: Any
    ) -> tuple[Any, list[Any]]:
        return targets, []

    def copying_steps(self, steps: Sequence[Any]) -> list[tuple[str, str]]:
        return []

    def mirrored(self, records: list[Record]) -> bool:
        return False


MEDIUM = TextMedium()

__all__ = ["MEDIUM", "TextMedium"]
