"""The stat cache, ``OUT/.augtool-stat-cache.jsonl``: (inode, mtime, size, ctime, sha256) of
every source and output after the last complete run, so that a rerun recognises unchanged files
without hashing them (as DVC does). The ctime is what catches a file edited in place whose size
and mtime were put back (``touch -r``, ``os.utime``): only the kernel sets it. A cache or journal
that an earlier augtool wrote without it vouches for nothing, so the first rerun hashes
everything once. Not part of the determinism contract or the manifest.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from augtool.atomic import atomic_open
from augtool.manifest import STAT_CACHE_NAME, RecordDict, dump_line

if TYPE_CHECKING:
    from augtool.run.incremental import Previous
    from augtool.run.journal import TaskResult

#: (inode, mtime in ns, size, ctime in ns) of a file as last seen. The ctime moves with any change
#: to the file's data or inode (a write, a rename, a new hard link) and cannot be set back.
Stat = tuple[int, int, int, int]
STAT_FIELDS = 4


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


def stats_by_path(value: dict[str, Any]) -> dict[str, Stat]:
    """A journal's stats by path. One written before the ctime was part of a stat (three
    numbers) is left out: unknown, so its file is hashed."""
    return {k: tuple(v) for k, v in value.items() if len(v) == STAT_FIELDS}


def source_shas(records: list[RecordDict]) -> dict[str, str]:
    """The sha256 of every input file a task's records name (the image, its labels)."""
    shas: dict[str, str] = {}
    for record in records:
        if record["type"] == "file":
            shas[record["source"]["path"]] = record["source"]["sha256"]
        elif record.get("sha256"):
            shas[record["path"]] = record["sha256"]
    return shas


def load_stat_cache(path: Path, previous: Previous) -> None:
    """The cached stats, into ``previous``; a line that does not parse vouches for nothing."""
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


@contextlib.contextmanager
def stat_cache_writer(output_root: Path, input_root: str) -> Iterator[Callable[[TaskResult], None]]:
    """A function that notes a task's files in a new stat cache, committed (atomically) when the
    block ends without an error."""
    with atomic_open(output_root / STAT_CACHE_NAME) as handle:
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
