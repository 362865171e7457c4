"""What the comparison scripts share with augtool's engine, so that only the per-image work differs.

Why a shared module: the codec floor (codec_floor.py) and the Albumentations loop
(albumentations_loop.py) must schedule work exactly as ``augtool expand`` does, or the ratios
measure scheduling instead of image work. So, like augtool's engine and worker:

- sources are the image files of a flat folder, in sorted order; 4 variants per source;
- a task is one source: read its bytes once, sha256 them, decode once, then per variant render,
  encode, sha256 and write (a plain write here; augtool writes atomically, which is part of what
  the ratio measures);
- jobs == 1, or <= 48 planned outputs, runs in-process with no pool; otherwise joblib's loky
  executor over batches of up to 16 tasks that shrink to single tasks at the end (guided, as
  ``augtool.run.executors.base.batch_sizes``), at most ``2 * jobs`` batches ahead of the main
  process, taken as they finish (``augtool.run.executors``);
- the main process streams the small records it gets back into ``manifest.jsonl``.

Each script prints one JSON line: outputs, seconds (inside the process), sources.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VARIANTS = 4
SMALL_JOB_OUTPUTS = 48  # augtool.run.engine.SMALL_JOB_OUTPUTS
MAX_TASKS_PER_BATCH = 16  # augtool.run.executors.base.MAX_TASKS_PER_BATCH
BATCH_SHARE = 4  # augtool.run.executors.base.BATCH_SHARE
EXTENSIONS = (".jpg", ".jpeg")
SEED = 0

Record = dict[str, Any]


@dataclass(frozen=True)
class Task:
    """One source and the names and seeds of its variants."""

    source: str  # relative to the input root
    outputs: tuple[str, ...]
    seeds: tuple[int, ...]


#: Render a whole task in a worker: (task, input root, output root, options) -> records.
Worker = Callable[[Task, str, str, dict[str, Any]], list[Record]]


def plan(input_root: Path, variants: int = VARIANTS, seed: int = SEED) -> list[Task]:
    """Tasks for every JPEG of a flat folder, sorted, with one seed per variant."""
    files = sorted(p.name for p in input_root.iterdir() if p.suffix.lower() in EXTENSIONS)
    tasks = []
    for index, name in enumerate(files):
        stem = Path(name).stem
        outputs = tuple(f"{stem}__v{v:02d}.jpg" for v in range(variants))
        seeds = tuple(seed * 1_000_003 + index * variants + v for v in range(variants))
        tasks.append(Task(name, outputs, seeds))
    return tasks


def read_source(input_root: str, task: Task) -> tuple[bytes, str]:
    """The source's bytes and their sha256, as augtool records them."""
    data = (Path(input_root) / task.source).read_bytes()
    return data, hashlib.sha256(data).hexdigest()


def write_output(output_root: str, name: str, encoded: bytes, source_sha: str) -> Record:
    """Hash and write one output; the record the main process puts in the manifest."""
    digest = hashlib.sha256(encoded).hexdigest()
    with open(Path(output_root) / name, "wb") as handle:
        handle.write(encoded)
    return {"path": name, "sha256": digest, "bytes": len(encoded), "source_sha256": source_sha}


def _run_batch(
    worker: Worker, batch: list[Task], inp: str, out: str, options: dict[str, Any]
) -> list[list[Record]]:
    return [worker(task, inp, out, options) for task in batch]


def execute(
    worker: Worker, tasks: list[Task], inp: str, out: str, jobs: int, options: dict[str, Any]
) -> Iterator[list[Record]]:
    """Run every task; yields each task's records as its batch finishes (as augtool's does)."""
    planned = sum(len(t.outputs) for t in tasks)
    if jobs == 1 or planned <= SMALL_JOB_OUTPUTS or len(tasks) < 2:
        for task in tasks:
            yield worker(task, inp, out, options)
        return
    from concurrent.futures import FIRST_COMPLETED, wait

    from joblib.externals.loky import get_reusable_executor

    executor = get_reusable_executor(max_workers=jobs, timeout=300)
    pending: set[Any] = set()
    start = 0
    while start < len(tasks):
        if len(pending) >= 2 * jobs:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (records for future in done for records in future.result())
        left = len(tasks) - start
        size = max(1, min(MAX_TASKS_PER_BATCH, left // (BATCH_SHARE * jobs)))
        batch = tasks[start : start + size]
        start += size
        pending.add(executor.submit(_run_batch, worker, batch, inp, out, options))
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        yield from (records for future in done for records in future.result())


def parse_args(
    description: str,
    argv: list[str] | None = None,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """The command line every comparison script shares; ``extra`` adds its own options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("input", type=Path, help="flat folder of JPEG sources")
    parser.add_argument("output", type=Path, help="output folder (created; must be empty)")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="worker processes")
    parser.add_argument("--variants", type=int, default=VARIANTS)
    parser.add_argument("--seed", type=int, default=SEED)
    if extra is not None:
        extra(parser)
    return parser.parse_args(argv)


def run_main(worker: Worker, args: argparse.Namespace, options: dict[str, Any]) -> None:
    """Plan, execute, stream the manifest, print a one-line JSON summary."""
    started = time.perf_counter()
    tasks = plan(args.input, args.variants, args.seed)
    if not tasks:
        sys.exit(f"{args.input}: no JPEG files")
    args.output.mkdir(parents=True, exist_ok=True)
    if any(args.output.iterdir()):
        sys.exit(f"{args.output}: not empty")
    outputs = 0
    inp, out = str(args.input.resolve()), str(args.output.resolve())
    with open(args.output / "manifest.jsonl", "w", encoding="utf-8") as manifest:
        for records in execute(worker, tasks, inp, out, args.jobs, options):
            for record in records:
                manifest.write(json.dumps(record) + "\n")
            outputs += len(records)
    summary = {
        "sources": len(tasks),
        "outputs": outputs,
        "seconds": round(time.perf_counter() - started, 3),
    }
    print(json.dumps(summary))
