"""``augtool validate manifest``: is this output exactly what its manifest says, and was it derived
the way the manifest says?

Like BagIt's validate and ``sha256sum -c``, and closing the holes they leave. The checks run
cheapest first:

1. the manifest parses, its schema is known, and the footer's digest covers every line before it;
2. every recorded path is safe (relative, no ``..``, no absolute, home or drive path), checked on
   the text before anything is looked up on disk;
3. completeness: every listed file exists and is a regular file, and nothing else is in the output
   (apart from the manifest and the files the contract names);
4. fixity: size, then sha256 (in chunks; across processes when the bytes pay for a pool);
5. the header's recipe hash matches the embedded recipe;
6. leakage: no augmented file from a split the recipe does not augment, no source (by path or by
   content) in two splits;
7. with ``source``: every recorded source still hashes as recorded;
8. with ``recompute``: K augmented images, chosen with a seeded generator, re-derived byte for
   byte, with their labels (label files, masks, COCO annotations: ``augtool.validate.relabel``); and
   each split's COCO JSON rebuilt from the image lines.

The output folder is walked once without following symbolic links, so a link can neither lead the
check outside the output nor loop it forever; a listed file is hashed only when that walk reached
it as a regular file. The manifest is streamed: what is held is one size per file of the output
(for completeness), one entry per source (for leakage) and the list of files to hash.

numpy, Pillow and the transforms are imported only for ``recompute``: the validator starts fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from augtool.canonical import canonical_sha256
from augtool.errors import ManifestError, UsageError
from augtool.manifest import (
    CONTRACT_FILES,
    SUMS_NAME,
    ManifestReader,
    sums_line,
)
from augtool.run.executors import map_in_order
from augtool.run.executors.hashing import CHUNK, OPEN_FLAGS, hash_files
from augtool.run.tree import kind_of, walk

__all__ = [
    "KINDS",
    "Problem",
    "Report",
    "UsageError",
    "parse_recompute",
    "unsafe_reason",
    "validate",
]

#: Problem kinds, in the order of the checks that find them (the report lists them so).
KINDS = (
    "manifest",
    "unsafe_path",
    "missing",
    "not_regular",
    "extra",
    "unreadable",
    "size",
    "sha256",
    "recipe",
    "sums",
    "leakage",
    "source",
    "recompute",
)
#: Re-deriving decodes and encodes images: a pool pays for itself from a few dozen outputs.
POOL_MIN_RECOMPUTE = 16
RECOMPUTE_SEED = 0

Recompute = int | Literal["all"]
_DRIVE = re.compile(r"^[A-Za-z]:")
_SEPARATORS = re.compile(r"[/\\]")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class Problem:
    """One failed check: ``kind`` (one of :data:`KINDS`), the path it is about, the message."""

    kind: str
    path: str
    message: str

    def line(self) -> str:
        return f"{_shown(self.path)}: {self.message}"

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "message": self.message}


@dataclass
class Report:
    """What the validation found. ``ok`` is true when no check failed."""

    manifest: str
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    skipped: int = 0
    sources_checked: int | None = None
    recomputed: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        found = Counter(problem.kind for problem in self.problems)
        return {kind: found[kind] for kind in KINDS if found[kind]}

    def problem_lines(self) -> list[str]:
        return [problem.line() for problem in self.problems]

    def summary_line(self) -> str:
        if not self.ok:
            by_kind = ", ".join(f"{kind} {count}" for kind, count in self.counts().items())
            total = len(self.problems)
            noun = "problem" if total == 1 else "problems"
            return f"{self.manifest}: FAILED, {total} {noun} ({by_kind}); {self.files} files listed"
        parts = [f"{self.files} files ({_size(self.bytes)}) verified"]
        if self.sources_checked is not None:
            parts.append(f"{self.sources_checked} sources verified")
        if self.recomputed is not None:
            parts.append(f"{self.recomputed} outputs re-derived")
        return f"{self.manifest}: OK, {', '.join(parts)}"

    def as_json(self) -> dict[str, Any]:
        """The report as plain JSON (what ``validate manifest --json`` prints): ``ok``, the
        counts checked, the problems by kind and each problem's path and message."""
        return {
            "manifest": self.manifest,
            "ok": self.ok,
            "files": self.files,
            "bytes": self.bytes,
            "skipped": self.skipped,
            "sources_checked": self.sources_checked,
            "recomputed": self.recomputed,
            "counts": self.counts(),
            "problems": [problem.as_json() for problem in self.problems],
        }


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


