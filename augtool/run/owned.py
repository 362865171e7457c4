"""What the stat cache notes of a task's records so that a rerun can keep them unread.

A rerun keeps a source whose files are unchanged. To keep one, it must know that the earlier
records name the files the task writes now, with the class and split it gives them now
(:func:`~augtool.run.plan.writes_the_same`), and what the summary counts of them. For a plain
task (its records are all files of its own source, with nothing the summary counts beyond
their roles and nothing the sink adds to them), the stat cache holds that as one line: a
fingerprint of the records' paths, class, split and source digest and of the stats of the
task's files, and their count by role. A rerun then compares the fingerprint with the one the
task and its files' stats give and copies the records' lines as they are
(:mod:`augtool.run.kept_blocks`); any other task's lines are read.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import struct
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from augtool.manifest import RecordDict

#: (inode, mtime in ns, size, ctime in ns): :data:`augtool.run.statcache.Stat`
Stat = tuple[int, int, int, int]

#: Steps the summary counts of a kept line (an audio variant clipped, a copy_paste that had no
#: object to paste): a task with one is read on a rerun.
_COUNTED_STEPS = frozenset({"copy_paste", "clip"})
#: Fields the sink may add to or change in a line: a task with one is read on a rerun.
_SINK_FIELDS = ("kind", "licence", "author", "source_phash", "classes")


class Owned(NamedTuple):
    """A plain task's lines in the stat cache: its line (its fingerprint, its files by role as
    ``"role:count"``, comma-separated, and its source's digest) and its entries after it (the
    source's, then each output's in path order)."""

    fingerprint: str
    roles: str
    sha256: str
    lines: bytes  # its line and its entries, as the cache holds them
    head: int  # the bytes of its line


class Plain(NamedTuple):
    """What a plain task's records say of it (:func:`plain_records`)."""

    paths: list[str]  # sorted
    label: str | None
    split: str | None
    sha256: str  # its source's
    roles: str  # :func:`roles_text`


def fingerprint(
    paths: Sequence[str],
    label: str | None,
    split: str | None,
    source_sha256: str,
    stats: tuple[Stat, ...],
) -> str:
    """The fingerprint of a task's sorted output paths, with one class and split, made from a
    source with this digest, and of the stats of its source and outputs (in that order) when
    the stat cache noted them: equal for the records of a task as written and for the task on
    a rerun (with the stats its files have then) when they name the same files the same way
    and no file changed. (A NUL separates the paths: no file name holds one.)"""
    text = f"{chr(0).join(paths)}\1{label!r}\1{split!r}\1{source_sha256}\1"
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16)
    digest.update(_stats_bytes(stats))
    return digest.hexdigest()


def _stats_bytes(stats: tuple[Stat, ...]) -> bytes:
    """The stats as bytes: packed (a rerun gives every kept source's), or their text for a
    number no stat field of a real file has."""
    try:
        return _packer(len(stats)).pack(*itertools.chain.from_iterable(stats))
    except struct.error:
        return repr(stats).encode()


@functools.lru_cache(maxsize=16)
def _packer(count: int) -> struct.Struct:
    """``count`` stats: inode and size unsigned, mtime and ctime signed (before 1970)."""
    return struct.Struct("<" + "QqQq" * count)


def plain_records(owner: str, records: Sequence[RecordDict]) -> Plain | None:
    """What a task's records say of it, or None when a rerun must read them: a skipped
    source, a label file, a file of another source, a class or split that differs between
    files, a field the sink adds, or anything the summary counts besides roles."""
    if not records:
        return None
    first = records[0]
    label, split = first.get("label"), first.get("split")
    paths: list[str] = []
    roles: Counter[str] = Counter()
    for record in records:
        if record.get("type") != "file" or any(key in record for key in _SINK_FIELDS):
            return None
        if record["source"] != first["source"] or first["source"]["path"] != owner:
            return None
        if record.get("label") != label or record.get("split") != split:
            return None
        if (record.get("decoded") or {}).get("range") is not None:
            return None
        if any(step.get("name") in _COUNTED_STEPS for step in record.get("steps") or ()):
            return None
        paths.append(record["path"])
        roles[record["role"]] += 1
    paths.sort()
    return Plain(paths, label, split, first["source"]["sha256"], roles_text(roles))


def roles_text(roles: Counter[str]) -> str:
    return ",".join(f"{role}:{count}" for role, count in sorted(roles.items()))


@functools.lru_cache(maxsize=64)
def roles_of(text: str) -> tuple[tuple[str, int], ...]:
    """The (role, count) pairs of :func:`roles_text` (a rerun reads the same few texts for
    every kept source)."""
    pairs = (part.partition(":") for part in text.split(","))
    return tuple((role, int(count)) for role, _, count in pairs)
