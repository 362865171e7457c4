"""The expand job: discover → plan → run tasks (in-process or on a pool) → manifest.

This module only orchestrates; each step's rules live beside it: output-folder safety and the
lock (``output.py``), the one walk of the output (``tree.py``), incremental reuse
(``incremental.py``, ``journal.py``, ``statcache.py``), where tasks run (``executors/``), where
each result goes (``sink.py``), the writes after the tasks (``closing.py``: the dataset's own
files, the manifest) and what the run reports (``summary.py``).

Results stream back as batches finish (a bounded window of batches, so the main process never
holds more than a few) and are journaled as they arrive, and their lines go to the manifest's
sorter (on disk past a bound). The manifest is written last, so a run that stops early never
leaves a manifest that looks complete.

A run into a folder that holds an earlier run of the same recipe is incremental: a source whose
bytes and outputs are unchanged is kept (recognised by the stat cache, or by hashing), a new or
changed source is (re)done, and the outputs of a source that is gone are removed. An interrupted
run is finished the same way, from its journal. Whatever the path, the final tree and manifest
are the bytes a clean run would write.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import IO

from augtool import __version__
from augtool.atomic import TEMP_PREFIX
from augtool.errors import InputError, OutputError, WriteError
from augtool.layouts import registry
from augtool.layouts.base import LabelRules
from augtool.layouts.discovery import Dataset, discover, kept_sources
from augtool.recipe import Recipe
from augtool.run.balance import plan_balance
from augtool.run.closing import open_sink, write_closing
from augtool.run.derive import label_rules, recipe_settings
from augtool.run.executors import WorkerLost, open_pool, stop_workers
from augtool.run.executors.base import guided_batches
from augtool.run.executors.cluster import Needs
from augtool.run.executors.interrupts import raise_if_interrupted
from augtool.run.forecast import forced_removals, forecast
from augtool.run.hf_metadata import check_layout
from augtool.run.incremental import (
    Previous,
    earlier_records,
    remove_stale,
    remove_vanished,
)
from augtool.run.job import Job, Progress, dataset_files
from augtool.run.journal import Journal, TaskResult, finish_run, write_run_state
from augtool.run.kept_blocks import KeptBlock
from augtool.run.kept_work import kept_work
from augtool.run.leak import Leaks, check_leaks
from augtool.run.licences import notice_names, recipe_licences
from augtool.run.output import (
    check_output,
    check_writable,
    clear_previous_output,
    earlier_run,
    locked_output,
    not_written_again,
    recorded_files,
    refuse_folder_links,
    refuse_folders_at_files,
    run_files_stamp,
)
from augtool.run.partners import recipe_needs
from augtool.run.phashcache import write_phashes
from augtool.run.plan import Task, make_plan
from augtool.run.resources import for_recipe
from augtool.run.shards import Part, Shard, adopt_parts
from augtool.run.sink import Results
from augtool.run.state import adopt_legacy_state
from augtool.run.summary import Summary, write_run_json
from augtool.run.tree import Scan, remove_temp_files, scan, unlisted_files
from augtool.run.warnings import dataset_warnings
from augtool.run.worker import JobContext, library_versions, process_tasks

BACKENDS = ("loky", "threading", "sequential", "dask")
#: Below this many outputs a pool costs more to start than it saves: run in-process.
SMALL_JOB_OUTPUTS = 48


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


def _plan_job(
    recipe: Recipe,
    input_root: Path,
    output_root: Path,
    jobs: int,
    backend: str,
    progress: Progress | None,
    shard: Shard | None = None,
) -> tuple[Job, Leaks]:
    """The dataset (after the near-duplicate check), each source's variants and licence, and
    the plan (of the shard's sources only, with ``shard``: all of the above is decided over
    the whole dataset first); nothing is written."""
    found = discover_dataset(recipe, input_root)
    leaks = check_leaks(
        found,
        input_root,
        recipe.splits["on_leak"],
        set(recipe.splits["augment"]),
        recipe.medium,
        output_root,
        # the hashes missing from the cache are computed on loky's processes, when the run's
        # own work goes there too
        jobs if backend == "loky" else 1,
        recipe_settings(recipe.normalised, found.layout),
    )
    dataset = leaks.dataset
    check_layout(dataset, recipe.medium, bool(recipe.output.get("hf_metadata")))
    balanced = plan_balance(dataset, recipe)
    layout = registry.get(dataset.layout)
    licences = recipe_licences(
        input_root,
        (source.path for source in dataset.sources),
        recipe.input,
        lambda: layout.source_licences(dataset.state),
    )
    tasks = make_plan(
        dataset,
        recipe.variants,
        recipe.seed,
        recipe.output["format"],
        recipe.output["originals"],
        recipe.medium,
        None if balanced is None else balanced.counts,
        recipe_needs(recipe.steps, recipe.medium, dataset),
    )
    if shard is not None:
        dataset = dataclasses.replace(
            dataset,
            sources=kept_sources(dataset.sources, lambda s: shard.holds(s.path)),
            skipped=tuple(s for s in dataset.skipped if shard.holds(s.path)),
        )
        tasks = dataclasses.replace(tasks, sources=dataset.sources)
    # The hashes are recorded only when the recipe names on_leak, so that a recipe written
    # before the check existed gives the same manifest bytes.
    recorded = leaks.hashes if "on_leak" in recipe.normalised["splits"] else {}
    return Job(
        recipe,
        dataset,
        tasks,
        input_root,
        output_root,
        jobs,
        backend,
        progress,
        balanced,
        licences,
        recorded,
        shard,
        for_recipe(recipe.steps, recipe.base_dir),
    ), leaks


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
    shard: Shard | None = None,
    parts: Sequence[Part] = (),
) -> Summary:
    """Run the whole job, or finish or refresh it when the output holds an earlier run.

    ``shard`` makes only that slice of the sources (a partial manifest); ``parts`` are the
    checked outputs of every shard, merged into this output (see :mod:`augtool.run.shards`).

    Raises an :class:`~augtool.errors.AugtoolError` before writing anything when the input, the
    plan or the output folder is unusable, or when the output was made by another recipe and
    ``force`` is not set; ``dry_run`` makes the same checks and writes nothing."""
    started = time.perf_counter()
    job, leaks = _plan_job(recipe, input_root, output_root, jobs, backend, progress, shard)
    dataset, tasks, balanced = job.dataset, job.tasks, job.balanced
    check_output(input_root, output_root)
    stamp = run_files_stamp(output_root)
    # --force reads nothing of the earlier run: what it recorded is removed under the lock.
    previous = Previous() if force else _earlier_run(job, resume)
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: previous.close())  # the one in use at the end (see below)
        found = _scan(output_root, previous)
        refuse_folder_links(output_root, found.folder_links, job.planned_names())
        refuse_folders_at_files(output_root, found.folders, job.own_names(), job.planned_names)
        summary = Summary(
            input=str(input_root),
            output=str(output_root),
            layout=dataset.layout,
            sources=len(tasks),
            planned_outputs=tasks.image_total(),
            dry_run=dry_run,
            inputs=len(tasks) + len(dataset.skipped),
            warnings=dataset_warnings(recipe, dataset, balanced, leaks),
            balance=None if balanced is None else balanced.as_json(),
        )
        if dry_run:
            _dry_run(job, previous, force, summary)
            summary.seconds = time.perf_counter() - started
            return summary
        stack.push(locked_output(output_root))
        if not force and run_files_stamp(output_root) != stamp:
            # Another run wrote here between the read and the lock: read what it left.
            previous.close()
            previous = earlier_run(recipe, input_root, output_root, resume)
            found = _scan(output_root, previous)
        removed: IO[str] | None = None
        try:
            if force:
                # The files the earlier run recorded, listed as they are removed (on disk, not
                # in memory), to count afterwards the ones this run does not write again.
                removed = stack.enter_context(
                    tempfile.TemporaryFile("w+", prefix=TEMP_PREFIX, dir=output_root)
                )
                clear_previous_output(output_root, removed)
            if parts:
                adopt_parts(previous, list(parts), output_root, job.input_abs)
            if leaks.cache is not None:
                write_phashes(output_root, input_root, leaks.cache, leaks.kind)
            # What --force cleared is no longer as the scan saw it: walked again after the run.
            _run(job, previous, summary, None if force else found)
        except (KeyboardInterrupt, WorkerLost):
            stop_workers()
            remove_temp_files(output_root)
            raise
        except OSError as exc:
            stop_workers()
            remove_temp_files(output_root)
            raise WriteError(f"{output_root}: writing failed: {exc}; run again to resume") from exc
        if removed is not None:
            summary.activity["removed"] += not_written_again(output_root, removed)
    summary.warn_of_ranges()
    summary.warn_of_loaders()
    summary.warn_of_empty_pastes()
    summary.warn_of_clipping()
    summary.seconds = time.perf_counter() - started
    write_run_json(output_root, summary, jobs, backend)
    return summary


def _earlier_run(job: Job, resume: bool) -> Previous:
    """What an earlier run left in the output (see :func:`earlier_run`), refused when it is
    another slice of the sources than this run's: another shard's, or a whole run's."""
    previous = earlier_run(job.recipe, job.input_root, job.output_root, resume)
    if not previous.empty and previous.shard != job.shard_json:
        previous.close()

        def made(shard: dict[str, int] | None) -> str:
            return "a whole run" if shard is None else f"shard {shard['index']}/{shard['count']}"

        raise OutputError(
            f"{job.output_root}: holds {made(previous.shard)}, this run makes "
            f"{made(job.shard_json)}; use another output folder, or --force to rebuild it"
        )
    return previous