def unsafe_reason(path: Any) -> str | None:
    """Why a recorded path must not be looked up under the output (``None``: it is safe).
    A pure check of the text: nothing is opened or stat'ed."""
    if not isinstance(path, str) or not path:
        return "not a path"
    if "\0" in path:
        return "contains a NUL character"
    if path.startswith(("/", "\\")):
        return "absolute path"
    if path.startswith("~"):
        return "home-relative path"
    if _DRIVE.match(path):
        return "drive-letter path"
    parts = _SEPARATORS.split(path)
    if ".." in parts:
        return "goes up out of the folder (..)"
    if any(part in ("", ".") for part in parts):
        return "not a canonical relative path (empty or '.' part)"
    return None


def validate(
    manifest: Path,
    source: Path | None = None,
    recompute: Recompute | None = None,
    jobs: int = 1,
) -> Report:
    """Run every check on the output that holds ``manifest``. Raises :class:`ManifestError` when
    the manifest cannot be read at all or is not an augtool manifest of a known version."""
    manifest = Path(manifest)
    if recompute is not None and source is None:
        raise UsageError("{recompute} needs {source} (the folder the outputs were made from)")
    if source is not None and not source.is_dir():
        raise UsageError("{source} {path}: not a folder", path=source)
    reader = _ManifestReader(manifest)
    header = reader.header()
    kernels = _kernels(manifest, header) if recompute is not None else None
    root = manifest.parent
    tree = _walk(root, manifest.name)
    check = _Checker(manifest, header, tree, keep_augmented=recompute is not None)
    for number, record in reader.records():
        check.record(number, record)
    check.problems.extend(reader.problems)
    check.finish_completeness()
    check.fixity(root, jobs)
    check.recipe_hash()
    check.sums_file(root)
    report = Report(
        manifest=str(manifest),
        files=check.files,
        bytes=check.bytes,
        skipped=check.skipped,
    )
    if source is not None:
        report.sources_checked = check.sources(source, jobs)
    if recompute is not None:
        assert source is not None
        assert kernels is not None
        report.recomputed = check.recompute(reader, source, recompute, kernels, jobs)
    order = {kind: index for index, kind in enumerate(KINDS)}
    report.problems = sorted(check.problems, key=lambda p: order[p.kind])
    return report


# --- 1. the manifest ----------------------------------------------------------------------------


