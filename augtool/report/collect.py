"""Which files a report reads, and reading them into sides.

Three inputs, one path: a folder (one side), two folders (two sides, for drift) or an
expansion's manifest (its sources, and the expanded dataset with each variant's source and the
steps that fired). Folders are found and labelled by the layouts (:mod:`augtool.layouts`); a
manifest is read only through :class:`~augtool.manifest.reader.ManifestReader`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augtool.errors import InputError, ManifestError
from augtool.layouts.discovery import Dataset, Source
from augtool.report.labels import LabelReader
from augtool.report.model import Side, Variant
from augtool.report.read import Group, GroupResult, read_group

Progress = Callable[[int, int], None]
#: Fewer files than this are read in-process: a pool's start-up costs more than it saves.
SMALL_JOB = 64

#: Endings of each medium's files, to tell two datasets of different media apart.
MEDIA_ENDINGS = {
    "audio": (".wav", ".flac", ".ogg", ".mp3"),
    "text": (".csv", ".jsonl", ".txt"),
}


@dataclass
class Collected:
    sides: list[Side]
    variants: list[Variant] = field(default_factory=list)
    #: files decoded in this report (the others came from the cache)
    decoded: int = 0
    files: int = 0
    manifest: dict[str, Any] | None = None
    #: each source's file on the sources' side (an expansion's original, or the source itself)
    source_files: dict[str, str] = field(default_factory=dict)


def discover(root: Path) -> tuple[str, Dataset]:
    """The medium of the folder ``root`` and its dataset, in the layout ``auto`` finds, as
    expand would read it: images by the default endings, else the files of the medium their
    endings name (``.wav`` in class folders, ``.csv`` tables)."""
    from augtool.layouts.discovery import discover as walk
    from augtool.recipe.fields import DEFAULT_EXTENSIONS

    splits = ["train", "val", "test"]
    dataset = walk(root, "auto", DEFAULT_EXTENSIONS, splits, [])
    if dataset.sources:
        return "image", dataset
    endings = {p.suffix.lower() for p in root.rglob("*") if p.is_file()}
    for medium, known in MEDIA_ENDINGS.items():
        if endings & set(known):
            return medium, walk(root, "auto", sorted(endings & set(known)), splits, [])
    return "none", dataset


def discover_as_recorded(root: Path, header: dict[str, Any]) -> Dataset:
    """The dataset in ``root`` in the layout, split names and file endings the manifest's
    header records (with the default endings: an output may be written in another format)."""
    from augtool.layouts.discovery import discover as walk
    from augtool.recipe.fields import DEFAULT_EXTENSIONS

    recipe = header.get("recipe") if isinstance(header.get("recipe"), dict) else {}
    names = (recipe.get("splits") or {}).get("names") or ["train", "val", "test"]
    endings = (recipe.get("input") or {}).get("extensions") or []
    extensions = sorted({*DEFAULT_EXTENSIONS, *endings})
    return walk(root, str(header.get("layout") or "auto"), extensions, names, [])


def check_media(roots: list[Path], media: list[str]) -> None:
    """Refuse datasets of different media, or of none."""
    if len(set(media)) > 1:
        said = ", ".join(f"{root} holds {m}" for root, m in zip(roots, media, strict=True))
        raise InputError(f"{said}: a report compares datasets of one medium")
    if media[0] == "none":
        raise InputError(f"{roots[0]}: no image, audio or text files found")


def run_groups(
    groups: list[tuple[Group, Any]],
    cache_path: Path | None,
    jobs: int,
    progress: Progress | None,
) -> Iterator[tuple[Any, GroupResult]]:
    """Each group's result with its tag, in order, read by ``jobs`` processes (in-process for
    a small job: a pool's start-up would cost more than it saves). New cache entries are
    written as results arrive."""
    from augtool.report import cache

    writer = None if cache_path is None else cache.open_writer(cache_path)
    where = None if cache_path is None else str(cache_path)
    total = sum(len(g.files) for g, _ in groups)
    done = 0
    try:
        if jobs <= 1 or total < SMALL_JOB:
            results: Iterator[GroupResult] = (read_group(g, where) for g, _ in groups)
        else:
            from joblib import Parallel, delayed

            pool = Parallel(n_jobs=jobs, return_as="generator", batch_size=4)
            results = pool(delayed(read_group)(g, where) for g, _ in groups)
        for (group, tag), result in zip(groups, results, strict=True):
            if writer is not None:
                cache.store(writer, result.fresh)
            done += len(group.files)
            if progress is not None:
                progress(done, total)
            yield tag, result
    finally:
        if writer is not None:
            writer.close()


def new_side(name: str, root: Path, dataset: Dataset, medium: str = "image") -> Side:
    from augtool.layouts import registry

    layout = registry.get(dataset.layout)
    detection = layout.labelled and layout.object_labels and medium == "image"
    return Side(name, str(root), dataset.layout, detection=detection, medium=medium)


def new_group(files: tuple[tuple[str, str], ...], side: Side, paired: bool, recipe: Any) -> Group:
    """The files of one source (and its variants) read together, decoded as ``side``'s medium."""
    from augtool.report.media_stats import text_settings

    settings = text_settings(side.layout, recipe) if side.medium == "text" else ""
    return Group(files, paired=paired, medium=side.medium, settings=settings)


