"""The expand job: discover → plan → run tasks (in-process or on a joblib pool) → manifest.

Results stream back as batches finish (``augtool.run.pool``: a bounded window of batches, so the
main process never holds more than a few) and are journaled as they arrive; nothing but counters
is kept in memory. The manifest is written last, sorted from the journal, so a run that stops
early never leaves a manifest that looks complete.

A run into a folder that holds an earlier run of the same recipe is incremental: a source whose
bytes and outputs are unchanged is kept (recognised by the stat cache, or by hashing), a new or
changed source is (re)done, and the outputs of a source that is gone are removed. An interrupted
run is finished the same way, from its journal. Whatever the path, the final tree and manifest
are the bytes a clean run would write.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import itertools
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

from augtool import __version__
from augtool.atomic import TEMP_PREFIX, write_atomic
from augtool.canonical import canonical_sha256
from augtool.errors import InputError, OutputError, WriteError
from augtool.layouts.discovery import Dataset, discover
from augtool.manifest import (
    CONTRACT_FILES,
    MANIFEST_NAME,
    RUN_NAME,
    SCHEMA,
    SCHEMA_VERSION,
    STATE_DIR,
    FileRecord,
    Header,
    Line,
    ManifestReader,
    RecordDict,
    Skipped,
    SourceRef,
    as_line,
    has_header,
    sort_prepared,
    sort_records,
    unlisted_files,
    write_manifest,
)
from augtool.recipe import Recipe
from augtool.run.forecast import forced_removals, forecast
from augtool.run.incremental import (
    JOURNAL_NAME,
    LOCK_NAME,
    RUN_STATE_NAME,
    Earlier,
    Journal,
    OutputLock,
    Previous,
    Stat,
    TaskResult,
    finish_run,
    load_previous,
    read_journal,
    recipe_difference,
    remove_temp_files,
    source_shas,
    stat_cache_writer,
    stat_of,
    write_run_state,
)
from augtool.run.plan import Plan, Task, make_plan
from augtool.run.pool import WorkerLost, raise_if_interrupted, run_batches, stop_workers
from augtool.run.worker import JobContext, library_versions, process_tasks

BACKENDS = ("loky", "threading", "sequential", "dask")
#: Below this many outputs a pool costs more to start than it saves: run in-process.
SMALL_JOB_OUTPUTS = 48
TASKS_PER_BATCH = 4
BROKEN_LINK = "a broken symbolic link (or a link loop)"

Progress = Callable[[int, int], None]


@dataclass
class Summary:
    """What a run did (or, with ``dry_run``, would do)."""

    input: str
    output: str
    layout: str
    sources: int
    planned_outputs: int
    counts: Counter[str] = field(default_factory=Counter)
    #: made, kept and removed files: how this run got there (not part of the manifest).
    activity: Counter[str] = field(default_factory=Counter)
    skipped: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False
    #: ``--backend dask``: the scheduler (``None``: a local cluster) and how many workers ran
    #: batches; stays ``None`` when no batch went to a cluster (a small job, a no-op rerun).
    cluster: dict[str, Any] | None = None
    #: files in the output that augtool did not make (left in place; validate reports them)
    unlisted: list[str] = field(default_factory=list)
    #: what the run did but may not be what was meant (a flip pair naming no class)
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The summary as plain JSON (what ``expand --json`` prints): paths, layout, planned and
        written counts, files made, kept and removed, skipped inputs with their reasons."""
        found = {
            "input": self.input,
            "output": self.output,
            "layout": self.layout,
            "sources": self.sources,
            "planned_outputs": self.planned_outputs,
            "counts": dict(sorted(self.counts.items())),
            "made": self.activity["made"],
            "kept": self.activity["kept"],
            "removed": self.activity["removed"],
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "dry_run": self.dry_run,
            "unlisted": self.unlisted,
            "warnings": self.warnings,
        }
        if self.cluster is not None:
            found["cluster"] = self.cluster
        return found


