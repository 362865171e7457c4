"""A source whose medium streams it (a table of many rows, see docs/text.md): hashed, copied
and derived from its file, never read whole into memory.

The medium opens the source (``open_packed(path, limits, name)``: None when it reads this one
whole) and writes its one variant file and the row table beside it (``write_packed``); the
variant's line names the row table (``rows``), which has a line of its own (``kind: rows``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path
from typing import Any

from augtool.atomic import atomic_open, link_atomic
from augtool.manifest.records import FileRecord, SourceRef
from augtool.media import registry as media
from augtool.run.statcache import Stat, stat_key, stat_of

BLOCK = 1 << 20


def streams(medium: str) -> bool:
    """Whether the run's medium may stream its sources."""
    return hasattr(media.get(medium), "open_packed")


def hash_stable(path: Path, follow: bool) -> tuple[str, int, Stat]:
    """The sha256, size and stat of a regular file read in blocks; raises ``OSError``, or
    ``ValueError`` when it changed while it was read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    digest, size = hashlib.sha256(), 0
    with os.fdopen(os.open(path, flags), "rb") as handle:
        before = os.fstat(handle.fileno())
        if not stat.S_ISREG(before.st_mode):
            raise OSError(0, "not a regular file")
        while block := handle.read(BLOCK):
            digest.update(block)
            size += len(block)
        after = os.fstat(handle.fileno())
    moved = (before.st_mtime_ns, before.st_size) != (after.st_mtime_ns, after.st_size)
    if moved or size != after.st_size:
        raise ValueError(str(path))
    return digest.hexdigest(), size, stat_key(after)


def unchanged(path: Path, stat: Stat) -> bool:
    return stat_of(path) == stat


def copy_original(source: Path, target: Path, how: str) -> str:
    """``source`` linked or copied (in blocks) to ``target``; how it was written."""
    if how == "link":
        try:
            link_atomic(source, target)
            return "link"
        except OSError:
            pass  # another file system, or links not allowed: a copy is the honest fallback
    with open(source, "rb") as handle, atomic_open(target) as out:
        shutil.copyfileobj(handle, out, BLOCK)
    return "copy"


def packed_records(
    task: Any, ctx: Any, packed: Any, origin: SourceRef, size: int, how: str | None
) -> list[FileRecord]:
    """Write the variant file and its row table; the records of the original (when ``how``
    says it was written), the variant and the row table."""
    medium = media.get(ctx.medium)
    out_root = Path(ctx.output_root)
    path, seed = task.variants[0], task.seeds[0]
    rows = medium.rows_path(path)
    made = medium.write_packed(ctx.steps, packed, seed, (out_root / path, out_root / rows))
    facts = medium.packed_facts(packed)
    common = {"split": task.source.split, "label": task.source.label, "source": origin}
    records = []
    if how is not None:
        records.append(
            FileRecord(
                path=str(task.original),
                sha256=origin.sha256,
                bytes=size,
                role="original",
                how=how,
                variant=None,
                seed=None,
                steps=[],
                image_size=None,
                **common,
            )
        )
    sha, length = made["variant"]
    records.append(
        FileRecord(
            path=path,
            sha256=sha,
            bytes=length,
            role="augmented",
            variant=0,
            seed=seed,
            steps=[],
            rows=rows,
            encoder={"format": packed.table.format, "encoding": "utf-8"},
            image_size=[made["written"]],
            decoded=facts,
            metadata="stripped" if ctx.strip_metadata else "kept",
            **common,
        )
    )
    sha, length = made["rows"]
    records.append(
        FileRecord(
            kind="rows",
            path=rows,
            sha256=sha,
            bytes=length,
            role="augmented",
            image=path,
            variant=0,
            seed=seed,
            steps=[],
            **common,
        )
    )
    return records


__all__ = ["copy_original", "hash_stable", "packed_records", "streams", "unchanged"]