def _scan(output_root: Path, previous: Previous) -> Scan:
    """The one walk of the output before a run; after it, the stat cache vouches only for the
    outputs found as it saw them."""
    blocks = previous.blocks
    found = scan(output_root, previous.output_stats, others=blocks is not None)
    previous.output_stats = found.current
    if blocks is not None:
        blocks.found = found.others  # (the outputs of the entries passed over)
    return found


def _unlisted(output_root: Path, summary: Summary, found: Scan | None) -> list[str]:
    """The files in the output its manifest does not list. A run that made and removed
    nothing left the tree as the scan found it (less the temp files it removed): no walk."""
    listed = summary.counts["files"]
    activity = summary.activity
    unchanged = found is not None and not activity["made"] and not activity["removed"]
    if unchanged and found is not None and found.files - len(found.temp_files) == listed:
        return []
    return unlisted_files(output_root, listed)


def _dry_run(job: Job, previous: Previous, force: bool, summary: Summary) -> None:
    """--dry-run: the real run's refusals, and the made, kept and removed counts it would
    report, with its rules for what an earlier run left (its versions, its input's stats)."""
    check_writable(job.output_root)
    skipped = job.dataset.skipped
    summary.skipped = [{"path": s.path, "reason": s.reason} for s in skipped]
    summary.counts["skipped"] = len(skipped)
    libraries = library_versions(job.recipe.kernels, job.recipe.medium)
    previous.trust_only(libraries, job.input_abs, job.resource_files)
    if previous.blocks is not None:
        previous.blocks.read_all(previous)  # (the forecast checks every task line by line)
    extra = [*dataset_files(job.dataset), *notice_names(job.licences), *job.hf_names]
    summary.activity = forecast(job.tasks, extra, previous, job.input_root, job.output_root)
    if force:
        planned = set(job.planned_names())
        summary.activity["removed"] = forced_removals(recorded_files(job.output_root), planned)