class _ManifestReader:
    """The manifest as validation reads it: the one reader in ``report`` mode (each problem
    noted with its line number, the footer's digest and counts checked there), plus the
    header's own consistency and the record types a manifest may hold after its header."""

    def __init__(self, path: Path) -> None:
        self.reader = ManifestReader(path, mode="report")
        self.name = str(path)
        self.problems: list[Problem] = []

    def header(self) -> dict[str, Any]:
        header = self.reader.header()
        recipe = header.get("recipe")
        if isinstance(recipe, dict) and "seed" in recipe and header.get("seed") != recipe["seed"]:
            seed = header.get("seed")
            self._problem(1, f"the header's seed {seed!r} is not its recipe's {recipe['seed']!r}")
        return header

    def records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every record after the header; then the footer checks."""
        for entry in self.reader.entries():
            self._take_reader_problems()
            if entry.number == 1:
                continue
            if entry.type not in ("file", "skipped"):
                self._problem(entry.number, f"unknown record type {entry.type!r}")
                continue
            yield entry.number, entry.value
        self._take_reader_problems()

    def _take_reader_problems(self) -> None:
        """The reader's problems so far, in line order with this class's own."""
        for number, message in self.reader.problems:
            self._problem(number, message)
        self.reader.problems.clear()

    def _problem(self, number: int, message: str) -> None:
        self.problems.append(Problem("manifest", f"{self.name}:{number}", message))

    def lines_at(self, numbers: set[int]) -> Iterator[tuple[int, dict[str, Any]]]:
        """The records at the given line numbers (a second pass, for ``recompute``)."""
        return self.reader.lines_at(numbers)


# --- 3. the output tree, walked without following links -----------------------------------------


@dataclass
class _Tree:
    """The output folder as one walk saw it: regular files with their sizes, and everything
    else that is not a folder (links, FIFOs, sockets, devices) with what it is."""

    files: dict[str, int] = field(default_factory=dict)
    others: dict[str, str] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)


def _walk(root: Path, manifest_name: str) -> _Tree:
    tree = _Tree()
    for entry in walk(root, skip={manifest_name, *CONTRACT_FILES}):
        if entry.mode is None:
            tree.unreadable.add(entry.path)
        elif entry.is_file:
            tree.files[entry.path] = entry.size
        else:
            tree.others[entry.path] = kind_of(entry.mode)
    return tree


# --- the checks over the records ----------------------------------------------------------------


@dataclass
class _Source:
    split: Any
    sha256: str


class _Checker:
    """Checks each record as it streams by (paths, completeness, leakage) and keeps what the
    later checks need: the files to hash, the sources, the augmented records' line numbers."""

    def __init__(
        self, manifest: Path, header: dict[str, Any], tree: _Tree, keep_augmented: bool
    ) -> None:
        self.manifest = str(manifest)
        self.header = header
        self.tree = tree
        self.problems: list[Problem] = []
        self.to_hash: list[tuple[str, int, str]] = []
        self.sources_seen: dict[str, _Source] = {}
        self.by_content: dict[str, tuple[Any, str]] = {}
        self.augmented_lines: list[int] | None = [] if keep_augmented else None
        #: with ``recompute``: each augmented image's label lines; the COCO image lines and
        #: split JSON lines (each split's JSON is rebuilt from its image lines).
        self.label_lines: dict[str, list[int]] = {}
        self.coco_lines: dict[str, list[dict[str, Any]]] = {}
        self.coco_json_lines: list[dict[str, Any]] = []
        self.files = 0
        self.bytes = 0
        self.skipped = 0
        self.bad_sources: set[str] = set()
        #: each good source's file, its links resolved (what is hashed and re-derived from)
        self.source_files: dict[str, str] = {}
        self._previous = ""
        # SHA256SUMS is derived from the manifest: what it must hash to, line by line.
        self._sums = hashlib.sha256()
        # The recipe's own list (covered by the recipe hash), not the header's copy of it.
        splits = _mapping(_mapping(header.get("recipe")).get("splits"))
        self.augment = set(splits.get("augment") or [])
        self.found_splits = set(_mapping(header.get("splits")).get("found") or [])
        for folder in sorted(tree.unreadable):
            self.add("unreadable", folder, "cannot be listed; its files were not checked")

    def add(self, kind: str, path: str, message: str) -> None:
        self.problems.append(Problem(kind, path, message))

    def at(self, number: int, message: str) -> None:
        self.add("manifest", f"{self.manifest}:{number}", message)

    def record(self, number: int, record: dict[str, Any]) -> None:
        path = record.get("path")
        sha = record.get("sha256")
        if record.get("type") == "file" and isinstance(path, str) and isinstance(sha, str):
            self._sums.update(sums_line(sha.lower(), path).encode("utf-8"))
        reason = unsafe_reason(path)
        if reason is not None:
            self.add("unsafe_path", _text(path), f"unsafe path ({reason}); not opened")
            return
        if path <= self._previous:
            self.at(number, f"{path!r} is listed twice or out of path order")
        self._previous = path
        if record["type"] == "skipped":
            self.skipped += 1
            return
        if not self._well_formed(number, record):
            return
        self.files += 1
        self._locate(path, record["bytes"], record["sha256"])
        self._provenance(number, record)
        if self.augmented_lines is not None:
            self._keep_for_recompute(number, record)

    def _keep_for_recompute(self, number: int, record: dict[str, Any]) -> None:
        """Augmented images are re-derived, each with its label lines; COCO JSONs are rebuilt
        from their image lines (only what the JSON is made of is kept)."""
        assert self.augmented_lines is not None
        kind, role = record.get("kind", "image"), record["role"]
        if role == "augmented" and kind == "image":
            self.augmented_lines.append(number)
        elif role == "augmented" and kind == "label" and isinstance(record.get("image"), str):
            self.label_lines.setdefault(record["image"], []).append(number)
        if kind == "image" and isinstance(record.get("coco"), dict):
            kept = {k: record.get(k) for k in ("path", "image_size", "coco")}
            self.coco_lines.setdefault(str(record.get("split")), []).append(kept)
        elif role == "dataset" and kind == "annotations":
            self.coco_json_lines.append(record)

    def _well_formed(self, number: int, record: dict[str, Any]) -> bool:
        sha, size, role = record.get("sha256"), record.get("bytes"), record.get("role")
        if not isinstance(sha, str) or not _HEX64.match(sha):
            self.at(number, f"sha256 {sha!r} is not 64 hex digits")
        elif not isinstance(size, int) or isinstance(size, bool) or size < 0:
            self.at(number, f"bytes {size!r} is not a size")
        elif role not in ("original", "augmented", "dataset"):
            self.at(number, f"role {role!r}: expected original, augmented or dataset")
        elif not isinstance(record.get("source"), dict):
            self.at(number, "no source")
        else:
            return True
        return False

    # 3. completeness (the walk already saw every file; each listed one is crossed off)
    def _locate(self, path: str, size: int, sha: str) -> None:
        found = self.tree.files.pop(path, None)
        if found is not None:
            if found != size:
                self.add("size", path, f"FAILED size expected={size} found={found}")
            else:
                self.to_hash.append((path, size, sha.lower()))
            return
        other = self.tree.others.pop(path, None)
        if other is not None:
            self.add("not_regular", path, f"is {other}, not a regular file; not followed")
            return
        parent = self._blocked_parent(path)
        if parent is None:
            self.add("missing", path, "listed in the manifest but missing")
        elif parent in self.tree.others:
            self.add("not_regular", path, f"lies behind {parent}, a symbolic link; not followed")
        else:
            self.add("unreadable", path, f"lies in {parent}, which cannot be listed")

    def _blocked_parent(self, path: str) -> str | None:
        """The folder on the way to ``path`` that the walk did not enter (a link, unlistable)."""
        parts = path.split("/")
        for end in range(1, len(parts)):
            parent = "/".join(parts[:end])
            if parent in self.tree.others or parent in self.tree.unreadable:
                return parent
        return None

    def finish_completeness(self) -> None:
        extras = {path: "" for path in self.tree.files}
        extras.update((path, f" ({kind}; not followed)") for path, kind in self.tree.others.items())
        for path in sorted(extras):
            self.add("extra", path, f"present but not in the manifest{extras[path]}")

    # 4. fixity
    def fixity(self, root: Path, jobs: int) -> None:
        files = [os.path.join(root, path) for path, _, _ in self.to_hash]
        sizes = [size for _, size, _ in self.to_hash]
        for (path, size, expected), (found, error) in zip(
            self.to_hash, hash_files(files, sizes, jobs), strict=True
        ):
            if error is not None:
                self.add("unreadable", path, f"FAILED open or read ({error})")
            elif found != expected:
                self.add("sha256", path, f"FAILED sha256 expected={expected} found={found}")
            else:
                self.bytes += size
        self.to_hash = []

    # 5. the recipe hash
    def recipe_hash(self) -> None:
        expected = self.header.get("recipe_sha256")
        found = canonical_sha256(self.header.get("recipe"))
        if not isinstance(expected, str) or expected.lower() != found:
            self.add(
                "recipe",
                f"{self.manifest}:1",
                f"FAILED recipe sha256 expected={expected} found={found}; "
                "the embedded recipe is not the one hashed",
            )

    # 5b. SHA256SUMS, which plain shells trust, must say what the manifest says
    def sums_file(self, root: Path) -> None:
        sums = root / SUMS_NAME
        if sums.is_symlink() or not sums.is_file():
            self.add("sums", SUMS_NAME, "missing (or not a regular file)")
            return
        digest = hashlib.sha256()
        with open(sums, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != self._sums.hexdigest():
            self.add("sums", SUMS_NAME, "FAILED: does not list exactly the manifest's files")

    # 6. leakage, and the provenance of originals
    def _provenance(self, number: int, record: dict[str, Any]) -> None:
        path, split, role = record["path"], record.get("split"), record["role"]
        source = record["source"]
        source_path, source_sha = source.get("path"), source.get("sha256")
        if role == "dataset":
            return  # a file of the dataset itself (data.yaml): in no split
        if self.found_splits:
            for where in (path, source_path):
                # The split folder is the top folder, or the one below images/ or labels/.
                if isinstance(where, str) and split not in where.split("/")[:2]:
                    self.add("leakage", where, f"recorded in split {split!r} but is not under it")
        if role == "augmented" and not self._augmentable(split):
            self.add(
                "leakage",
                path,
                f"augmented from split {split!r}, which the recipe does not augment "
                f"(augments: {', '.join(sorted(self.augment)) or 'none'})",
            )
        if role == "original" and str(record["sha256"]).lower() != str(source_sha).lower():
            self.add("source", path, "an original whose sha256 differs from its source's")
        reason = unsafe_reason(source_path)
        if reason is not None:
            self.add("unsafe_path", _text(source_path), f"unsafe source path ({reason})")
            return
        if not isinstance(source_sha, str) or not _HEX64.match(source_sha):
            self.at(number, f"source sha256 {source_sha!r} is not 64 hex digits")
            return
        if record.get("kind", "image") == "image":
            # Label files may share content across splits (two empty background labels do).
            self._source_split(number, source_path, split, source_sha.lower())

    def _augmentable(self, split: Any) -> bool:
        # An unsplit dataset (split null) is one split, and it is augmented.
        return split in self.augment or (split is None and not self.found_splits)

    def _source_split(self, number: int, source_path: str, split: Any, sha: str) -> None:
        seen = self.sources_seen.get(source_path)
        if seen is not None:
            if seen.split != split:
                self.add(
                    "leakage",
                    source_path,
                    f"source appears in two splits ({seen.split!r} and {split!r})",
                )
            if seen.sha256 != sha:
                self.at(number, f"source {source_path!r} recorded with two different sha256")
            return
        self.sources_seen[source_path] = _Source(split, sha)
        first = self.by_content.setdefault(sha, (split, source_path))
        if first[0] != split:
            self.add(
                "leakage",
                source_path,
                f"same content (sha256 {sha}) as {first[1]} in split {first[0]!r}",
            )

    # 7. the sources, read by the link rules expand read them by
    def sources(self, source_root: Path, jobs: int) -> int:
        follow_links = _mapping(_mapping(self.header.get("recipe")).get("input")).get(
            "follow_links"
        )
        paths: list[str] = []
        sizes: list[int] = []
        wanted: list[tuple[str, str, str]] = []
        for rel, seen in self.sources_seen.items():
            full = os.path.join(source_root, rel)
            problem, size, real = _source_problem(source_root, rel, follow_links is True)
            if problem is not None:
                self.add("source", full, problem)
                self.bad_sources.add(rel)
                continue
            self.source_files[rel] = real
            paths.append(real)
            sizes.append(size)
            wanted.append((rel, full, seen.sha256))
        checked = 0
        for (rel, full, expected), (found, error) in zip(
            wanted, hash_files(paths, sizes, jobs), strict=True
        ):
            if error is not None:
                self.add("source", full, f"FAILED open or read ({error})")
                self.bad_sources.add(rel)
            elif found != expected:
                self.add("source", full, f"FAILED source sha256 expected={expected} found={found}")
                self.bad_sources.add(rel)
            else:
                checked += 1
        return checked

    # 8. re-derivation
    def recompute(
        self, reader: _ManifestReader, source_root: Path, count: Recompute, kernels: str, jobs: int
    ) -> int:
        from augtool.validate.relabel import AnnotationError, label_rules

        try:
            rules, coco = label_rules(self.header, source_root)
        except AnnotationError as exc:
            self.add("recompute", str(source_root), f"cannot read the source's labels: {exc}")
            rules, coco = None, None
        lines = self.augmented_lines or []
        chosen = [lines[i] for i in _choose(len(lines), count)]
        images = {}
        for _, record in reader.lines_at(set(chosen)):
            images[record["path"]] = record
        labels: dict[str, list[dict[str, Any]]] = {}
        wanted = {n for path in images for n in self.label_lines.get(path, [])}
        for _, record in reader.lines_at(wanted):
            labels.setdefault(record["image"], []).append(_label_fields(record))
        limits = _limits(self.header)
        groups: dict[str, list[dict[str, Any]]] = {}
        for path, record in images.items():
            rel = record["source"]["path"]
            if rel in self.bad_sources or unsafe_reason(rel) is not None:
                continue  # already reported as a source problem
            fields = _replay_fields(record)
            if rules is not None:
                fields["labels"] = labels.get(path, [])
                if coco is not None and "coco" in record:
                    fields["coco"] = {k: record.get(k) for k in ("coco", "dropped")}
                    fields["coco_source"] = coco.task_coco(rel)
            groups.setdefault(rel, []).append(fields)
        tasks = [
            (self.source_files[rel], limits, kernels, g, rules, str(source_root))
            for rel, g in groups.items()
        ]
        versions = _versions_note(self.header, kernels)
        done = 0
        for results in map_in_order(
            _recompute_group, tasks, jobs, sum(len(t[3]) for t in tasks) >= POOL_MIN_RECOMPUTE
        ):
            for path, outcome, text in results:
                if outcome == "error":
                    self.add("recompute", path, f"cannot re-derive: {text}")
                elif outcome == "differs":
                    self.add("recompute", path, f"FAILED recompute {text}{versions}")
                else:
                    done += 1
        if coco is not None:
            done += self._rebuild_coco_json(coco)
        return done

    def _rebuild_coco_json(self, coco: Any) -> int:
        """Each split's COCO JSON against the one its image lines make (no decoding)."""
        from augtool.validate.relabel import split_json_sha

        by_json = {split.json_path: name for name, split in coco.splits.items()}
        done = 0
        for record in self.coco_json_lines:
            path, source = record["path"], record["source"].get("path")
            name = by_json.get(source)
            if name is None:
                self.add("recompute", path, f"cannot re-derive: {source!r} is not in --source")
                continue
            found = split_json_sha(coco.splits[name], self.coco_lines.get(name, []))
            if found != str(record["sha256"]).lower():
                self.add(
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
    from augtool.run.worker import library_versions

    made = (header or {}).get("libraries") or {}
    here = library_versions(kernels)
    differ = [name for name, version in here.items() if made.get(name) != version]
    if not differ:
        return ""
    named = ", ".join(f"{name} {made.get(name, 'unknown')}" for name in differ)
    found = ", ".join(f"{name} {here[name]}" for name in differ)
    return f" (the manifest names {named}; this machine has {found})"


def _source_problem(source_root: Path, rel: str, follow_links: bool) -> tuple[str | None, int, str]:
    """Why a source file cannot be hashed (``None``: it can), its size and the file to read:
    its real path, its links resolved. A link is followed only where expand follows it (the
    recipe's ``input.follow_links``); links are resolved by name (lstat, readlink), never
    opened, and the real path is then opened without following a link."""
    from augtool.layouts.discovery import read_refusal

    full = os.path.join(source_root, rel)
    try:
        os.lstat(full)
    except FileNotFoundError:
        return "source listed in the manifest but missing", 0, full
    except OSError as exc:
        return f"FAILED open or read ({exc.strerror or exc})", 0, full
    refusal = read_refusal(source_root, rel, follow_links)
    if refusal is not None:
        return f"{refusal}; not followed (expand does not read it)", 0, full
    real = os.path.realpath(full)
    try:
        info = os.lstat(real)
    except OSError as exc:
        return f"FAILED open or read ({exc.strerror or exc})", 0, full
    if not stat.S_ISREG(info.st_mode):
        return "source is not a regular file", 0, full
    return None, info.st_size, real


def _choose(total: int, count: Recompute) -> list[int]:
    """Which augmented records to re-derive: seeded, so a rerun checks the same ones."""
    if count == "all" or count >= total:
        return list(range(total))
    import numpy as np

    rng = np.random.default_rng(RECOMPUTE_SEED)
    return sorted(int(i) for i in rng.choice(total, size=count, replace=False))


def _limits(header: dict[str, Any]) -> Any:
    """The run's input limits (formats, max_pixels), as its recipe stated them."""
    from augtool.run.derive import InputLimits

    section = (header.get("recipe") or {}).get("input") or {}
    max_pixels = section.get("max_pixels")
    return InputLimits(
        tuple(section.get("formats") or []),
        max_pixels if isinstance(max_pixels, int) and not isinstance(max_pixels, bool) else None,
    )


def _kernels(manifest: Path, header: dict[str, Any]) -> str:
    """The warp kernels the run used (absent from recipes that kept the default, Pillow).
    OpenCV must be importable to re-derive what it made: a usage error, before any work."""
    from augtool.media.image.transforms import kernels

    recipe = header.get("recipe") or {}
    chosen = recipe.get("kernels", kernels.DEFAULT)
    if chosen not in kernels.KERNELS:
        raise ManifestError(f"{manifest}:1: the recipe names unknown kernels {chosen!r}")
    if chosen == "opencv" and not kernels.opencv_installed():
        raise UsageError(
            "{path}: {recompute} needs OpenCV, as the run used 'kernels: opencv' ({hint})",
            path=manifest,
            hint=kernels.INSTALL_HINT,
        )
    return str(chosen)


def _label_fields(record: dict[str, Any]) -> dict[str, Any]:
    """What re-deriving a label file needs of its line: its source, and what the line says."""
    return {
        "path": record["path"],
        "sha256": str(record["sha256"]).lower(),
        "source": record["source"].get("path"),
        "source_sha256": str(record["source"].get("sha256")).lower(),
        "said": {k: record.get(k) for k in ("dropped", "flipped_labels")},
    }


def _replay_fields(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": record["path"],
        "sha256": str(record["sha256"]).lower(),
        "source_sha256": str(record["source"]["sha256"]).lower(),
        "steps": record.get("steps") or [],
        "encoder": record.get("encoder"),
        "metadata": record.get("metadata"),
    }


Outcome = tuple[str, str, str | None]  # (path, "ok" | "differs" | "error", what)


def _recompute_group(
    source_file: str,
    limits: Any,
    kernels: str,
    records: list[dict[str, Any]],
    rules: Any = None,
    source_root: str = "",
) -> list[Outcome]:
    """Decode one source once and re-derive each of its chosen outputs and their labels through
    :mod:`augtool.run.derive`, as expand derived them (runs in a worker)."""
    from augtool.media.image.codecs import DecodeError
    from augtool.run.allocator import keep_freed_memory
    from augtool.run.derive import derive, open_source

    keep_freed_memory()

    def failed(message: str) -> list[Outcome]:
        paths = [r["path"] for r in records]
        paths += [label["path"] for r in records for label in r.get("labels", [])]
        return [(path, "error", message) for path in paths]

    try:
        data = _read_no_follow(source_file)
    except OSError as exc:
        return failed(f"cannot read the source ({exc.strerror or exc})")
    if hashlib.sha256(data).hexdigest() != records[0]["source_sha256"]:
        return failed("the source's sha256 is not the recorded one")
    try:
        opened = open_source(data, limits, kernels)
    except DecodeError as exc:
        return failed(f"cannot decode the source: {exc}")
    results: list[Outcome] = []
    for record in records:
        try:
            kept = record["metadata"] == "kept"
            variant = derive(opened, records=record["steps"], encoder=record["encoder"],
                             keep_metadata=kept)  # fmt: skip
        except Exception as exc:  # a hand-edited record may hold anything: report, don't crash
            results.append((record["path"], "error", f"{type(exc).__name__}: {exc}"))
            continue
        assert variant.data is not None
        results.append(_compare_bytes(record["path"], record["sha256"], variant.data))
        if rules is not None:
            results.extend(_recompute_labels(record, opened, rules, source_root))
    return results


def _compare_bytes(path: str, expected: str, made: bytes) -> Outcome:
    found = hashlib.sha256(made).hexdigest()
    if found == expected:
        return path, "ok", None
    return (
        path,
        "differs",
        f"sha256 expected={expected} found={found}; re-deriving from the source and the "
        "recorded steps gives other bytes",
    )


def _recompute_labels(
    record: dict[str, Any], opened: Any, rules: Any, source_root: str
) -> list[Outcome]:
    """An augmented image's label files and COCO annotations, re-derived from the source's."""
    from augtool.validate.relabel import moved_coco, moved_label

    results: list[Outcome] = []
    for label in record.get("labels", []):
        path = label["path"]
        if unsafe_reason(label["source"]) is not None:
            results.append((path, "error", "its source path is unsafe"))
            continue
        try:
            data = _read_no_follow(os.path.join(source_root, label["source"]))
        except OSError as exc:
            results.append((path, "error", f"cannot read {label['source']} ({exc.strerror})"))
            continue
        if hashlib.sha256(data).hexdigest() != label["source_sha256"]:
            results.append((path, "error", f"{label['source']}'s sha256 is not the recorded one"))
            continue
        try:
            written, said = moved_label(opened, rules, record["steps"], data, label["source"])
        except Exception as exc:  # a hand-edited record may hold anything: report, don't crash
            results.append((path, "error", f"{type(exc).__name__}: {exc}"))
            continue
        outcome = _compare_bytes(path, label["sha256"], written)
        recorded = {k: v for k, v in label["said"].items() if v is not None}
        if outcome[1] == "ok" and recorded != said:
            outcome = (path, "differs", f"of what the line says: {recorded} against {said}")
        results.append(outcome)
    if "coco" in record:
        path, source = record["path"], record.get("coco_source")
        if source is None:
            return [*results, (path, "error", "its image is not in the source's COCO JSON")]
        try:
            said = moved_coco(opened, rules, record["steps"], source, path)
        except Exception as exc:  # a hand-edited record may hold anything: report, don't crash
            return [*results, (path, "error", f"{type(exc).__name__}: {exc}")]
        if said != record["coco"]:
            results.append((path, "differs", "of its COCO annotations (or dropped ids)"))
    return results


# --- hashing ------------------------------------------------------------------------------------


def _read_no_follow(path: str) -> bytes:
    fd = os.open(path, OPEN_FLAGS)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


# --- text ---------------------------------------------------------------------------------------


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _shown(path: str) -> str:
    """A path as one printable line: names with control characters or undecodable bytes are
    shown as a JSON string, so a crafted name cannot forge extra report lines."""
    if path.isprintable():
        return path
    return json.dumps(path)


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    value = count / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
