"""Incremental reuse: what earlier runs into an output folder left, and which of it a run keeps.

A run into a folder that holds an earlier run of the same recipe keeps a source whose bytes and
outputs are unchanged (vouched for by the stat cache, :mod:`augtool.run.statcache`, or by hashing
in the worker), redoes a new or changed one, and removes the outputs of a source that is gone.
An interrupted run is finished the same way, from its journal (:mod:`augtool.run.journal`).

An earlier run's records are not held in memory: :class:`Earlier` keeps the byte spans of a
source's lines in the old manifest (or journal), whose file stays open for the run, and parses
them when asked.
"""

from __future__ import annotations

import hashlib
import json
import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augtool import __version__
from augtool.atomic import write_atomic
from augtool.canonical import canonical_sha256
from augtool.errors import OutputError
from augtool.layouts import registry
from augtool.manifest import (
    JOURNAL_NAME,
    MANIFEST_NAME,
    RUN_STATE_NAME,
    STAT_CACHE_NAME,
    SUMS_NAME,
    FileRecord,
    ManifestDamaged,
    ManifestReader,
    RecordDict,
    SourceRef,
)
from augtool.run.journal import TaskResult, journal_entries
from augtool.run.plan import Task, writes_the_same
from augtool.run.spans import BlockFiles, SpanFile, open_block_files
from augtool.run.statcache import (
    ManifestIndex,
    Stat,
    load_stat_cache,
    sha256_of,
    source_shas,
    stat_of,
)
from augtool.run.state import state_file

#: The augtool version, the medium's library versions (the header's ``libraries``) and the
#: resource files' hashes (the header's ``resources.files``) outputs were made with; ``None``
#: where unknown or none.
MadeWith = tuple[str | None, dict[str, str] | None, dict[str, str] | None]


class Earlier:
    """An earlier run's records of one source, read back from disk each time they are asked
    for: a rerun over a million sources holds their byte offsets, not their parsed records."""

    __slots__ = ("_file", "_spans", "source")

    def __init__(self, source: str, file: SpanFile, spans: array[int] | None = None) -> None:
        self.source = source
        self._file = file
        self._spans = array("q") if spans is None else spans  # offset, length, offset, ...

    def add(self, offset: int, length: int) -> None:
        self._spans.extend((offset, length))

    @property
    def file(self) -> SpanFile:
        return self._file

    @property
    def span(self) -> tuple[int, int] | None:
        """The (offset, length) of its lines when they are one span of the file."""
        spans = self._spans
        return (spans[0], spans[1]) if len(spans) == 2 else None

    @property
    def records(self) -> list[RecordDict]:
        return self._file.read(self._spans)[0]

    def read(self, fields_only: bool = False) -> tuple[list[RecordDict], list[str] | None]:
        """The records and, when known, their manifest lines as written (see
        :meth:`SpanFile.read` for ``fields_only``)."""
        return self._file.read(self._spans, fields_only)

    @property
    def keepable(self) -> bool:
        """Whether these outputs were made with this run's versions, so may be kept."""
        return self._file.keepable

    @property
    def journaled(self) -> bool:
        """Whether a run that keeps these records journals them again: all but those read from
        the output's own manifest, which stays in place until this run writes its own (a part's
        manifest, merged in, is not the output's)."""
        return not self._file.in_place