def collect_folders(
    roots: list[Path], cache_path: Path | None, jobs: int, progress: Progress | None
) -> Collected:
    """One side per folder."""
    media, datasets = zip(*(discover(root) for root in roots), strict=True)
    check_media(roots, list(media))
    names = ["dataset"] if len(roots) == 1 else ["A", "B"]
    sides = [new_side(*found) for found in zip(names, roots, datasets, media, strict=True)]
    readers = [LabelReader(r, d) for r, d in zip(roots, datasets, strict=True)]
    groups = [
        (new_group(((str(root / s.path), s.path),), sides[index], False, None), (index, s))
        for index, (root, dataset) in enumerate(zip(roots, datasets, strict=True))
        for s in dataset.sources
    ]
    collected = Collected(sides, files=len(groups))
    for (index, source), result in run_groups(groups, cache_path, jobs, progress):
        collected.decoded += len(result.fresh)
        _add(sides[index], readers[index], source, result.files[0])
    return collected


def _add(side: Side, reader: LabelReader, source: Source, found: Any) -> None:
    if found.stats is None:
        side.unreadable.append({"path": source.path, "reason": str(found.error)})
        return
    boxes = None
    if side.detection:  # images only (new_side)
        size = (found.stats["height"], found.stats["width"])
        boxes, problem = reader.boxes(source, size)
        if problem is not None:
            side.unreadable.append({"path": source.annotation or source.path, "reason": problem})
    side.add(source.path, found.stats, source.split, source.label, boxes)


def collect_manifest(
    manifest: Path,
    source_root: Path | None,
    verify: bool,
    cache_path: Path | None,
    jobs: int,
    progress: Progress | None,
) -> Collected:
    """The sources and the expanded dataset of the manifest at ``manifest``."""
    from augtool.manifest.reader import ManifestReader

    reader = ManifestReader(manifest, mode="report" if verify else "salvage")
    header = reader.header()
    originals: dict[str, str] = {}  # source path -> the original's path in OUT
    variants: dict[str, list[tuple[str, str]]] = {}  # source path -> (variant path, mix)
    for entry in reader.entries():
        value = entry.value
        if value.get("type") != "file" or value.get("kind") is not None:
            continue
        source = value.get("source") or {}
        if value.get("role") == "original":
            originals[source.get("path", value["path"])] = value["path"]
        elif value.get("role") == "augmented":
            variants.setdefault(source.get("path"), []).append((value["path"], mix_of(value)))
    if verify and reader.problems:
        number, message = reader.problems[0]
        raise ManifestError(
            f"{manifest}:{number}: {message}; the report is refused (--no-verify reports anyway)"
        )
    out_root = manifest.parent
    if source_root is None and variants and not originals:
        raise InputError(
            f"{manifest}: the output holds no originals (originals: skip); "
            "name the sources' folder with --source"
        )
    return _read_expansion(
        header, out_root, source_root, originals, variants, cache_path, jobs, progress
    )


def _read_expansion(
    header: dict[str, Any],
    out_root: Path,
    source_root: Path | None,
    originals: dict[str, str],
    variants: dict[str, list[tuple[str, str]]],
    cache_path: Path | None,
    jobs: int,
    progress: Progress | None,
) -> Collected:
    before_root = out_root if source_root is None else source_root
    expanded = discover_as_recorded(out_root, header)
    before = expanded if source_root is None else discover_as_recorded(before_root, header)
    from augtool.media.registry import medium_of_recipe

    recipe = header.get("recipe") if isinstance(header.get("recipe"), dict) else None
    medium = medium_of_recipe(recipe)
    sides = [
        new_side("sources", before_root, before, medium),
        new_side("expanded", out_root, expanded, medium),
    ]
    by_path = [{s.path: s for s in before.sources}, {s.path: s for s in expanded.sources}]
    readers = [LabelReader(before_root, before), LabelReader(out_root, expanded)]
    groups = []
    for source in sorted(set(originals) | set(variants)):
        in_before = source if source_root is not None else originals.get(source)
        files = [] if in_before is None else [(str(before_root / in_before), in_before)]
        made = variants.get(source, [])
        files += [(str(out_root / path), path) for path, _ in made]
        tag = (source, in_before, originals.get(source), made)
        groups.append((new_group(tuple(files), sides[0], in_before is not None, recipe), tag))
    collected = Collected(sides, files=sum(len(g.files) for g, _ in groups), manifest=header)
    for (source, in_before, original, made), result in run_groups(
        groups, cache_path, jobs, progress
    ):
        collected.decoded += len(result.fresh)
        found = iter(result.files)
        if in_before is not None:
            collected.source_files[source] = in_before
            first = next(found)
            item = by_path[0].get(in_before) or Source(in_before, None, None, False)
            _add(sides[0], readers[0], item, first)
            if original is not None:  # the same file is part of the expanded dataset
                copy = by_path[1].get(original) or item
                _add(sides[1], readers[1], copy, first)
        for (path, mix), file in zip(made, found, strict=True):
            item = by_path[1].get(path) or Source(path, None, None, True)
            _add(sides[1], readers[1], item, file)
            collected.variants.append(Variant(path, source, mix, file.ssim))
    return collected


def mix_of(record: dict[str, Any]) -> str:
    """The leaf steps that fired in a variant, in order: ``hflip + rotate``."""
    names: list[str] = []

    def walk(steps: list[dict[str, Any]]) -> None:
        for step in steps:
            if not step.get("fired"):
                continue
            if step.get("steps"):
                walk(step["steps"])
            else:
                names.append(str(step.get("name")))

    walk(record.get("steps") or [])
    return " + ".join(names) if names else "(none)"
