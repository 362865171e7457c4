"""``expand --dry-run``: what the run would make, keep and remove, found without writing.

A source is counted as kept when the run would keep it: the stat cache vouches for it, or its
inputs and every output it recorded still hash as recorded (what the worker checks). Every other
planned file is counted as made, including those of a source the run would then skip because it
does not decode: the forecast reads no pixels. Removed counts the recorded files the run would
delete: those of sources that are gone and those a redone source no longer writes; under
``--force``, every recorded file the run does not write again.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace

from augtool.canonical import canonical_sha256
from augtool.run.incremental import Earlier, Previous, kept_by_stat
from augtool.run.journal import TaskResult
from augtool.run.partner_reads import Partners, PartnerUnreadable
from augtool.run.plan import Plan, Task, writes_the_same
from augtool.run.reading import SourceChanged, read_partner, read_stable
from augtool.run.worker import still_valid


def forecast(
    tasks: Plan,
    planned_extra: Iterable[str],
    previous: Previous,
    input_root: Path,
    output_root: Path,
) -> Counter[str]:
    """Counts of the files the run would make, keep and remove (``made``, ``kept``,
    ``removed``), for a run that reads ``previous`` (empty for a fresh or forced run)."""
    activity: Counter[str] = Counter(made=0, kept=0, removed=0)
    extra = list(planned_extra)
    if previous.tasks:
        # Only the planned sources an earlier run made: nothing is held per planned source.
        planned = {s.path for s in tasks.sources if s.path in previous.tasks} | set(extra)
        for source, earlier in previous.tasks.items():
            if source not in planned:
                activity["removed"] += len(_files(earlier.records))
    for task in tasks:
        earlier = previous.tasks.get(task.source.path)
        names = task.names
        keepable = earlier is not None and earlier.keepable
        if keepable and _kept(task, earlier, previous, input_root, output_root):
            activity["kept"] += len(_files(earlier.records))
            continue
        activity["made"] += len(names)
        if earlier is not None:
            activity["removed"] += len(set(_files(earlier.records)) - set(names))
    tasks_changed = bool(activity["made"] or activity["removed"])
    for name in extra:
        earlier = previous.tasks.get(name)
        kept = earlier is not None and _dataset_file_kept(
            earlier.records, name, input_root, output_root, tasks_changed
        )
        activity["kept" if kept else "made"] += 1
    return activity


def _dataset_file_kept(
    records: list[dict], name: str, input_root: Path, output_root: Path, tasks_changed: bool
) -> bool:
    """A file of the dataset as a whole is kept when its input and output still hash as
    recorded and, for one made from the image records (``annotations``), no source changed."""
    if len(records) != 1 or records[0].get("path") != name:
        return False
    record = records[0]
    if record.get("kind") == "annotations" and tasks_changed:
        return False
    try:
        source = hashlib.sha256((input_root / name).read_bytes()).hexdigest()
        output = hashlib.sha256((output_root / name).read_bytes()).hexdigest()
    except OSError:
        return False
    return source == record["source"]["sha256"] and output == record["sha256"]


def forced_removals(recorded: Iterable[str], planned: set[str]) -> int:
    """Under ``--force``: the recorded files the run would remove and not write again."""
    return sum(1 for path in set(recorded) if path not in planned)


def _files(records: list[dict]) -> list[str]:
    return [r["path"] for r in records if r.get("type") == "file"]


def _kept(
    task: Task, earlier: Earlier, previous: Previous, input_root: Path, output_root: Path
) -> bool:
    if kept_by_stat(task, earlier, previous, input_root, fields_only=True) is not None:
        return True
    records = earlier.records
    if not writes_the_same(records, task):
        return False
    shas = {}
    inputs = [(task.source.path, task.source.link)]
    if task.source.annotation is not None and task.payload is None:
        inputs.append((task.source.annotation, False))
    read: dict[str, bytes] = {}
    for path, link in inputs:
        try:
            read[path], _ = read_stable(input_root / path, follow=link)
        except (OSError, SourceChanged):
            return False
        shas[path] = hashlib.sha256(read[path]).hexdigest()
    payload_sha = None if task.payload is None else canonical_sha256(task.payload)
    planned = None
    if task.partners:
        # The partners as the worker would hash them (their labels too: ``rules`` only says
        # to look for them), so a changed partner forecasts its dependents as made again.
        source = (read[task.source.path], shas[task.source.path])
        where = SimpleNamespace(input_root=str(input_root), rules=True)
        try:
            planned = Partners(task, where, read_partner, source).planned()
        except PartnerUnreadable:
            return False
    result = TaskResult(task.source.path, [])
    return still_valid(records, shas, output_root, result, payload_sha, planned)
