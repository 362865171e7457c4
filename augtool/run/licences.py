"""Each source's licence and attribution (docs/governance.md), and the rules a recipe sets on
them: ``input.require_licence`` and ``input.allow_licences``.

A source's licence comes from the first row of a sidecar at the input's root
(``LICENSES.csv`` or ``LICENSES.yaml``) whose path or glob matches its relative path, else
from the recipe's ``input.licence``. Licences are SPDX ids (``CC-BY-4.0``); an author goes with
them where the sidecar names one.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from augtool.errors import InputError
from augtool.run.incremental import Previous, write_dataset_file
from augtool.run.journal import TaskResult

SIDECARS = ("LICENSES.csv", "LICENSES.yaml", "LICENSES.yml")
#: the most sources an error names before counting the rest
NAMED = 10


@dataclass(frozen=True)
class Rule:
    """A sidecar row: the paths it covers (a relative path or a glob), their licence, author."""

    pattern: str
    licence: str
    author: str | None = None


@dataclass(frozen=True)
class Licences:
    """Every source's (licence, author), and how many sources each licence covers."""

    by_source: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        found = Counter(licence for licence, _ in self.by_source.values())
        return dict(sorted(found.items()))

    def attributed(self) -> list[tuple[str, str, str | None]]:
        """(path, licence, author) of each source whose licence asks for attribution."""
        return [
            (path, licence, author)
            for path, (licence, author) in sorted(self.by_source.items())
            if needs_attribution(licence)
        ]


def needs_attribution(licence: str) -> bool:
    """Creative Commons licences other than CC0 require crediting the author."""
    return licence.upper().startswith("CC-BY")


def read_sidecar(root: Path) -> list[Rule]:
    """The rules of the input's licence sidecar, in file order (none without one)."""
    for name in SIDECARS:
        path = root / name
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            rows = _csv_rows(text) if name.endswith(".csv") else _yaml_rows(text, name)
            return [_rule(row, name, number) for number, row in enumerate(rows, 1)]
    return []


def _csv_rows(text: str) -> list[dict[str, Any]]:
    return list(csv.DictReader(io.StringIO(text)))


def _yaml_rows(text: str, name: str) -> list[dict[str, Any]]:
    value = yaml.safe_load(text) or []
    if isinstance(value, dict):  # path: licence, or path: {licence, author}
        value = [
            {"path": key, **(item if isinstance(item, dict) else {"licence": item})}
            for key, item in value.items()
        ]
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise InputError(f"{name}: expected a list of {{path, licence, author}} or a mapping")
    return value


def _rule(row: dict[str, Any], name: str, number: int) -> Rule:
    pattern = row.get("path")
    licence = row.get("licence", row.get("license"))
    author = row.get("author")
    if not isinstance(pattern, str) or not pattern or not isinstance(licence, str) or not licence:
        raise InputError(f"{name}: entry {number} needs a path and a licence, got {row!r}")
    return Rule(pattern, licence.strip(), str(author).strip() if author else None)


def resolve(
    paths: Iterable[str],
    rules: list[Rule],
    default: str | None,
    embedded: dict[str, tuple[str, str | None]] | None = None,
) -> dict[str, tuple[str, str | None]]:
    """Each path's (licence, author): the first matching rule's, else the one its dataset's
    own annotations give (``embedded``), else the default's; a path none gives a licence is
    left out."""
    found: dict[str, tuple[str, str | None]] = {}
    embedded = embedded or {}
    for path in paths:
        rule = next((r for r in rules if _matches(r.pattern, path)), None)
        if rule is not None:
            found[path] = (rule.licence, rule.author)
        elif path in embedded:
            found[path] = embedded[path]
        elif default is not None:
            found[path] = (default, None)
    return found


def _matches(pattern: str, path: str) -> bool:
    return pattern == path or fnmatch.fnmatchcase(path, pattern)


def source_licences(
    root: Path,
    paths: Iterable[str],
    default: str | None,
    required: bool,
    allowed: list[str] | None,
    own: Callable[[], dict[str, tuple[str, str | None]]] | None = None,
) -> Licences:
    """The licences of ``paths``, refusing (exit 2) those without one when ``required`` and
    those outside ``allowed`` when given, naming them. The dataset's ``own`` licences (its
    layout's reading of the dataset's own licence fields) are read when licences are asked
    about at all: a sidecar, or any of the recipe's licence keys."""
    rules = read_sidecar(root)
    asked = bool(rules) or default is not None or required or allowed is not None
    if not asked:
        return Licences()  # without reading ``paths``: a streamed dataset's stay unheld
    listed = list(paths)
    by_source = resolve(listed, rules, default, own() if own else None)
    if required:
        refuse(root, [p for p in listed if p not in by_source], "have no licence")
    if allowed is not None:
        ok = set(allowed)
        outside = [p for p in listed if p in by_source and by_source[p][0] not in ok]
        named = [f"{p} ({by_source[p][0]})" for p in outside]
        refuse(root, named, f"have a licence not in input.allow_licences ({', '.join(allowed)})")
    return Licences(by_source)


def refuse(root: Path, named: list[str], why: str) -> None:
    if not named:
        return
    more = f" and {len(named) - NAMED} more" if len(named) > NAMED else ""
    raise InputError(f"{root}: {len(named)} source(s) {why}: {', '.join(named[:NAMED])}{more}")


def notice_text(licences: Licences) -> str:
    """The NOTICE file: each source whose licence asks for attribution, its licence and
    author (one line each, in path order)."""
    lines = [
        "This dataset holds files derived from works whose licences require attribution.",
        "Each source, its licence and its author (the derived files are listed in",
        "manifest.jsonl with the source they came from):",
        "",
    ]
    for path, licence, author in licences.attributed():
        lines.append(f"{path}\t{licence}\t{author or 'author unknown'}")
    return "\n".join(lines) + "\n"


#: the file listing the sources whose licence asks for attribution (written only then)
NOTICE_NAME = "NOTICE"


def notice_names(licences: Licences) -> list[str]:
    """The NOTICE file, when a source's licence asks for attribution."""
    return [NOTICE_NAME] if licences.attributed() else []


def write_notice(output_root: Path, licences: Licences, previous: Previous) -> TaskResult:
    """The NOTICE file, written like a file of the dataset as a whole (listed in the manifest
    and SHA256SUMS; it is its own source, being made from the licences alone)."""
    data = notice_text(licences).encode("utf-8")
    sha = hashlib.sha256(data).hexdigest()
    return write_dataset_file(output_root, NOTICE_NAME, data, sha, previous, "dataset")


def with_licence(record: dict[str, Any], licences: Licences) -> dict[str, Any] | None:
    """``record`` with its source's licence and author as they are now (an earlier run's
    record may hold others), or ``None`` when it is right as it is."""
    if record.get("type") != "file" or record.get("role") not in ("original", "augmented"):
        return None
    licence, author = licences.by_source.get(record["source"]["path"], (None, None))
    if record.get("licence") == licence and record.get("author") == author:
        return None
    new = {k: v for k, v in record.items() if k not in ("licence", "author")}
    return {
        **new,
        **({"licence": licence} if licence else {}),
        **({"author": author} if author else {}),
    }


def recipe_licences(
    root: Path,
    paths: Iterable[str],
    input_section: dict[str, Any],
    own: Callable[[], dict[str, tuple[str, str | None]]] | None = None,
) -> Licences:
    """:func:`source_licences` by the recipe's ``input`` keys."""
    return source_licences(
        root,
        paths,
        input_section.get("licence"),
        bool(input_section.get("require_licence")),
        input_section.get("allow_licences"),
        own,
    )
