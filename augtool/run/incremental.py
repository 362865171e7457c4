"""What an output folder remembers between runs, in ``OUT/.augtool/``.

- ``lock``: an OS file lock (``flock``) held for the whole run. The kernel releases it when the
  holder dies, even by ``kill -9``, so a stale lock never blocks the next run.
- ``journal.jsonl``: one line per finished task (its records and the stat of every file it
  read or wrote), flushed as each task finishes. A run that is interrupted, killed or out of disk
  leaves every finished task here; the next run keeps them instead of redoing them. A torn last
  line (a kill mid-write) is ignored.
- ``run-state.json``: the recipe hash and input folder of the run in progress.
- ``stat-cache.jsonl``: (inode, mtime, size, ctime, sha256) of every source and output after the
  last complete run, so that a rerun recognises unchanged files without hashing them (as DVC
  does). The ctime is what catches a file edited in place whose size and mtime were put back
  (``touch -r``, ``os.utime``): only the kernel sets it. A cache or journal that an earlier
  augtool wrote without it vouches for nothing, so the first rerun hashes everything once.

None of this is part of the determinism contract or the manifest.

An earlier run's records are not held in memory: :class:`Earlier` keeps the byte spans of a
source's lines in the old manifest (or journal), whose file stays open for the run, and parses
them when asked.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from augtool.atomic import TEMP_PREFIX, atomic_open
from augtool.errors import OutputError
from augtool.manifest import (
    MANIFEST_NAME,
    STATE_DIR,
    ManifestDamaged,
    ManifestReader,
    RecordDict,
    dump_line,
)

#: (inode, mtime in ns, size, ctime in ns) of a file as last seen. The ctime moves with any change
#: to the file's data or inode (a write, a rename, a new hard link) and cannot be set back.
Stat = tuple[int, int, int, int]
STAT_FIELDS = 4
#: The augtool version and the library versions (``{"numpy": …, "pillow": …}``) outputs were
#: made with; ``None`` where unknown.
MadeWith = tuple[str | None, dict[str, str] | None]

LOCK_NAME = "lock"
JOURNAL_NAME = "journal.jsonl"
RUN_STATE_NAME = "run-state.json"
STAT_CACHE_NAME = "stat-cache.jsonl"


def stat_of(path: Path, follow: bool = False) -> Stat | None:
    """The :data:`Stat` of a regular file (following a link only when asked), or None."""
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return stat_key(st)


def stat_key(st: os.stat_result) -> Stat:
    """What the stat cache compares of a file's ``os.stat`` result."""
    return (st.st_ino, st.st_mtime_ns, st.st_size, st.st_ctime_ns)


def _stats(value: dict[str, Any]) -> dict[str, Stat]:
    """A journal's stats by path. One written before the ctime was part of a stat (three
    numbers) is left out: unknown, so its file is hashed."""
    return {k: tuple(v) for k, v in value.items() if len(v) == STAT_FIELDS}


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

    def as_line(self) -> str:
        entry: dict[str, Any] = {
            "source": self.source,
            "sources": self.sources,
            "outputs": self.outputs,
            "kept": self.kept,
        }
        if self.lines is None:
            entry["records"] = self.records
        else:
            entry["lines"] = self.lines
        return dump_line(entry)

    @classmethod
    def from_line(cls, line: dict[str, Any]) -> TaskResult:
        texts = line.get("lines")
        records = line["records"] if texts is None else [json.loads(text) for text in texts]
        return cls(
            source=line["source"],
            records=records,
            sources=_stats(line["sources"]),
            outputs=_stats(line["outputs"]),
            kept=line["kept"],
            lines=texts,
        )


