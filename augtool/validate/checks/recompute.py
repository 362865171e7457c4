"""With ``--recompute``: K augmented images, chosen with a seeded generator, re-derived byte for
byte through :mod:`augtool.run.derive`, with their labels (label files, or the labels an image's
line records: :mod:`augtool.validate.relabel`); and the dataset files the layout derives from the
image lines (annotation JSONs) made again from those lines. No layout is named here: the
header names it, and :mod:`augtool.layouts.registry` answers.

Only what re-deriving needs is kept while the manifest streams by (the augmented images' line
numbers, their label lines, the image lines a derived file is made of); the chosen records are
read in a second pass.
The run's medium (its codecs, libraries and transforms, found through
:mod:`augtool.media.registry`) is loaded only here, and only when asked: the validator starts
fast.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Literal

from augtool.errors import ManifestError, UsageError
from augtool.run.executors import map_in_order
from augtool.run.executors.hashing import OPEN_FLAGS
from augtool.validate.checks.partners import PartnerSources, PartnerTrouble
from augtool.validate.checks.paths import unsafe_reason
from augtool.validate.checks.reading import ValidatingReader
from augtool.validate.checks.recompute_streamed import (
    Outcome,
    compare_sha,
    recompute_streamed,
    row_table,
)
from augtool.validate.checks.sources import CheckedSources
from augtool.validate.report import Findings

#: Re-deriving decodes and encodes images: a pool pays for itself from a few dozen outputs.
POOL_MIN_RECOMPUTE = 16
RECOMPUTE_SEED = 0

Recompute = int | Literal["all"]


def parse_recompute(value: str | None) -> Recompute | None:
    """``--recompute``: ``None`` (not asked), a count, or ``"all"``."""
    if value is None:
        return None
    text = value.strip().lower()
    if text == "all":
        return "all"
    if text.isdigit():
        return int(text)
    raise UsageError("{recompute} {value!r}: expected a number of outputs or 'all'", value=value)


class Recomputation:
    """Keeps, as the manifest streams by, what re-deriving needs; then re-derives."""

    def __init__(self, header: dict[str, Any], found: Findings, root: Path | None = None) -> None:
        self.root = root  # the manifest's folder, where a row table named by a line is
        self.header = header
        self.found = found
        self.augmented_lines: list[int] = []
        #: each augmented image's label lines; the image lines that record labels of their own,
        #: by split, and the lines of the dataset files the layout derives from them (each is
        #: made again from those image lines).
        self.label_lines: dict[str, list[int]] = {}
        self.payload_lines: dict[str, list[dict[str, Any]]] = {}
        self.derived_lines: list[dict[str, Any]] = []
        from augtool.layouts import registry

        self.layout = registry.find(header.get("layout"))

    def take(self, number: int, record: dict[str, Any]) -> None:
        """Augmented images are re-derived, each with its label lines; derived dataset files
        are made again from their image lines (only what such a file is made of is kept)."""
        kind, role = record.get("kind", "image"), record["role"]
        normalized = role == "original" and record.get("how") == "normalize"
        if (role == "augmented" or normalized) and kind == "image":
            # A normalized original is derived too: with no steps, by its recorded encoder.
            self.augmented_lines.append(number)
        elif role == "augmented" and kind == "label" and isinstance(record.get("image"), str):
            self.label_lines.setdefault(record["image"], []).append(number)
        kept = None if self.layout is None else self.layout.derived_line(record)
        if kept is not None:
            self.payload_lines.setdefault(str(record.get("split")), []).append(kept)
        elif role == "dataset" and kind == "annotations":
            self.derived_lines.append(record)

    def run(
        self,
        reader: ValidatingReader,
        sources: CheckedSources,
        source_root: Path,
        count: Recompute,
        kernels: str,
        jobs: int,
    ) -> int:
        """Re-derive ``count`` chosen outputs from the sources that hashed as recorded; the
        number that came out as recorded."""
        from augtool.validate.relabel import AnnotationError, label_rules

        try:
            rules, dataset = label_rules(self.header, source_root)
        except AnnotationError as exc:
            self.found.add("recompute", str(source_root), f"cannot read the source's labels: {exc}")
            rules, dataset = None, None
        groups = self._groups(reader, sources, count, rules, dataset)
        from augtool.run.resources import from_header

        limits = _limits(self.header)
        resources = from_header(self.header.get("resources"), source_root)
        tasks = [
            (sources.files[rel], limits, kernels, g, rules, str(source_root), rel, resources)
            for rel, g in groups.items()
        ]
        versions = _versions_note(self.header, kernels)
        done = 0
        worth_a_pool = sum(len(t[3]) for t in tasks) >= POOL_MIN_RECOMPUTE
        for results in map_in_order(_recompute_group, tasks, jobs, worth_a_pool):
            for path, outcome, text in results:
                if outcome == "error":
                    self.found.add("recompute", path, f"cannot re-derive: {text}")
                elif outcome == "differs":
                    self.found.add("recompute", path, f"FAILED recompute {text}{versions}")
                else:
                    done += 1
        if dataset is not None:
            done += self._rederive_dataset_files(dataset)
        return done

    def _groups(
        self,
        reader: ValidatingReader,
        sources: CheckedSources,
        count: Recompute,
        rules: Any,
        dataset: Any,
    ) -> dict[str, list[dict[str, Any]]]:
        """The chosen records, read in a second pass, grouped by source (each decoded once)."""
        lines = self.augmented_lines
        chosen = [lines[i] for i in _choose(len(lines), count)]
        images = {}
        for _, record in reader.lines_at(set(chosen)):
            images[record["path"]] = record
        labels: dict[str, list[dict[str, Any]]] = {}
        wanted = {n for path in images for n in self.label_lines.get(path, [])}
        for _, record in reader.lines_at(wanted):
            labels.setdefault(record["image"], []).append(_label_fields(record))
        groups: dict[str, list[dict[str, Any]]] = {}
        for path, record in images.items():
            rel = record["source"]["path"]
            if rel in sources.bad or unsafe_reason(rel) is not None:
                continue  # already reported as a source problem
            fields = _replay_fields(record)
            rows = record.get("rows")
            if isinstance(rows, str) and unsafe_reason(rows) is None and self.root is not None:
                fields["rows"] = str(self.root / record["rows"])
            if rules is not None:
                fields["labels"] = labels.get(path, [])
                fields_of = () if dataset is None else dataset.record_fields
                recorded = bool(fields_of) and fields_of[0] in record
                if recorded and record["role"] == "augmented":
                    fields["recorded"] = {k: record.get(k) for k in dataset.record_fields}
                    fields["payload"] = dataset.payload(rel)
                    fields["words"] = dataset.layout.recorded_words
                if dataset is not None and dataset.record_fields and fields["partners"]:
                    fields["partner_payloads"] = [
                        dataset.payload(str(ref.get("path"))) for ref in fields["partners"]
                    ]
            groups.setdefault(rel, []).append(fields)
        return groups

    def _rederive_dataset_files(self, dataset: Any) -> int:
        """Each derived dataset file against the one its image lines make (no decoding)."""
        done = 0
        for record in self.derived_lines:
            path, source = record["path"], record["source"].get("path")
            found = dataset.derived_sha(str(source), self.payload_lines)
            if found is None:
                message = f"cannot re-derive: {source!r} is not in --source"
                self.found.add("recompute", path, message)
                continue
            if found != str(record["sha256"]).lower():
                self.found.add(
                    "recompute",
                    path,
                    f"FAILED recompute sha256 expected={record['sha256']} found={found}; the "
                    "JSON its image lines make differs (the file or the lines were edited)",
                )
            else:
                done += 1
        return done


def _versions_note(header: dict[str, Any] | None, kernels: str) -> str:
    """When this machine's libraries are not those the manifest names, a note saying so (the
    likely reason a re-derivation differs); otherwise nothing."""
    from augtool.media import registry

    made = (header or {}).get("libraries") or {}
    medium = registry.medium_of_recipe((header or {}).get("recipe"))
    here = registry.library_versions(kernels, medium)
    differ = [name for name, version in here.items() if made.get(name) != version]
    if not differ:
        return ""
    named = ", ".join(f"{name} {made.get(name, 'unknown')}" for name in differ)
    found = ", ".join(f"{name} {here[name]}" for name in differ)
    return f" (the manifest names {named}; this machine has {found})"


def _choose(total: int, count: Recompute) -> list[int]:
    """Which augmented records to re-derive: seeded, so a rerun checks the same ones."""
    if count == "all" or count >= total:
        return list(range(total))
    from augtool.seeded import sample_indices

    return sample_indices(total, count, RECOMPUTE_SEED)


def _limits(header: dict[str, Any]) -> Any:
    """The run's input limits (formats, max_pixels, output bit depth), as its recipe stated
    them."""
    from augtool.media import registry
    from augtool.run.derive import InputLimits, recipe_settings

    recipe = header.get("recipe") or {}
    section = recipe.get("input") or {}
    max_pixels = section.get("max_pixels")
    bit_depth = (recipe.get("output") or {}).get("bit_depth", 8)
    return InputLimits(
        tuple(section.get("formats") or []),
        max_pixels if isinstance(max_pixels, int) and not isinstance(max_pixels, bool) else None,
        registry.medium_of_recipe(recipe),
        recipe_settings(recipe, header.get("layout")),
        bit_depth if bit_depth == "source" else 8,
    )


def kernels_of(manifest: Path, header: dict[str, Any]) -> str:
    """The kernels the run used (absent from recipes that kept the medium's default). A library
    they need must be importable to re-derive what they made: a usage error, before any work."""
    from augtool.media import registry

    recipe = header.get("recipe") or {}
    try:
        medium = registry.get(registry.medium_of_recipe(recipe))
    except (LookupError, ValueError) as exc:
        raise ManifestError(f"{manifest}:1: {exc}") from None
    chosen = recipe.get("kernels", medium.default_kernels)
    # A run records the library ``auto`` picked: re-resolving it here could pick another.
    if chosen not in medium.kernel_names or chosen == "auto":
        raise ManifestError(f"{manifest}:1: the recipe names unknown kernels {chosen!r}")
    missing = medium.kernels_missing(chosen)
    if missing is not None:
        library, hint = missing
        raise UsageError(
            f"{{path}}: {{recompute}} needs {library}, as the run used 'kernels: {chosen}' "
            "({hint})",
            path=manifest,
            hint=hint,
        )
    return str(chosen)


def _label_fields(record: dict[str, Any]) -> dict[str, Any]:
    """What re-deriving a label file needs of its line: its source, and what the line says."""
    return {
        "path": record["path"],
        "sha256": str(record["sha256"]).lower(),
        "source": record["source"].get("path"),
        "source_sha256": str(record["source"].get("sha256")).lower(),
        "said": {k: record.get(k) for k in ("dropped", "flipped_labels", "clipped")},
    }


def _replay_fields(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": record["path"],
        "sha256": str(record["sha256"]).lower(),
        "source_sha256": str(record["source"]["sha256"]).lower(),
        "steps": record.get("steps") or [],
        "encoder": record.get("encoder"),
        "metadata": record.get("metadata"),
        "partners": record.get("partners") or [],
    }


def _recompute_group(
    source_file: str,
    limits: Any,
    kernels: str,
    records: list[dict[str, Any]],
    rules: Any = None,
    source_root: str = "",
    name: str = "",
    resources: Any = None,
) -> list[Outcome]:
    """Decode one source once and re-derive each of its chosen outputs and their labels through
    :mod:`augtool.run.derive`, as expand derived them (runs in a worker); ``resources``: the
    files the run's steps read (a changed one is an error naming it)."""
    from augtool.media.base import DecodeError
    from augtool.run.allocator import keep_freed_memory
    from augtool.run.derive import derive, open_source

    keep_freed_memory()

    def failed(message: str) -> list[Outcome]:
        paths = [r["path"] for r in records]
        paths += [label["path"] for r in records for label in r.get("labels", [])]
        return [(path, "error", message) for path in paths]

    if rules is None and not any(record["partners"] for record in records):
        # A table of many rows: hashed, read and re-derived as a stream, never whole.
        streamed = recompute_streamed(source_file, limits, name, records)
        if streamed is not None:
            return streamed
    try:
        data = read_no_follow(source_file)
    except OSError as exc:
        return failed(f"cannot read the source ({exc.strerror or exc})")
    if hashlib.sha256(data).hexdigest() != records[0]["source_sha256"]:
        return failed("the source's sha256 is not the recorded one")
    try:
        opened = open_source(data, limits, kernels, name=name, resources=resources)
    except DecodeError as exc:
        return failed(f"cannot decode the source: {exc}")
    results: list[Outcome] = []
    partners = PartnerSources(source_root, limits, kernels, rules)
    for record in records:
        try:
            taken = partners.opened(record["partners"], record.get("partner_payloads"))
        except PartnerTrouble as exc:
            results.append((record["path"], "error", str(exc)))
            continue
        try:
            kept = record["metadata"] == "kept"
            steps = record["steps"] if "rows" not in record else row_table(record["rows"])
            variant = derive(opened, records=steps, encoder=record["encoder"],
                             keep_metadata=kept, partners=taken)  # fmt: skip
        except Exception as exc:  # a hand-edited record may hold anything: report, don't crash
            results.append((record["path"], "error", f"{type(exc).__name__}: {exc}"))
            continue
        assert variant.data is not None
        results.append(_compare_bytes(record["path"], record["sha256"], variant.data))
        if rules is not None:
            results.extend(_recompute_labels(record, opened, rules, source_root, taken))
    return results


def _compare_bytes(path: str, expected: str, made: bytes) -> Outcome:
    return compare_sha(path, expected, hashlib.sha256(made).hexdigest())


def _recompute_labels(
    record: dict[str, Any], opened: Any, rules: Any, source_root: str, partners: list[Any]
) -> list[Outcome]:
    """An augmented image's label files and the labels its line records (of its task's
    payload), re-derived from the source's."""
    from augtool.validate.relabel import moved_label, moved_payload

    results: list[Outcome] = []
    for label in record.get("labels", []):
        path = label["path"]
        if unsafe_reason(label["source"]) is not None:
            results.append((path, "error", "its source path is unsafe"))
            continue
        try:
            data = read_no_follow(os.path.join(source_root, label["source"]))
        except OSError as exc:
            results.append((path, "error", f"cannot read {label['source']} ({exc.strerror})"))
            continue
        if hashlib.sha256(data).hexdigest() != label["source_sha256"]:
            results.append((path, "error", f"{label['source']}'s sha256 is not the recorded one"))
            continue
        try:
            written, said = moved_label(
                opened, rules, record["steps"], data, label["source"], record["path"], partners
            )
        except Exception as exc:  # a hand-edited record may hold anything: report, don't crash
            results.append((path, "error", f"{type(exc).__name__}: {exc}"))
            continue
        outcome = _compare_bytes(path, label["sha256"], written)
        recorded = {k: v for k, v in label["said"].items() if v is not None}
        if outcome[1] == "ok" and recorded != said:
            outcome = (path, "differs", f"of what the line says: {recorded} against {said}")
        results.append(outcome)
    if "recorded" in record:
        path, source = record["path"], record.get("payload")
        if source is None:
            return [*results, (path, "error", f"its image is not in {record['words'][0]}")]
        try:
            said = moved_payload(opened, rules, record["steps"], source, path, partners)
        except Exception as exc:  # a hand-edited record may hold anything: report, don't crash
            return [*results, (path, "error", f"{type(exc).__name__}: {exc}")]
        if said != record["recorded"]:
            results.append((path, "differs", f"of its {record['words'][1]}"))
    return results


def read_no_follow(path: str) -> bytes:
    fd = os.open(path, OPEN_FLAGS)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()