def resolve_paths(
    recipe: Recipe, input_arg: str | None, output_arg: str | None
) -> tuple[Path, Path]:
    """Input and output folders: the command line wins over the recipe."""
    input_path = input_arg or recipe.input["path"]
    output_path = output_arg or recipe.output["path"]
    if input_path is None:
        raise InputError("no input folder: give INPUT or set input.path in the recipe")
    if output_path is None:
        raise OutputError("no output folder: give -o OUT or set output.path in the recipe")
    return Path(input_path), Path(output_path)


def discover_dataset(recipe: Recipe, input_root: Path) -> Dataset:
    """The input as the recipe sees it (layout, endings, splits, link rule); refuses an input
    with no image file at all."""
    dataset = discover(
        input_root,
        recipe.input["layout"],
        recipe.input["extensions"],
        recipe.splits["names"],
        recipe.splits["augment"],
        follow_links=recipe.input["follow_links"],
    )
    if not dataset.sources and not dataset.skipped:
        endings = ", ".join(recipe.input["extensions"])
        raise InputError(f"{input_root}: no image files found (endings: {endings})")
    return dataset


def check_output(input_root: Path, output_root: Path) -> None:
    """Refuse an output that cannot be a folder, overlaps the input, or is a non-empty folder
    augtool did not make (see :func:`is_augtool_output`)."""
    _check_folder_path(output_root)
    inp = input_root.resolve()
    out = output_root.resolve()
    if out == inp or inp in out.parents:
        raise OutputError(f"{output_root}: the output is inside the input {input_root}")
    if out in inp.parents:
        raise OutputError(f"{output_root}: the output contains the input {input_root}")
    try:
        foreign = out.is_dir() and not _holds_nothing(out) and not is_augtool_output(out)
    except OSError as exc:
        raise OutputError(f"{output_root}: cannot read the folder: {exc.strerror}") from None
    if foreign:
        raise OutputError(
            f"{output_root}: not empty and not an augtool output; choose an empty folder"
        )


def _refuse_folder_links(output_root: Path, dataset: Dataset, tasks: Plan) -> None:
    """Refuse to write through a link to a folder that someone put in the output: augtool
    makes its folders itself, and a file written below such a link would land in its target,
    outside the output. One walk, without following links; the plan's names are looked at only
    when there is a link."""
    if not output_root.is_dir():
        return
    links = []
    for folder, dirs, _ in os.walk(output_root, followlinks=False):
        rel = Path(folder).relative_to(output_root).as_posix()
        for name in dirs:
            if os.path.islink(os.path.join(folder, name)):
                links.append(name if rel == "." else f"{rel}/{name}")
        dirs[:] = [d for d in dirs if d != STATE_DIR or rel != "."]
    if not links:
        return
    planned = itertools.chain(_dataset_files(dataset), (n for task in tasks for n in task.names))
    prefixes = tuple(f"{link}/" for link in links)
    for name in planned:
        if name.startswith(prefixes):
            link = next(link for link in links if name.startswith(f"{link}/"))
            raise OutputError(
                f"{output_root}: {link} is a symbolic link to a folder, and {name} would be "
                "written through it, outside the output; remove the link"
            )


def is_augtool_output(folder: Path) -> bool:
    """Its manifest begins with an augtool header, or augtool's state folder holds the state of
    a run (an interrupted one has no manifest yet). A ``manifest.jsonl`` of another tool, or a
    bare ``.augtool/lock``, does not make a folder augtool's."""
    state = folder / STATE_DIR
    if any((state / name).is_file() for name in (RUN_STATE_NAME, JOURNAL_NAME)):
        return True
    return has_header(folder / MANIFEST_NAME)


def _holds_nothing(folder: Path) -> bool:
    """Empty, or holding only augtool's state folder with no more than its lock (and temp
    files) in it: what a run stopped before it wrote anything leaves."""
    for child in folder.iterdir():
        if child.name != STATE_DIR or child.is_symlink() or not child.is_dir():
            return False
        for inner in child.iterdir():
            if inner.name != LOCK_NAME and not inner.name.startswith(TEMP_PREFIX):
                return False
    return True


def _nearest_existing(path: Path) -> Path:
    """``path``, or its nearest parent that exists (as anything, a broken link too)."""
    while not os.path.lexists(path) and path.parent != path:
        path = path.parent
    return path