class OutputLock:
    """An exclusive lock on an output folder for the length of a run."""

    def __init__(self, output_root: Path) -> None:
        self.path = output_root / STATE_DIR / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        import fcntl

        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(
                f"{self.path.parent.parent}: another augtool run is writing here "
                f"(it holds the lock {self.path})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def _open(self) -> int:
        """The lock file, made with its folder if need be. A folder augtool cannot write in
        (read-only, not permitted) is an unusable output: refused, with nothing left behind."""
        state_dir = self.path.parent
        made = not state_dir.exists()
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if made:
                with contextlib.suppress(OSError):
                    state_dir.rmdir()
            raise OutputError(
                f"{state_dir.parent}: cannot write in the output folder: {exc.strerror}"
            ) from None

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None


class Journal:
    """Finished tasks, one line each, flushed as they come."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle = handle

    @classmethod
    def start(cls, state_dir: Path, kept: Iterable[TaskResult]) -> Journal:
        """A new journal holding ``kept``, replacing any old one atomically (so what the old one
        proved is never lost, even if this run is interrupted at once)."""
        path = state_dir / JOURNAL_NAME
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
    for _, _, result in _journal_entries(path):
        yield result


def _journal_entries(path: Path) -> Iterator[tuple[int, int, TaskResult]]:
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


class _Spans:
    """An open file of an earlier run (its manifest or journal) and how to read records back
    from byte spans of it. The file stays open, so a journal replaced by this run's is still
    read as it was."""

    def __init__(self, path: Path, journal: bool) -> None:
        self._handle = open(path, "rb")  # noqa: SIM115  (closed by Previous.close)
        self._journal = journal
        #: the augtool and library versions its outputs were made with
        self.made_with: MadeWith = (None, None)
        #: whether its outputs can be kept (see :meth:`Previous.keep_only_made_with`)
        self.keepable = True

    def read(self, spans: array[int]) -> tuple[list[RecordDict], list[str] | None]:
        """The records in these spans, and their manifest lines when the file holds them as
        written (``None`` when some are known only as records)."""
        records: list[RecordDict] = []
        lines: list[str] | None = []
        for i in range(0, len(spans), 2):
            raw = os.pread(self._handle.fileno(), spans[i + 1], spans[i])
            if self._journal:
                result = TaskResult.from_line(json.loads(raw))
                records.extend(result.records)
                if lines is not None and result.lines is not None:
                    lines.extend(result.lines)
                else:
                    lines = None
            else:
                text = raw.decode("utf-8")
                records.append(json.loads(text))
                if lines is not None:
                    lines.append(text)
        return records, lines

    def close(self) -> None:
        self._handle.close()


class Earlier:
    """An earlier run's records of one source, read back from disk each time they are asked
    for: a rerun over a million sources holds their byte offsets, not their parsed records."""

    __slots__ = ("_file", "_spans", "source")

    def __init__(self, source: str, file: _Spans) -> None:
        self.source = source
        self._file = file
        self._spans = array("q")  # offset, length, offset, length, ...

    def add(self, offset: int, length: int) -> None:
        self._spans.extend((offset, length))

    @property
    def records(self) -> list[RecordDict]:
        return self._file.read(self._spans)[0]

    def read(self) -> tuple[list[RecordDict], list[str] | None]:
        """The records and, when known, their manifest lines as written."""
        return self._file.read(self._spans)

    @property
    def keepable(self) -> bool:
        """Whether these outputs were made with this run's versions, so may be kept."""
        return self._file.keepable


@dataclass
class Previous:
    """What earlier runs into this output left: records by source, and the files' stats."""

    recipe_sha256: str | None = None
    input_root: str | None = None
    recipe: dict[str, Any] | None = None
    tasks: dict[str, Earlier] = field(default_factory=dict)
    source_stats: dict[str, tuple[Stat, str]] = field(default_factory=dict)  # stat, sha256
    output_stats: dict[str, Stat] = field(default_factory=dict)
    files: list[_Spans] = field(default_factory=list)  # the files the records are read from

    @property
    def empty(self) -> bool:
        return self.recipe_sha256 is None

    def keep_only_made_with(self, made_with: MadeWith) -> None:
        """Only outputs made with these versions can be kept. The others are still known, so
        that what a vanished source left can be removed."""
        for file in self.files:
            file.keepable = file.made_with == made_with

    def close(self) -> None:
        for file in self.files:
            file.close()
        self.files.clear()


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
    state_dir = output_root / STATE_DIR
    manifest = output_root / MANIFEST_NAME
    if manifest.is_file():
        _load_manifest(manifest, previous)
        _load_stat_cache(state_dir / STAT_CACHE_NAME, previous)
    state_file = state_dir / RUN_STATE_NAME
    if state_file.is_file():
        try:
            state = json.loads(state_file.read_text(encoding="utf-8"))
        except ValueError:
            state = None
        if state is not None:
            previous.recipe_sha256 = state["recipe_sha256"]
            previous.input_root = state["input_root"]
            previous.recipe = state["recipe"]
            # "libraries" is absent from run states written before 2026-11-29: unknown.
            made_with = (state["tool_version"], state.get("libraries"))
            _load_journal(state_dir / JOURNAL_NAME, previous, made_with)


def _load_journal(path: Path, previous: Previous, made_with: MadeWith) -> None:
    """The finished tasks of an interrupted run: their stats now, their records by span."""
    if not path.is_file():
        return
    file = _Spans(path, journal=True)
    file.made_with = made_with
    previous.files.append(file)
    for offset, length, result in _journal_entries(path):
        earlier = Earlier(result.source, file)
        earlier.add(offset, length)
        previous.tasks[result.source] = earlier
        previous.output_stats.update(result.outputs)
        shas = source_shas(result.records)
        for in_path, seen in result.sources.items():
            if in_path in shas:
                previous.source_stats[in_path] = (seen, shas[in_path])


def source_shas(records: list[RecordDict]) -> dict[str, str]:
    """The sha256 of every input file a task's records name (the image, its labels)."""
    shas: dict[str, str] = {}
    for record in records:
        if record["type"] == "file":
            shas[record["source"]["path"]] = record["source"]["sha256"]
        elif record.get("sha256"):
            shas[record["path"]] = record["sha256"]
    return shas


def _load_manifest(path: Path, previous: Previous) -> None:
    """The previous run's records by source, as byte spans of its manifest (read strictly: a
    manifest that is truncated or edited is refused)."""
    header: dict[str, Any] | None = None
    file = _Spans(path, journal=False)
    previous.files.append(file)
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
        raise OutputError(
            f"{path}: the manifest of the previous run is damaged (use --force to rebuild)"
        )
    for offset, length, image, source in labels:
        owner = image_source.get(image, source)
        _earlier(tasks, owner, file).add(offset, length)
    previous.recipe_sha256 = header["recipe_sha256"]
    file.made_with = (header["tool"]["version"], header.get("libraries"))
    previous.recipe = header["recipe"]
    previous.tasks.update(tasks)


def _earlier(tasks: dict[str, Earlier], owner: str, file: _Spans) -> Earlier:
    earlier = tasks.get(owner)
    if earlier is None:
        earlier = tasks[owner] = Earlier(owner, file)
    return earlier


def _load_stat_cache(path: Path, previous: Previous) -> None:
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115
    except FileNotFoundError:
        return
    with handle:
        header = _first_json(handle)
        if header is None:
            return
        previous.input_root = header.get("input_root")
        for line in handle:
            try:
                entry = json.loads(line)
                # A KeyError for an entry without "ctime_ns" (an older cache): not vouched for.
                stat = (entry["ino"], entry["mtime_ns"], entry["size"], entry["ctime_ns"])
                if entry["root"] == "in":
                    previous.source_stats[entry["path"]] = (stat, entry["sha256"])
                else:
                    previous.output_stats[entry["path"]] = stat
            except (ValueError, KeyError, TypeError):
                continue


def _first_json(handle: IO[str]) -> dict[str, Any] | None:
    try:
        value = json.loads(handle.readline())
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def write_run_state(
    state_dir: Path,
    recipe_sha256: str,
    recipe: dict[str, Any],
    version: str,
    libraries: dict[str, str],
    input_root: str,
) -> None:
    data = {
        "recipe_sha256": recipe_sha256,
        "recipe": recipe,
        "tool_version": version,
        "libraries": libraries,
        "input_root": input_root,
    }
    with atomic_open(state_dir / RUN_STATE_NAME, fsync=True) as handle:
        handle.write(dump_line(data).encode("utf-8"))


@contextlib.contextmanager
def stat_cache_writer(state_dir: Path, input_root: str) -> Iterator[Callable[[TaskResult], None]]:
    """A function that notes a task's files in a new stat cache, committed (atomically) when the
    block ends without an error."""
    with atomic_open(state_dir / STAT_CACHE_NAME) as handle:
        handle.write(dump_line({"input_root": input_root}).encode("utf-8"))

        def note(result: TaskResult) -> None:
            shas = source_shas(result.records)
            for path, seen in result.sources.items():
                if path in shas:
                    entry = {"root": "in", "path": path, **_stat_fields(seen), "sha256": shas[path]}
                    handle.write(dump_line(entry).encode("utf-8"))
            for path, seen in result.outputs.items():
                entry = {"root": "out", "path": path, **_stat_fields(seen)}
                handle.write(dump_line(entry).encode("utf-8"))

        yield note


def _stat_fields(seen: Stat) -> dict[str, int]:
    ino, mtime, size, ctime = seen
    return {"ino": ino, "mtime_ns": mtime, "size": size, "ctime_ns": ctime}


def finish_run(state_dir: Path) -> None:
    """The manifest is written: the journal and run state have served their purpose."""
    for name in (JOURNAL_NAME, RUN_STATE_NAME):
        with contextlib.suppress(FileNotFoundError):
            (state_dir / name).unlink()


def remove_temp_files(output_root: Path) -> int:
    """Delete temp files that a killed run left behind (never under a final name)."""
    removed = 0
    for folder, dirs, files in os.walk(output_root, followlinks=False):
        dirs[:] = [d for d in dirs if d != STATE_DIR]
        for name in files:
            if name.startswith(TEMP_PREFIX):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(folder, name))
                    removed += 1
    return removed


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
