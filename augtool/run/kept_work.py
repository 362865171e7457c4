"""What a run does before any task runs: the inputs discovery skipped, the dataset's own files,
and the tasks an earlier run made whose outputs can be kept, each as a copy of the earlier
run's lines (:mod:`augtool.run.kept_blocks`) or from its records checked line by line
(:func:`~augtool.run.incremental.kept_by_stat`). The other tasks are left for the workers.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

from augtool.manifest import Skipped
from augtool.run.closing import kept_as_blocks, kept_lines_as_written
from augtool.run.incremental import Previous, copy_extra, kept_by_stat
from augtool.run.job import Job
from augtool.run.journal import TaskResult
from augtool.run.kept_blocks import KeptBlock, kept_block
from augtool.run.plan import Task


def kept_work(
    job: Job, previous: Previous, todo: list[Task], planned: set[str]
) -> Iterator[tuple[TaskResult | KeptBlock, bool]]:
    """What is done before any task runs, each with whether the new journal must hold it: the
    inputs discovery skipped, the dataset's own files (copied now), then the tasks whose
    outputs the stat cache vouches for, streamed (a rerun over many sources never holds their
    records); the others go to ``todo``. Each task an earlier run made is noted in ``planned``
    as it is looked at. A task kept from the manifest is not journaled: the manifest stays
    until this run writes its own, so a run interrupted before then keeps it again from
    there."""
    discovery_skips = [
        TaskResult(s.path, [Skipped(path=s.path, reason=s.reason, sha256=None).to_json()])
        for s in job.dataset.skipped
    ]
    extras = [
        copy_extra(job.input_root, job.output_root, name, previous)
        for name in job.dataset.extra_files
    ]

    fields_only = kept_lines_as_written(job)
    blocks = previous.blocks
    copied = blocks is not None and kept_as_blocks(job)
    in_root = os.fspath(job.input_root)

    def kept() -> Iterator[tuple[TaskResult | KeptBlock, bool]]:
        for task in job.tasks:
            earlier = previous.tasks.get(task.source.path)
            if earlier is None:
                todo.append(task)
                continue
            planned.add(task.source.path)
            if not earlier.keepable:
                todo.append(task)
                continue
            if blocks is not None:
                block = kept_block(task, earlier, blocks, in_root) if copied else None
                if block is not None:
                    yield block, False  # (from the output's own manifest: not journaled)
                    continue
                blocks.read_entries_of(task.source.path, previous)
            quick = kept_by_stat(task, earlier, previous, job.input_root, fields_only)
            if quick is not None:
                yield quick, earlier.journaled
            else:
                todo.append(task)

    own = ((result, True) for result in itertools.chain(discovery_skips, extras))
    return itertools.chain(own, kept() if previous.tasks else ())