def _check_folder_path(output_root: Path) -> None:
    """The output is a folder or can be made one: the nearest part of its path that exists
    must be a folder (a file or a broken link there fails ``mkdir``)."""
    probe = _nearest_existing(output_root)
    if not os.path.lexists(probe) or probe.is_dir():
        return
    broken = not probe.exists()  # a link to nothing, or a link loop
    if probe == output_root:
        problem = BROKEN_LINK if broken else "exists and is not a folder"
        raise OutputError(f"{output_root}: {problem}")
    raise OutputError(f"{output_root}: {probe} is {BROKEN_LINK if broken else 'not a folder'}")


def _check_writable(output_root: Path) -> None:
    """--dry-run: the refusal the real run meets when it makes the folder or takes its lock in
    a read-only or forbidden place (the real run tells them by the error it gets)."""
    if os.path.lexists(output_root):
        state = output_root / STATE_DIR
        probe = state if state.is_dir() else output_root
        problem = "cannot write in the output folder"
    else:
        probe = _nearest_existing(output_root.parent)
        problem = "cannot create the output folder"
    code = None
    if os.statvfs(probe).f_flag & os.ST_RDONLY:
        code = errno.EROFS
    elif not os.access(probe, os.W_OK | os.X_OK):
        code = errno.EACCES
    if code is not None:
        raise OutputError(f"{output_root}: {problem}: {os.strerror(code)}")


def _earlier_run(recipe: Recipe, input_root: Path, output_root: Path, resume: bool) -> Previous:
    """What earlier runs left in OUT, read (never written) before the run writes anything, so
    that its refusals leave OUT as it was: ``--resume`` where no run was interrupted, a damaged
    manifest, another recipe's output, an output made from another input folder (whose outputs
    the run would remove as vanished: a typo in INPUT must not wipe an output). The caller
    closes the result."""
    if resume:
        _check_resumable(output_root)
    previous = load_previous(output_root)
    try:
        if resume and previous.empty:
            raise OutputError(f"{output_root}: there is no earlier run here to resume")
        if not previous.empty and previous.recipe_sha256 != recipe.sha256:
            difference = recipe_difference(previous.recipe, recipe.normalised)
            raise OutputError(
                f"{output_root}: made by another recipe ({difference}); use --force to rebuild it"
            )
        earlier_input = previous.input_root
        if not previous.empty and earlier_input and earlier_input != str(input_root.resolve()):
            raise OutputError(
                f"{output_root}: made from another input ({earlier_input}, now "
                f"{input_root.resolve()}); use --force to rebuild it from {input_root}"
            )
    except BaseException:
        previous.close()
        raise
    return previous


def _check_resumable(output_root: Path) -> None:
    """--resume needs a run to finish: the state an interrupted run leaves."""
    if (output_root / STATE_DIR / RUN_STATE_NAME).is_file():
        return
    if (output_root / MANIFEST_NAME).is_file():
        raise OutputError(
            f"{output_root}: the last run finished; there is nothing to resume "
            "(run without --resume to update it)"
        )
    raise OutputError(f"{output_root}: there is no earlier run here to resume")


def _run_files_stamp(output_root: Path) -> tuple[Stat | None, ...]:
    """The stat of the files :func:`load_previous` reads: another run that finished or wrote
    here between the read and the lock changes it."""
    state = output_root / STATE_DIR
    paths = (output_root / MANIFEST_NAME, state / RUN_STATE_NAME, state / JOURNAL_NAME)
    return tuple(stat_of(path) for path in paths)


def _locked_output(output_root: Path) -> OutputLock:
    """The output folder, made if need be, locked for the run. When it cannot be locked (a
    read-only or forbidden folder, another run), the folders made for it are removed again."""
    existing = _nearest_existing(output_root)
    try:
        output_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{output_root}: cannot create the output folder: {exc.strerror}"
        ) from None
    lock = OutputLock(output_root)
    try:
        lock.__enter__()
    except OutputError:
        folder = output_root
        while folder != existing and existing in folder.parents:
            with contextlib.suppress(OSError):
                folder.rmdir()
            folder = folder.parent
        raise
    return lock