@dataclass
class Previous:
    """What earlier runs into this output left: records by source, and the files' stats."""

    recipe_sha256: str | None = None
    input_root: str | None = None
    recipe: dict[str, Any] | None = None
    tasks: dict[str, Earlier] = field(default_factory=dict)
    source_stats: dict[str, tuple[Stat, str]] = field(default_factory=dict)  # stat, sha256
    output_stats: dict[str, Stat] = field(default_factory=dict)
    files: list[SpanFile] = field(default_factory=list)  # the files the records are read from
    #: the shard (index, count) the earlier run made, when it made one (``expand --shard``)
    shard: dict[str, int] | None = None
    #: what kept sources' lines are copied from, when the last run's files allow it
    blocks: BlockFiles | None = None

    @property
    def empty(self) -> bool:
        return self.recipe_sha256 is None

    def keep_only_made_with(self, made_with: MadeWith) -> None:
        """Only outputs made with these versions can be kept. The others are still known, so
        that what a vanished source left can be removed."""
        for file in self.files:
            file.keepable = file.made_with == made_with

    def trust_only(
        self, libraries: dict[str, str], input_abs: str, resources: dict[str, str] | None = None
    ) -> None:
        """Forget what a run with these library versions and resource files, from this input
        folder, cannot trust. Another augtool, or another version of a library the medium's
        bytes depend on, may draw, resample or encode differently, and another noise file mixes
        in other samples (another file list draws other files), so nothing it made can be kept
        under a header naming this run's (an interrupted run's journal and the manifest before
        it may differ here).
        Another input folder has other inodes, so no stat can vouch for a file there."""
        self.keep_only_made_with((__version__, libraries, resources))
        if self.input_root != input_abs:
            self.source_stats.clear()
            self.output_stats.clear()
            if self.blocks is not None:
                self.blocks.close()
                self.blocks = None

    def close(self) -> None:
        for file in self.files:
            file.close()
        self.files.clear()
        if self.blocks is not None:
            self.blocks.close()
            self.blocks = None


def load_previous(output_root: Path) -> Previous:
    """Read the last complete manifest, then any journal of an interrupted run on top of it.
    The caller closes the result (it keeps those files open to read records back)."""
    previous = Previous()
    try:
        _load(output_root, previous)
    except BaseException:
        previous.close()
        raise
    return previous


def _load(output_root: Path, previous: Previous) -> None:
    manifest = output_root / MANIFEST_NAME
    if manifest.is_file():
        cache = state_file(output_root, STAT_CACHE_NAME)
        index = load_stat_cache(cache, previous, lazy=True)
        file = load_manifest_tasks(manifest, previous, index)
        file.in_place = True
        if index.owned:
            previous.blocks = open_block_files(output_root / SUMS_NAME, cache, file, index)
    run_state = state_file(output_root, RUN_STATE_NAME)
    if run_state.is_file():
        try:
            state = json.loads(run_state.read_text(encoding="utf-8"))
        except ValueError:
            state = None
        if state is not None:
            previous.recipe_sha256 = state["recipe_sha256"]
            previous.input_root = state["input_root"]
            previous.recipe = state["recipe"]
            previous.shard = state.get("shard")
            # "libraries" is absent from run states written before 2026-11-29: unknown.
            made_with = (state["tool_version"], state.get("libraries"), state.get("resources"))
            _load_journal(state_file(output_root, JOURNAL_NAME), previous, made_with)


def _load_journal(path: Path, previous: Previous, made_with: MadeWith) -> None:
    """The finished tasks of an interrupted run: their stats now, their records by span."""
    if not path.is_file():
        return
    file = SpanFile(path, journal=True)
    file.made_with = made_with
    previous.files.append(file)
    for offset, length, result in journal_entries(path):
        earlier = Earlier(result.source, file)
        earlier.add(offset, length)
        previous.tasks[result.source] = earlier
        previous.output_stats.update(result.outputs)
        shas = source_shas(result.records)
        for in_path, seen in result.sources.items():
            if in_path in shas:
                previous.source_stats[in_path] = (seen, shas[in_path])


