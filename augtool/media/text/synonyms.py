"""Synonym tables: the small English one shipped with augtool (CC0, ``data/LICENSE``), or the
user's, written in the recipe as a mapping or named as a YAML or TSV file (read when the recipe
is loaded, so the normalised recipe, and its hash, hold the table itself)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from augtool.errors import ParamError

Table = dict[str, list[str]]


def parse_tsv(text: str, where: str) -> Table:
    """``word<TAB>synonym,synonym`` lines; ``#`` starts a comment line."""
    table: Table = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        word, tab, rest = line.partition("\t")
        synonyms = [s.strip() for s in rest.split(",") if s.strip()]
        if not tab or not word.strip() or not synonyms:
            raise ParamError(f"{where}:{number}: expected 'word<TAB>synonym,synonym'")
        table[word.strip().lower()] = synonyms
    return table


@cache
def shipped() -> Table:
    text = resources.files("augtool.media.text").joinpath("data/synonyms_en.tsv").read_text("utf-8")
    return parse_tsv(text, "synonyms_en.tsv")


def _checked(value: Any, where: str) -> Table:
    if not isinstance(value, dict) or not value:
        raise ParamError(f"{where}: expected a mapping of word: [synonyms]")
    table: Table = {}
    for word, synonyms in value.items():
        items = [synonyms] if isinstance(synonyms, str) else synonyms
        if (
            not isinstance(word, str)
            or not isinstance(items, list)
            or not items
            or not all(isinstance(s, str) and s.strip() and "\n" not in s for s in items)
        ):
            raise ParamError(f"{where}: {word!r} needs a non-empty list of synonyms")
        table[word.lower()] = [s.strip() for s in items]
    return dict(sorted(table.items()))


@dataclass(frozen=True)
class SynonymTable:
    """A recipe's ``synonyms``: null (the shipped English table), a mapping, or the path of a
    ``.yaml``/``.yml`` or ``.tsv`` file."""

    @property
    def form(self) -> str:
        return "null (the shipped English table), a mapping word: [synonyms], or a .yaml/.tsv path"

    json_schema: ClassVar[dict[str, Any]] = {
        "anyOf": [
            {"type": "null"},
            {"type": "string", "minLength": 1},
            {
                "type": "object",
                "additionalProperties": {
                    "anyOf": [
                        {"type": "string", "minLength": 1},
                        {"type": "array", "items": {"type": "string", "minLength": 1}},
                    ]
                },
            },
        ]
    }

    def __call__(self, value: Any) -> Table | None:
        if value is None:
            return None
        if isinstance(value, str):
            path = Path(value)
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ParamError(f"cannot read the synonym table {value!r}: {exc}") from None
            if path.suffix.lower() == ".tsv":
                return dict(sorted(parse_tsv(text, value).items()))
            import yaml

            return _checked(yaml.safe_load(text), value)
        return _checked(value, "synonyms")


def table_of(config: Table | None) -> Table:
    return shipped() if config is None else config


__all__ = ["SynonymTable", "parse_tsv", "shipped", "table_of"]