def expand(
    recipe: Recipe,
    input_root: Path,
    output_root: Path,
    jobs: int,
    backend: str,
    force: bool = False,
    resume: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Summary:
    """Run the whole job, or finish or refresh it when the output holds an earlier run.

    Raises an :class:`~augtool.errors.AugtoolError` before writing anything when the input, the
    plan or the output folder is unusable, or when the output was made by another recipe and
    ``force`` is not set; ``dry_run`` makes the same checks and writes nothing."""
    started = time.perf_counter()
    dataset = discover_dataset(recipe, input_root)
    tasks = make_plan(
        dataset, recipe.variants, recipe.seed, recipe.output["format"], recipe.output["originals"]
    )
    check_output(input_root, output_root)
    _refuse_folder_links(output_root, dataset, tasks)
    summary = Summary(
        input=str(input_root),
        output=str(output_root),
        layout=dataset.layout,
        sources=len(tasks),
        planned_outputs=sum(t.image_count for t in tasks),
        dry_run=dry_run,
        warnings=_unknown_flip_names(recipe, dataset),
    )
    stamp = _run_files_stamp(output_root)
    # --force reads nothing of the earlier run: what it recorded is removed under the lock.
    previous = Previous() if force else _earlier_run(recipe, input_root, output_root, resume)
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: previous.close())  # the one in use at the end (see below)
        if dry_run:
            _check_writable(output_root)
            summary.skipped = [{"path": s.path, "reason": s.reason} for s in dataset.skipped]
            summary.counts["skipped"] = len(dataset.skipped)
            summary.activity = _forecast(recipe, dataset, tasks, previous, input_root, output_root)
            if force:
                planned = {n for t in tasks for n in t.names} | set(_dataset_files(dataset))
                removed = forced_removals(_recorded_files(output_root), planned)
                summary.activity["removed"] = removed
            summary.seconds = time.perf_counter() - started
            return summary
        stack.push(_locked_output(output_root))
        if not force and _run_files_stamp(output_root) != stamp:
            # Another run wrote here between the read and the lock: read what it left.
            previous.close()
            previous = _earlier_run(recipe, output_root, resume)
        removed: IO[str] | None = None
        try:
            if force:
                # The files the earlier run recorded, listed as they are removed (on disk, not
                # in memory), to count afterwards the ones this run does not write again.
                removed = stack.enter_context(
                    tempfile.TemporaryFile("w+", dir=output_root / STATE_DIR)
                )
                _clear_previous_output(output_root, removed)
            _run(recipe, dataset, tasks, input_root, output_root, jobs, backend, previous,
                 summary, progress)  # fmt: skip
        except (KeyboardInterrupt, WorkerLost):
            stop_workers()
            remove_temp_files(output_root)
            raise
        except OSError as exc:
            stop_workers()
            remove_temp_files(output_root)
            raise WriteError(f"{output_root}: writing failed: {exc}; run again to resume") from exc
        if removed is not None:
            summary.activity["removed"] += _not_written_again(output_root, removed)
    summary.seconds = time.perf_counter() - started
    _write_run_json(output_root, summary, jobs, backend)
    return summary