def load_manifest_tasks(
    path: Path,
    previous: Previous,
    index: ManifestIndex | None = None,
    damaged: str = "the manifest of the previous run is damaged (use --force to rebuild)",
) -> SpanFile:
    """A finished run's records by source, as byte spans of its manifest: from the stat
    cache's ``index`` when the manifest is still the one it describes (its digest checked, no
    line parsed), else by reading every line (strictly: a manifest that is truncated or edited
    is refused, with ``damaged`` as the reason). Returns the open manifest."""
    file = SpanFile(path, journal=False)
    previous.files.append(file)
    sealed = _sealed(path) if index is not None and index.usable else None
    if sealed is not None and index is not None and sealed[1] == index.manifest_sha256:
        header = sealed[0]
        tasks = {owner: Earlier(owner, file, spans) for owner, spans in index.spans.items()}
        file.indexed = True
    else:
        header, tasks = _parse_manifest(path, file, damaged)
    previous.recipe_sha256 = header["recipe_sha256"]
    recorded = header.get("resources")
    files = recorded.get("files") if isinstance(recorded, dict) else None
    file.made_with = (header["tool"]["version"], header.get("libraries"), files)
    previous.recipe = header["recipe"]
    previous.shard = header.get("shard")
    previous.tasks.update(tasks)
    return file


def _sealed(path: Path) -> tuple[dict[str, Any], str] | None:
    """The header and footer digest of a manifest whose footer's digest is that of every byte
    before it, checked without reading the lines between one by one; None when it is not (the
    strict reading then says what is wrong)."""
    with open(path, "rb") as handle:
        first = handle.readline()
        size = os.fstat(handle.fileno()).st_size
        tail_start = max(0, size - _FOOTER_LIMIT)
        handle.seek(tail_start)
        tail = handle.read()
        cut = tail.rfind(b"\n", 0, len(tail) - 1) + 1
        if not cut or not tail.endswith(b"\n"):
            return None
        sealed_sha256 = sha256_of(handle.fileno(), tail_start + cut)
    try:
        header, footer = json.loads(first), json.loads(tail[cut:])
    except ValueError:
        return None
    if not (isinstance(header, dict) and isinstance(footer, dict)):
        return None
    if header.get("type") != "header" or footer.get("type") != "footer":
        return None
    if footer.get("sha256") != sealed_sha256:
        return None
    return header, sealed_sha256


#: The bytes at the end of a manifest searched for its footer line (a small object).
_FOOTER_LIMIT = 1 << 16


def _parse_manifest(
    path: Path, file: SpanFile, damaged: str
) -> tuple[dict[str, Any], dict[str, Earlier]]:
    """The header and the records by source, each line parsed."""
    header: dict[str, Any] | None = None
    tasks: dict[str, Earlier] = {}
    # A label file belongs to the task of the image it labels, not to a task of its own.
    labels: list[tuple[int, int, str, str]] = []  # offset, length, image, its source
    image_source: dict[str, str] = {}
    try:
        for entry in ManifestReader(path, mode="strict").entries():
            record, kind, offset, length = entry.value, entry.type, entry.offset, len(entry.raw)
            if kind == "header":
                header = record
                continue
            if kind == "file" and record.get("kind") == "label":
                labels.append((offset, length, record.get("image", ""), record["source"]["path"]))
                continue
            if kind == "file":
                owner = record["source"]["path"]
                image_source[record["path"]] = owner
            elif kind == "skipped":
                owner = record["path"]
            else:
                continue
            _earlier(tasks, owner, file).add(offset, length)
    except ManifestDamaged:
        header = None
    if header is None:
        raise OutputError(f"{path}: {damaged}")
    for offset, length, image, source in labels:
        owner = image_source.get(image, source)
        _earlier(tasks, owner, file).add(offset, length)
    return header, tasks


def _earlier(tasks: dict[str, Earlier], owner: str, file: SpanFile) -> Earlier:
    earlier = tasks.get(owner)
    if earlier is None:
        earlier = tasks[owner] = Earlier(owner, file)
    return earlier


def recipe_difference(old: dict[str, Any] | None, new: dict[str, Any], limit: int = 3) -> str:
    """A short description of where two normalised recipes differ."""
    if old is None:
        return "the previous recipe is unknown"
    changes: list[str] = []
    _diff(old, new, "", changes)
    shown = "; ".join(changes[:limit])
    more = f" (and {len(changes) - limit} more)" if len(changes) > limit else ""
    return shown + more