def _run(job: Job, previous: Previous, summary: Summary, found: Scan | None) -> None:
    """The run under the lock: earlier work kept, the rest made, the manifest written last.
    ``found`` is the scan of the output as it still is (None: walk it again)."""
    output_root = job.output_root
    adopt_legacy_state(output_root)
    remove_temp_files(output_root, None if found is None else found.temp_files)
    libraries = library_versions(job.recipe.kernels, job.recipe.medium)
    previous.trust_only(libraries, job.input_abs, job.resource_files)
    todo: list[Task] = []
    # The planned sources an earlier run made (not all of them: a set of every path would be
    # the one thing held per source), found as the earlier work is.
    planned: set[str] = set()
    earlier_work = kept_work(job, previous, todo, planned)
    recipe = job.recipe
    write_run_state(
        output_root,
        recipe.sha256,
        recipe.normalised,
        __version__,
        libraries,
        job.input_abs,
        job.shard_json,
        job.resource_files,
    )
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(open_sink(job, summary))
        done = 0

        def journaled(
            items: Iterable[tuple[TaskResult | KeptBlock, bool]],
        ) -> Iterator[TaskResult]:
            nonlocal done
            for result, again in items:
                sink.take(result)
                done += result.kept
                if again and isinstance(result, TaskResult):
                    yield result

        journal = Journal.start(output_root, journaled(earlier_work))
        stack.callback(journal.close)
        if previous.tasks:
            planned |= {*dataset_files(job.dataset), *notice_names(job.licences), *job.hf_names}
            # Whoever made them, the outputs of sources that are gone would be left unlisted
            # (removed before any task runs: a new source may write their names).
            summary.activity["removed"] = remove_vanished(output_root, previous, planned)
        work: Sequence[Task] = todo if previous.tasks else job.tasks  # fresh: all, on demand
        _make(job, work, previous, journal, sink, done)
        write_closing(job, sink, journal, previous, libraries)
    finish_run(output_root)
    # Files someone else put in the output are never removed (nothing is lost), but they make
    # the output fail validation, so the run names them (and removes a lost worker's temp files).
    summary.unlisted = _unlisted(output_root, summary, found)


