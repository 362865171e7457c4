"""The expand job: discover → plan → run tasks (in-process or on a joblib pool) → manifest.

Results stream back in plan order (joblib's ``return_as="generator"``) and are journaled as they
arrive; nothing but counters is kept in memory. The manifest is written last, sorted from the
journal, so a run that stops early never leaves a manifest that looks complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augtool import __version__
from augtool.discovery import Dataset, discover
from augtool.errors import InputError, OutputError, WriteError
from augtool.manifest import (
    MANIFEST_NAME,
    RUN_NAME,
    SCHEMA,
    SCHEMA_VERSION,
    STATE_DIR,
    Journal,
    write_manifest,
)
from augtool.plan import Task, make_plan
from augtool.recipe import Recipe
from augtool.worker import JobContext, Record, process_tasks

BACKENDS = ("loky", "threading", "sequential")
#: Below this many outputs a pool costs more to start than it saves: run in-process.
SMALL_JOB_OUTPUTS = 48
TASKS_PER_BATCH = 4

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
    skipped: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "output": self.output,
            "layout": self.layout,
            "sources": self.sources,
            "planned_outputs": self.planned_outputs,
            "counts": dict(sorted(self.counts.items())),
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "dry_run": self.dry_run,
        }


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


def check_output(input_root: Path, output_root: Path, force: bool) -> None:
    """Refuse an output that overlaps the input, or a non-empty folder augtool did not make."""
    inp = input_root.resolve()
    out = output_root.resolve()
    if out == inp or inp in out.parents:
        raise OutputError(f"{output_root}: the output is inside the input {input_root}")
    if out in inp.parents:
        raise OutputError(f"{output_root}: the output contains the input {input_root}")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{output_root}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        ours = (out / MANIFEST_NAME).is_file() or (out / STATE_DIR).is_dir()
        if not ours:
            raise OutputError(
                f"{output_root}: not empty and not an augtool output; choose an empty folder"
            )
        if not force:
            raise OutputError(
                f"{output_root}: already holds an augtool output; use --force to rebuild it"
            )


def expand(
    recipe: Recipe,
    input_root: Path,
    output_root: Path,
    jobs: int,
    backend: str,
    force: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Summary:
    """Run the whole job. Raises an :class:`~augtool.errors.AugtoolError` before writing anything
    when the input, the plan or the output folder is unusable."""
    started = time.perf_counter()
    dataset = discover(
        input_root,
        recipe.input["layout"],
        recipe.input["extensions"],
        recipe.splits["names"],
        recipe.splits["augment"],
    )
    if not dataset.sources and not dataset.skipped:
        raise InputError(
            f"{input_root}: no image files found (endings: {', '.join(recipe.input['extensions'])})"
        )
    tasks = make_plan(
        dataset, recipe.variants, recipe.seed, recipe.output["format"], recipe.output["originals"]
    )
    check_output(input_root, output_root, force)
    planned = sum(len(t.variants) + (t.original is not None) for t in tasks)
    summary = Summary(
        input=str(input_root),
        output=str(output_root),
        layout=dataset.layout,
        sources=len(tasks),
        planned_outputs=planned,
        dry_run=dry_run,
    )
    if dry_run:
        summary.skipped = [{"path": s.path, "reason": s.reason} for s in dataset.skipped]
        summary.counts["skipped"] = len(dataset.skipped)
        summary.seconds = time.perf_counter() - started
        return summary
    if force and output_root.exists():
        _clear_previous_output(output_root)
    ctx = JobContext(
        input_root=str(input_root.resolve()),
        output_root=str(output_root.resolve()),
        steps=tuple(recipe.steps),
        formats=tuple(recipe.input["formats"]),
        quality=recipe.output["quality"],
        originals=recipe.output["originals"],
        strip_metadata=recipe.output["strip_metadata"],
    )
    output_root.mkdir(parents=True, exist_ok=True)
    journal = Journal(output_root / STATE_DIR / "journal.jsonl")
    counts: Counter[str] = Counter()
    try:
        skipped_at_discovery = [
            {"type": "skipped", "path": s.path, "reason": s.reason, "sha256": None}
            for s in dataset.skipped
        ]
        journal.add(skipped_at_discovery)
        _count(counts, skipped_at_discovery, summary)
        for done, records in enumerate(_execute(tasks, ctx, jobs, backend, planned), start=1):
            journal.add(records)
            _count(counts, records, summary)
            if progress is not None:
                progress(done, len(tasks))
        counts["sources"] = len(tasks)
        header = _header(recipe, dataset, counts)
        write_manifest(output_root, header, journal.sorted_records(), dict(sorted(counts.items())))
    except OSError as exc:
        raise WriteError(f"{output_root}: writing failed: {exc}") from exc
    finally:
        journal.close()
    shutil.rmtree(output_root / STATE_DIR, ignore_errors=True)
    summary.counts = counts
    summary.seconds = time.perf_counter() - started
    _write_run_json(output_root, summary, jobs, backend)
    return summary


def _count(counts: Counter[str], records: list[Record], summary: Summary) -> None:
    for record in records:
        if record["type"] == "skipped":
            counts["skipped"] += 1
            summary.skipped.append({"path": record["path"], "reason": record["reason"]})
        else:
            counts["files"] += 1
            counts[record["role"]] += 1


def _execute(
    tasks: list[Task], ctx: JobContext, jobs: int, backend: str, planned: int
) -> Iterator[list[Record]]:
    if backend == "sequential" or jobs == 1 or planned <= SMALL_JOB_OUTPUTS or len(tasks) < 2:
        for task in tasks:
            yield from process_tasks([task], ctx)
        return
    from joblib import Parallel, delayed

    batches = [tasks[i : i + TASKS_PER_BATCH] for i in range(0, len(tasks), TASKS_PER_BATCH)]
    parallel = Parallel(
        n_jobs=jobs, backend=backend, return_as="generator", pre_dispatch="2*n_jobs"
    )
    for batch_records in parallel(delayed(process_tasks)(batch, ctx) for batch in batches):
        yield from batch_records


def _header(recipe: Recipe, dataset: Dataset, counts: Counter[str]) -> dict[str, Any]:
    import numpy
    import PIL

    return {
        "type": "header",
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "augtool", "version": __version__},
        "libraries": {"numpy": numpy.__version__, "pillow": PIL.__version__},
        "recipe": recipe.normalised,
        "recipe_sha256": recipe.sha256,
        "seed": recipe.seed,
        "layout": dataset.layout,
        "splits": {"found": list(dataset.splits), "augmented": recipe.splits["augment"]},
        "counts": dict(sorted(counts.items())),
    }


def _clear_previous_output(output_root: Path) -> None:
    """--force: empty a previous augtool output (only one: ``check_output`` made sure of it)."""
    for child in output_root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _write_run_json(output_root: Path, summary: Summary, jobs: int, backend: str) -> None:
    """Timing and machine facts, outside the determinism contract (never in the manifest)."""
    info = {**summary.as_json(), "jobs": jobs, "backend": backend, "cpus": os.cpu_count()}
    info.pop("skipped")
    from augtool.atomic import write_atomic

    with contextlib.suppress(OSError):
        write_atomic(output_root / RUN_NAME, (json.dumps(info, indent=2) + "\n").encode())