def _run(
    recipe: Recipe,
    dataset: Dataset,
    tasks: Plan,
    input_root: Path,
    output_root: Path,
    jobs: int,
    backend: str,
    previous: Previous,
    summary: Summary,
    progress: Progress | None,
) -> None:
    state_dir = output_root / STATE_DIR
    input_abs = str(input_root.resolve())
    remove_temp_files(output_root)
    libraries = library_versions(recipe.kernels)
    # Another augtool, Pillow or numpy (or OpenCV, for its kernels) may draw, resample or encode
    # differently, so nothing it made can be kept under a header naming this run's versions
    # (an interrupted run's journal and the manifest before it may differ here).
    previous.keep_only_made_with((__version__, libraries))
    if previous.input_root != input_abs:
        # Another input folder has other inodes, so no stat can vouch for a file there.
        previous.source_stats.clear()
        previous.output_stats.clear()
    activity: Counter[str] = Counter()
    if previous.tasks:
        planned = {s.path for s in dataset.sources} | set(_dataset_files(dataset))
        # Whoever made them, the outputs of sources that are gone would be left unlisted.
        activity["removed"] = _remove_vanished(output_root, previous, planned)
    todo: list[Task] = []

    def kept() -> Iterator[TaskResult]:
        """The tasks whose outputs the stat cache vouches for, streamed into the journal (a
        rerun over many sources never holds their records); the others go to ``todo``."""
        for task in tasks:
            earlier = previous.tasks.get(task.source.path)
            quick = None
            if earlier is not None and earlier.keepable:
                quick = _kept_by_stat(task, earlier, previous, input_root, output_root)
            if quick is not None:
                yield quick
            else:
                todo.append(task)

    discovery_skips = [
        TaskResult(s.path, [Skipped(path=s.path, reason=s.reason, sha256=None).to_json()])
        for s in dataset.skipped
    ]
    extras = [_copy_extra(input_root, output_root, name, previous) for name in dataset.extra_files]
    write_run_state(state_dir, recipe.sha256, recipe.normalised, __version__, libraries, input_abs)
    counts: Counter[str] = Counter()
    done = 0

    def counted(results: Iterable[TaskResult]) -> Iterator[TaskResult]:
        nonlocal done
        for result in results:
            _count(counts, activity, result, summary)
            done += result.kept
            yield result

    earlier_work = itertools.chain(discovery_skips, extras, kept() if previous.tasks else ())
    journal = Journal.start(state_dir, counted(earlier_work))
    work: Sequence[Task] = todo if previous.tasks else tasks  # fresh: every task, made on demand
    ctx = JobContext(
        input_root=input_abs,
        output_root=str(output_root.resolve()),
        steps=tuple(recipe.steps),
        formats=tuple(recipe.input["formats"]),
        quality=recipe.output["quality"],
        originals=recipe.output["originals"],
        strip_metadata=recipe.output["strip_metadata"],
        max_pixels=recipe.input["max_pixels"],
        main_pid=os.getpid(),
        label_format=dataset.layout if dataset.layout in ("yolo", "masks", "coco") else None,
        class_names=dataset.names,
        bbox=(recipe.targets["bbox"]["min_visibility"], recipe.targets["bbox"]["min_area"]),
        flip_pairs=tuple((a, b) for a, b in recipe.targets["flip_pairs"]),
        categories=tuple(_categories(dataset)),
        kernels=recipe.kernels,
    )
    todo_outputs = sum(t.image_count for t in work)
    try:
        if progress is not None:
            progress(done, len(tasks))
        for result in _execute(work, previous, ctx, jobs, backend, todo_outputs, summary):
            activity["removed"] += _remove_stale(output_root, previous, result)
            journal.add(result)
            _count(counts, activity, result, summary)
            done += 1
            if progress is not None:
                progress(done, len(tasks))
            raise_if_interrupted()  # an interrupt whose exception Python dropped (pool.py)
        if dataset.coco is not None:
            for result in _write_coco(dataset, journal, input_root, output_root, previous):
                journal.add(result)
                _count(counts, activity, result, summary)
        raise_if_interrupted()  # not a manifest for a run that was interrupted
        counts["sources"] = len(tasks)
        header = _header(recipe, dataset, counts, libraries)
        # One read of the journal feeds both the manifest and the stat cache; the cache is
        # committed after the manifest, and not at all if writing the manifest fails.
        with stat_cache_writer(state_dir, input_abs) as note:

            def lines() -> Iterator[Line]:
                for result in journal.results():
                    note(result)
                    texts = result.lines or [None] * len(result.records)
                    yield from map(as_line, result.records, texts)

            sorted_lines = sort_prepared(lines(), state_dir)
            write_manifest(output_root, header, sorted_lines, dict(sorted(counts.items())))
    finally:
        journal.close()
    finish_run(state_dir)
    summary.counts = counts
    summary.activity = activity
    # Files someone else put in the output are never removed (nothing is lost), but they make
    # the output fail validation, so the run names them.
    summary.unlisted = unlisted_files(output_root, counts["files"])


def _dataset_files(dataset: Dataset) -> list[str]:
    """The files of the dataset as a whole that the run writes (data.yaml, COCO JSONs)."""
    coco = [] if dataset.coco is None else [s.json_path for s in dataset.coco.splits.values()]
    return [*dataset.extra_files, *coco]