def _make(
    job: Job,
    work: Sequence[Task],
    previous: Previous,
    journal: Journal,
    sink: Results,
    done: int,
) -> None:
    """Run ``work`` (``done`` tasks are already kept), journaling each result as it comes."""
    progress = job.progress
    if progress is not None:
        progress(done, len(job.tasks))
    ctx = _job_context(job)
    outputs = sum(t.image_count for t in work)
    summary = sink.summary
    for result in _execute(work, previous, ctx, job.jobs, job.backend, outputs, summary):
        summary.activity["removed"] += remove_stale(job.output_root, previous, result)
        journal.add(result)
        sink.take(result)
        done += 1
        if progress is not None:
            progress(done, len(job.tasks))
        raise_if_interrupted()  # an interrupt whose exception Python dropped (executors)


def _job_context(job: Job) -> JobContext:
    """What every worker needs to make a task's outputs."""
    recipe, dataset = job.recipe, job.dataset
    return JobContext(
        input_root=job.input_abs,
        output_root=str(job.output_root.resolve()),
        steps=tuple(recipe.steps),
        formats=tuple(recipe.input["formats"]),
        quality=recipe.output["quality"],
        originals=recipe.output["originals"],
        strip_metadata=recipe.output["strip_metadata"],
        max_pixels=recipe.input["max_pixels"],
        main_pid=os.getpid(),
        kernels=recipe.kernels,
        medium=recipe.medium,
        same_format=recipe.output["format"] == "same",
        rules=_label_rules(recipe, dataset),
        settings=recipe_settings(recipe.normalised, dataset.layout),
        bit_depth=recipe.output.get("bit_depth", 8),
        provenance=(
            (recipe.sha256, f"augtool {__version__}")
            if recipe.output.get("provenance_tag")
            else None
        ),
        resources=job.resources,
    )


def _label_rules(recipe: Recipe, dataset: Dataset) -> LabelRules | None:
    """How the workers move the dataset's labels (None for a layout without labels)."""
    vocabulary = registry.get(dataset.layout).vocabulary(dataset)
    return label_rules(dataset.layout, vocabulary, recipe.targets)


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
    items = ((task, earlier_records(previous, task)) for task in todo)
    # With Dask, --jobs sizes a local cluster only: a scheduler's workers are what they are.
    one_worker = jobs == 1 and backend != "dask"
    if backend == "sequential" or one_worker or outputs <= SMALL_JOB_OUTPUTS or len(todo) < 2:
        backend = "sequential"
    needs = None
    if backend == "dask":
        needs = Needs(_versions(ctx.kernels, ctx.medium), ctx.input_root, ctx.output_root)
    versions = partial(_versions, ctx.kernels, ctx.medium)
    with open_pool(backend, jobs, needs, versions) as pool:
        # No parent watchdog where a worker's parent is not this process (a Dask nanny).
        shared = ctx if pool.children else dataclasses.replace(ctx, main_pid=0)
        summary.cluster = pool.facts
        # In this process, one task at a time: each result is journaled as soon as it is made.
        batches = (
            ([item] for item in items)
            if backend == "sequential"
            else guided_batches(items, len(todo), pool.slots)
        )
        # process_tasks is looked up here, so that tests can stand in for it.
        yield from pool.map_unordered(process_tasks, batches, shared)


def _versions(kernels: str | None, medium: str) -> dict[str, str]:
    """The versions a worker's bytes depend on, augtool's included (run here and on every Dask
    worker, to compare)."""
    return {"augtool": __version__, **library_versions(kernels or "", medium)}