def _diff(old: Any, new: Any, where: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _diff(old.get(key), new.get(key), f"{where}.{key}" if where else key, out)
    elif (
        isinstance(old, list)
        and isinstance(new, list)
        and where.endswith(("pipeline", "transforms"))
    ):
        for i in range(max(len(old), len(new))):
            _diff(
                old[i] if i < len(old) else None,
                new[i] if i < len(new) else None,
                f"{where}[{i}]",
                out,
            )
    elif old != new:
        out.append(f"{where}: {json.dumps(old)} -> {json.dumps(new)}")


def kept_by_stat(
    task: Task, earlier: Earlier, previous: Previous, input_root: Path, fields_only: bool = False
) -> TaskResult | None:
    """The earlier result, when the stat cache vouches for every input (the image, its labels)
    and every output. A task whose variants take partners is never vouched for here: their
    hashes are checked by the worker. With ``fields_only`` (the sink writes kept lines as they
    are), a plain image line's record holds only what :mod:`augtool.run.kept_lines` reads."""
    if task.partners:
        return None
    inputs = [(task.source.path, task.source.link)]
    if task.source.annotation is not None and task.payload is None:
        # (A task's payload is vouched for by its hash, checked below.)
        inputs.append((task.source.annotation, False))
    records, lines = earlier.read(fields_only and task.payload is None)
    shas = source_shas(records)
    if len(shas) != len(inputs) or any(path not in shas for path, _ in inputs):
        return None
    # Paths as strings, not Path objects: a rerun checks every source and output this way.
    in_root = os.fspath(input_root)
    stats = {}
    for path, link in inputs:
        cached = previous.source_stats.get(path)
        stat = stat_of(f"{in_root}/{path}", follow=link)
        if cached is None or stat is None or stat != cached[0] or cached[1] != shas[path]:
            return None
        stats[path] = stat
    files = [r for r in records if r["type"] == "file"]
    if task.payload is not None:
        wanted = canonical_sha256(task.payload)
        if any(registry.payload_from(r) != wanted for r in files):
            return None
    if not writes_the_same(files, task):
        return None
    # The scan of the output (augtool.run.tree) kept only the outputs it found as cached.
    current = previous.output_stats
    outputs = {r["path"]: current.get(r["path"]) for r in files}
    if None in outputs.values():
        return None
    return TaskResult(task.source.path, records, stats, outputs, kept=True, lines=lines)


def write_dataset_file(
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


def copy_extra(input_root: Path, output_root: Path, name: str, previous: Previous) -> TaskResult:
    """A file of the dataset itself (``data.yaml``), copied as it is and recorded."""
    data = (input_root / name).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    return write_dataset_file(output_root, name, data, sha, previous, "dataset")


def remove_vanished(output_root: Path, previous: Previous, planned: set[str]) -> int:
    """Delete the outputs of sources that are gone from the input (or no longer eligible)."""
    return sum(
        unlink_output(output_root, record["path"])
        for source, earlier in previous.tasks.items()
        if source not in planned
        for record in earlier.records
        if record["type"] == "file"
    )


def remove_stale(output_root: Path, previous: Previous, result: TaskResult) -> int:
    """Delete what an earlier run wrote for this source that the new result no longer lists."""
    earlier = previous.tasks.get(result.source)
    if earlier is None:
        return 0
    now = {r["path"] for r in result.records if r["type"] == "file"}
    return sum(
        unlink_output(output_root, r["path"])
        for r in earlier.records
        if r["type"] == "file" and r["path"] not in now
    )


def unlink_output(output_root: Path, relative: str) -> int:
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


def earlier_records(previous: Previous, task: Task) -> list[RecordDict] | None:
    earlier = previous.tasks.get(task.source.path)
    return None if earlier is None or not earlier.keepable else earlier.records