def _forecast(
    recipe: Recipe,
    dataset: Dataset,
    tasks: Plan,
    previous: Previous,
    input_root: Path,
    output_root: Path,
) -> Counter[str]:
    """--dry-run: the made, kept and removed counts of the run, with the run's rules for what
    an earlier run left (its versions, its input folder's stats)."""
    previous.keep_only_made_with((__version__, library_versions(recipe.kernels)))
    if previous.input_root != str(input_root.resolve()):
        previous.source_stats.clear()
        previous.output_stats.clear()

    def quick(task: Task, earlier: Earlier) -> TaskResult | None:
        return _kept_by_stat(task, earlier, previous, input_root, output_root)

    return forecast(tasks, _dataset_files(dataset), previous, input_root, output_root, quick)


def _kept_by_stat(
    task: Task, earlier: Earlier, previous: Previous, input_root: Path, output_root: Path
) -> TaskResult | None:
    """The earlier result, when the stat cache vouches for every input (the image, its labels)
    and every output."""
    inputs = [(task.source.path, task.source.link)]
    if task.source.annotation is not None and task.coco is None:
        # (A COCO image's annotations are vouched for by their hash, checked below.)
        inputs.append((task.source.annotation, False))
    records, lines = earlier.read()
    shas = source_shas(records)
    if set(shas) != {path for path, _ in inputs}:
        return None
    stats = {}
    for path, link in inputs:
        cached = previous.source_stats.get(path)
        stat = stat_of(input_root / path, follow=link)
        if cached is None or stat is None or stat != cached[0] or cached[1] != shas[path]:
            return None
        stats[path] = stat
    files = [r for r in records if r["type"] == "file"]
    if task.coco is not None:
        wanted = canonical_sha256(task.coco)
        if any(r.get("coco", {}).get("from") != wanted for r in files):
            return None
    if files and {r["path"] for r in files} != set(task.names):
        return None
    outputs = {}
    for record in files:
        out_stat = stat_of(output_root / record["path"])
        if out_stat is None or out_stat != previous.output_stats.get(record["path"]):
            return None
        outputs[record["path"]] = out_stat
    return TaskResult(task.source.path, records, stats, outputs, kept=True, lines=lines)


def _unknown_flip_names(recipe: Recipe, dataset: Dataset) -> list[str]:
    """A warning for each ``targets.flip_pairs`` name the dataset does not use (a class of
    ``data.yaml``, a COCO category or keypoint name): such a pair swaps nothing, silently."""
    pairs = recipe.targets["flip_pairs"]
    if not pairs:
        return []
    known = {name for _, name in dataset.names}
    for category in _categories(dataset):
        known.add(category.get("name"))
        known.update(category.get("keypoints") or [])
    unknown = [n for pair in pairs for n in pair if n not in known]
    if not unknown:
        return []
    names = ", ".join(repr(n) for n in dict.fromkeys(unknown))
    return [
        f"targets.flip_pairs names {names}, which the dataset ({dataset.layout}) does not name: "
        "those pairs swap nothing"
    ]


def _categories(dataset: Dataset) -> list[Any]:
    from augtool.layouts.coco import categories_of

    return [] if dataset.coco is None else categories_of(dataset.coco)


def _write_coco(
    dataset: Dataset, journal: Journal, input_root: Path, output_root: Path, previous: Previous
) -> list[TaskResult]:
    """Each split's COCO JSON, from the image records of that split, in path order."""
    from augtool.layouts.coco import split_json

    # One sorted pass over the journal: each split's image records, already in path order.
    images: dict[str, list[RecordDict]] = {name: [] for name in dataset.coco.splits}
    records = (r for result in journal.results() for r in result.records)
    for record in sort_records(records, output_root / STATE_DIR):
        if record["type"] == "file" and "coco" in record and record.get("split") in images:
            images[record["split"]].append(record)
    results = []
    for name, split in sorted(dataset.coco.splits.items()):
        data = split_json(split, images[name])
        source = hashlib.sha256((input_root / split.json_path).read_bytes()).hexdigest()
        results.append(
            _write_dataset_file(output_root, split.json_path, data, source, previous, "annotations")
        )
    return results


