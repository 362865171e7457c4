"""The journal of a run in progress, hidden files at the output's root
(:mod:`augtool.run.state`).

- ``.augtool-journal.jsonl``: one line per finished task (its records and the stat of every file it
  read or wrote), flushed as each task finishes. A run that is interrupted, killed or out of disk
  leaves every finished task here; the next run keeps them instead of redoing them. A torn last
  line (a kill mid-write) is ignored.
- ``.augtool-run-state.json``: the recipe hash and input folder of the run in progress.

Neither is part of the determinism contract or the manifest; both go once the manifest is
written.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from augtool.atomic import atomic_open
from augtool.canonical import canonical_json
from augtool.manifest import JOURNAL_NAME, RUN_STATE_NAME, RecordDict, dump_line
from augtool.run.statcache import Stat, stats_by_path


@dataclass
class TaskResult:
    """What a task reports back: its manifest records and the stat of each file it touched."""

    source: str
    records: list[RecordDict]
    sources: dict[str, Stat] = field(default_factory=dict)  # input path -> stat
    outputs: dict[str, Stat] = field(default_factory=dict)  # output path -> stat
    kept: bool = False
    #: the records' manifest lines as an earlier run wrote them, when they are kept as they
    #: are: the journal and the new manifest take these texts instead of dumping the records
    #: again (most of a no-op rerun's time was JSON)
    lines: list[str] | None = None
    #: originals copied as they are that common loaders mishandle: path -> what (a warning;
    #: not journalled)
    troubles: dict[str, str] = field(default_factory=dict)
    #: the records' lines once dumped (see :meth:`record_lines`); never sent by a worker
    _dumped: list[str] | None = field(default=None, repr=False, compare=False)

    def record_lines(self) -> list[str]:
        """The records' manifest lines: as an earlier run wrote them, or dumped once here, so
        that the journal and the manifest share one dump of each record (the main process's
        CPU is taken from the workers' cores)."""
        if self.lines is not None:
            return self.lines
        if self._dumped is None:
            self._dumped = [dump_line(record) for record in self.records]
        return self._dumped

    def as_line(self) -> str:
        """The journal line: the canonical JSON of the task's entry (the same bytes as
        ``dump_line`` of it), its records spliced in from :meth:`record_lines`."""
        if self.lines is not None:
            entry = {
                "kept": self.kept,
                "lines": self.lines,
                "outputs": self.outputs,
                "source": self.source,
                "sources": self.sources,
            }
            return dump_line(entry)
        # Canonical JSON sorts the keys: kept, outputs, then records, then source, sources.
        head = canonical_json({"kept": self.kept, "outputs": self.outputs})
        tail = canonical_json({"source": self.source, "sources": self.sources})
        records = ",".join(line[:-1] for line in self.record_lines())
        return f'{head[:-1]},"records":[{records}],{tail[1:]}\n'

    @classmethod
    def from_line(cls, line: dict[str, Any]) -> TaskResult:
        texts = line.get("lines")
        records = line["records"] if texts is None else [json.loads(text) for text in texts]
        return cls(
            source=line["source"],
            records=records,
            sources=stats_by_path(line["sources"]),
            outputs=stats_by_path(line["outputs"]),
            kept=line["kept"],
            lines=texts,
        )


class Journal:
    """Finished tasks, one line each, flushed as they come."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle = handle

    @classmethod
    def start(cls, output_root: Path, kept: Iterable[TaskResult]) -> Journal:
        """A new journal holding ``kept``, replacing any old one atomically (so what the old one
        proved is never lost, even if this run is interrupted at once)."""
        path = output_root / JOURNAL_NAME
        with atomic_open(path, fsync=True) as handle:
            for result in kept:
                handle.write(result.as_line().encode("utf-8"))
        return cls(path, open(path, "a", encoding="utf-8"))  # closed in close()

    def add(self, result: TaskResult) -> None:
        self._handle.write(result.as_line())
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()

    def results(self) -> Iterator[TaskResult]:
        self._handle.flush()
        yield from read_journal(self.path)


def read_journal(path: Path) -> Iterator[TaskResult]:
    """The complete lines of a journal; a torn or garbled line (a kill mid-write) is ignored."""
    for _, _, result in journal_entries(path):
        yield result


def journal_entries(path: Path) -> Iterator[tuple[int, int, TaskResult]]:
    """Each complete journal line's offset, length and task result."""
    try:
        handle = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        return
    with handle:
        for offset, raw in _with_offsets(handle):
            if not raw.endswith(b"\n"):
                return
            try:
                yield offset, len(raw), TaskResult.from_line(json.loads(raw))
            except (ValueError, KeyError, TypeError):
                continue


def _with_offsets(handle: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    offset = 0
    for raw in handle:
        yield offset, raw
        offset += len(raw)


def write_run_state(
    output_root: Path,
    recipe_sha256: str,
    recipe: dict[str, Any],
    version: str,
    libraries: dict[str, str],
    input_root: str,
    shard: dict[str, int] | None = None,
    resources: dict[str, str] | None = None,
) -> None:
    data = {
        "recipe_sha256": recipe_sha256,
        "recipe": recipe,
        "tool_version": version,
        "libraries": libraries,
        "input_root": input_root,
        **({"shard": shard} if shard is not None else {}),
        **({"resources": resources} if resources is not None else {}),
    }
    with atomic_open(output_root / RUN_STATE_NAME, fsync=True) as handle:
        handle.write(dump_line(data).encode("utf-8"))


def finish_run(output_root: Path) -> None:
    """The manifest is written: the journal and run state have served their purpose."""
    for name in (JOURNAL_NAME, RUN_STATE_NAME):
        with contextlib.suppress(FileNotFoundError):
            (output_root / name).unlink()