def _write_dataset_file(
    output_root: Path, name: str, data: bytes, source_sha: str, previous: Previous, kind: str
) -> TaskResult:
    """A file of the dataset as a whole, written unless the same bytes are already there."""
    sha = hashlib.sha256(data).hexdigest()
    earlier = previous.tasks.get(name)
    target = output_root / name
    kept = (
        earlier is not None
        and [r.get("sha256") for r in earlier.records] == [sha]
        and target.is_file()
        and not target.is_symlink()
        and target.read_bytes() == data
    )
    if not kept:
        write_atomic(target, data)
    record = FileRecord(
        kind=kind,
        path=name,
        sha256=sha,
        bytes=len(data),
        role="dataset",
        split=None,
        label=None,
        source=SourceRef(path=name, sha256=source_sha),
        variant=None,
        seed=None,
        steps=[],
    )
    stat = stat_of(target)
    return TaskResult(name, [record.to_json()], {}, {name: stat} if stat else {}, kept=kept)


def _copy_extra(input_root: Path, output_root: Path, name: str, previous: Previous) -> TaskResult:
    """A file of the dataset itself (``data.yaml``), copied as it is and recorded."""
    data = (input_root / name).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    return _write_dataset_file(output_root, name, data, sha, previous, "dataset")


def _remove_vanished(output_root: Path, previous: Previous, planned: set[str]) -> int:
    """Delete the outputs of sources that are gone from the input (or no longer eligible)."""
    return sum(
        _unlink(output_root, record["path"])
        for source, earlier in previous.tasks.items()
        if source not in planned
        for record in earlier.records
        if record["type"] == "file"
    )


def _remove_stale(output_root: Path, previous: Previous, result: TaskResult) -> int:
    """Delete what an earlier run wrote for this source that the new result no longer lists."""
    earlier = previous.tasks.get(result.source)
    if earlier is None:
        return 0
    now = {r["path"] for r in result.records if r["type"] == "file"}
    return sum(
        _unlink(output_root, r["path"])
        for r in earlier.records
        if r["type"] == "file" and r["path"] not in now
    )


def _unlink(output_root: Path, relative: str) -> int:
    """Remove one recorded output; a path that could leave the output folder is never touched."""
    parts = Path(relative).parts
    if Path(relative).is_absolute() or ".." in parts or not parts:
        return 0
    # Nor through a linked folder that someone put in the output: its target is not ours.
    parent = os.path.realpath((output_root / relative).parent)
    root = os.path.realpath(output_root)
    if parent != root and not parent.startswith(root + os.sep):
        return 0
    try:
        (output_root / relative).unlink()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return 0
    return 1


def _count(
    counts: Counter[str], activity: Counter[str], result: TaskResult, summary: Summary
) -> None:
    for record in result.records:
        if record["type"] == "skipped":
            counts["skipped"] += 1
            summary.skipped.append({"path": record["path"], "reason": record["reason"]})
        else:
            counts["files"] += 1
            counts[record["role"]] += 1
            activity["kept" if result.kept else "made"] += 1


def _execute(
    todo: Sequence[Task],
    previous: Previous,
    ctx: JobContext,
    jobs: int,
    backend: str,
    outputs: int,
    summary: Summary,
) -> Iterator[TaskResult]:
    """Each task's result, with the records an earlier run left for its source (checked by
    hashing in the worker), as tasks finish."""
    items = ((task, _earlier_records(previous, task)) for task in todo)
    # With Dask, --jobs sizes a local cluster only: a scheduler's workers are what they are.
    one_worker = jobs == 1 and backend != "dask"
    if backend == "sequential" or one_worker or outputs <= SMALL_JOB_OUTPUTS or len(todo) < 2:
        for item in items:
            yield from process_tasks([item], ctx)
        return
    batches = (
        list(itertools.islice(items, TASKS_PER_BATCH)) for _ in range(0, len(todo), TASKS_PER_BATCH)
    )
    if backend != "dask":
        yield from run_batches(process_tasks, batches, ctx, jobs, backend)
        return
    from augtool.run import dask_cluster

    needs = dask_cluster.Needs(_versions(ctx.kernels), ctx.input_root, ctx.output_root)
    with dask_cluster.connect(jobs) as cluster:
        cluster.check(needs, partial(_versions, ctx.kernels))
        # A Dask worker's parent is its nanny, not this process: no parent watchdog there.
        shared = dataclasses.replace(ctx, main_pid=0)
        summary.cluster = {"scheduler": cluster.address, "workers": cluster.workers}
        yield from run_batches(
            process_tasks, batches, shared, cluster.slots, backend, executor=cluster.executor()
        )


def _versions(kernels: str) -> dict[str, str]:
    """The versions a worker's bytes depend on, augtool's included (run here and on every Dask
    worker, to compare)."""
    return {"augtool": __version__, **library_versions(kernels)}


def _earlier_records(previous: Previous, task: Task) -> list[RecordDict] | None:
    earlier = previous.tasks.get(task.source.path)
    return None if earlier is None or not earlier.keepable else earlier.records


def _header(
    recipe: Recipe, dataset: Dataset, counts: Counter[str], libraries: dict[str, str]
) -> Header:
    return Header(
        schema=SCHEMA,
        schema_version=SCHEMA_VERSION,
        tool={"name": "augtool", "version": __version__},
        libraries=libraries,
        recipe=recipe.normalised,
        recipe_sha256=recipe.sha256,
        seed=recipe.seed,
        layout=dataset.layout,
        splits={"found": list(dataset.splits), "augmented": recipe.splits["augment"]},
        counts=dict(sorted(counts.items())),
    )


def _clear_previous_output(output_root: Path, removed: IO[str]) -> None:
    """--force: delete what earlier runs wrote here, and nothing else: every file their manifest
    (read as far as it parses, when damaged) and an interrupted run's journal record, the
    folders that leaves empty, the contract files and augtool's state but for the lock this run
    holds. A file augtool did not write stays. Each deleted file's path goes to ``removed``."""
    for relative in _recorded_files(output_root):
        if _unlink(output_root, relative):
            removed.write(json.dumps(relative) + "\n")
            _remove_empty_folders(output_root, relative)
    for name in CONTRACT_FILES:
        (output_root / name).unlink(missing_ok=True)
    for inner in (output_root / STATE_DIR).iterdir():
        if inner.name != LOCK_NAME:
            shutil.rmtree(inner) if inner.is_dir() and not inner.is_symlink() else inner.unlink()


def _recorded_files(output_root: Path) -> Iterator[str]:
    """The path of every file the last manifest (when it is augtool's) and an interrupted run's
    journal record; a manifest line that does not parse is passed over."""
    manifest = output_root / MANIFEST_NAME
    if has_header(manifest):
        salvaged = ManifestReader(manifest, mode="salvage").entries()
        yield from _file_paths(entry.value for entry in salvaged)
    for result in read_journal(output_root / STATE_DIR / JOURNAL_NAME):
        yield from _file_paths(result.records)


def _file_paths(records: Iterable[Any]) -> Iterator[str]:
    for record in records:
        file = isinstance(record, dict) and record.get("type") == "file"
        if file and isinstance(record.get("path"), str):
            yield record["path"]


def _remove_empty_folders(output_root: Path, relative: str) -> None:
    """The folders below the output that removing this file left empty (an empty class folder
    is a class with no images to a loader)."""
    folder = (output_root / relative).parent
    while folder != output_root and output_root in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone)
            return
        folder = folder.parent


def _not_written_again(output_root: Path, removed: IO[str]) -> int:
    """How many of the files --force removed this run did not write again."""
    removed.seek(0)
    return sum(not os.path.lexists(output_root / json.loads(line)) for line in removed)


def _write_run_json(output_root: Path, summary: Summary, jobs: int, backend: str) -> None:
    """Timing and machine facts, outside the determinism contract (never in the manifest)."""
    info = {**summary.as_json(), "jobs": jobs, "backend": backend, "cpus": os.cpu_count()}
    info.pop("skipped")
    with contextlib.suppress(OSError):
        write_atomic(output_root / RUN_NAME, (json.dumps(info, indent=2) + "\n").encode())
