"""Sharded runs: ``expand --shard K/N`` makes one slice of the sources into its own output (a
*part*), and ``augtool merge`` combines the N parts into the output one run would write.

A source belongs to shard ``1 + h mod N``, where ``h`` is a hash of its path alone: the slice
does not depend on which other files exist, so adding files never moves a source to another
shard, and the shards hold about ``1/N`` of the sources each (a hash spreads them evenly; a
small dataset can be uneven by a few sources). Seeds, balancing counts, licences and the
near-duplicate check are decided over the whole dataset before the slice is taken, so a
source's outputs are the same bytes whichever shard makes them.

Merging links (or, across file systems, copies) each part's outputs into the merged output and
hands the parts' records to the incremental machinery as an earlier run's: every output that
the parts' stat caches vouch for is kept without being read, any other is checked by hashing,
and the dataset-wide files (the layout's own, NOTICE, manifest, SHA256SUMS,
croissant.json) are written from all the records together. The merged manifest is therefore
the one a single run writes, byte for byte.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augtool import __version__
from augtool.atomic import TEMP_PREFIX, link_atomic
from augtool.errors import InputError, OutputError, UsageError
from augtool.manifest import MANIFEST_NAME, STAT_CACHE_NAME, ManifestReader
from augtool.run.incremental import Previous, load_manifest_tasks
from augtool.run.statcache import load_stat_cache, stat_of

_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``K/N`` with 1 ≤ K ≤ N; a :class:`UsageError` otherwise."""
        match = _SHARD.fullmatch(text)
        if match is None:
            raise UsageError("{shard} {value!r}: expected K/N, as in 2/8", value=text)
        index, count = int(match[1]), int(match[2])
        if not 1 <= index <= count:
            raise UsageError(
                "{shard} {value!r}: K must be between 1 and N (shards are numbered from 1)",
                value=text,
            )
        return cls(index, count)

    def holds(self, path: str) -> bool:
        """Whether the source (or skipped input) at ``path`` is this shard's."""
        digest = hashlib.sha256(f"augtool-shard\0{path}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1

    def as_json(self) -> dict[str, int]:
        return {"index": self.index, "count": self.count}

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class Part:
    """A finished shard's output, as :func:`read_parts` checked it."""

    root: Path
    shard: Shard
    header: dict[str, Any]


def read_parts(roots: list[Path], recipe_sha256: str, libraries: dict[str, str]) -> list[Part]:
    """The parts, checked before anything is written: each a finished shard's output of this
    recipe, made with this augtool and these library versions, all of one shard count, each
    shard exactly once."""
    if not roots:
        raise UsageError("{parts}: name the folders of the shards to merge")
    parts = [_read_part(root) for root in roots]
    for part in parts:
        made_by = part.header.get("tool", {}).get("version")
        if made_by != __version__:
            raise OutputError(f"{part.root}: made by augtool {made_by}, this is {__version__}")
        if part.header.get("recipe_sha256") != recipe_sha256:
            raise OutputError(f"{part.root}: made by another recipe than the one to merge with")
        if part.header.get("libraries") != libraries:
            raise OutputError(
                f"{part.root}: made with other library versions ({part.header.get('libraries')}, "
                f"here {libraries}); a part's bytes depend on them, so run that shard again here"
            )
    count = parts[0].shard.count
    seen: dict[int, Path] = {}
    for part in parts:
        if part.shard.count != count:
            raise OutputError(
                f"{part.root}: shard {part.shard}, but {parts[0].root} is of {count} shards"
            )
        if part.shard.index in seen:
            raise OutputError(
                f"{seen[part.shard.index]} and {part.root} are both shard {part.shard}; "
                "name each shard once"
            )
        seen[part.shard.index] = part.root
    missing = [str(k) for k in range(1, count + 1) if k not in seen]
    if missing:
        raise OutputError(
            f"shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} of {count} "
            f"missing: {len(parts)} part{'s' if len(parts) > 1 else ''} given"
        )
    return sorted(parts, key=lambda part: part.shard.index)


def _read_part(root: Path) -> Part:
    manifest = root / MANIFEST_NAME
    if not manifest.is_file():
        raise InputError(f"{root}: no {MANIFEST_NAME} (not a shard's output, or it did not finish)")
    header = ManifestReader(manifest).header()
    shard = header.get("shard")
    if not isinstance(shard, dict):
        raise InputError(f"{manifest}: not a shard's manifest (made without --shard)")
    return Part(root, Shard(int(shard["index"]), int(shard["count"])), header)


def adopt_parts(previous: Previous, parts: list[Part], output_root: Path, input_abs: str) -> int:
    """Under the merged output's lock: link each part's outputs into ``output_root`` and add the
    parts' records to ``previous`` as an earlier run's (the parts win over what an earlier merge
    left). An output that its part's stat cache vouches for is vouched for in ``output_root``
    too; a source is vouched for when the part read it from this input folder. Returns the
    number of files placed."""
    placed = 0
    for part in parts:
        found = Previous()
        index = load_stat_cache(part.root / STAT_CACHE_NAME, found)
        load_manifest_tasks(
            part.root / MANIFEST_NAME, found, index, "damaged: run that shard again"
        )
        same_input = found.input_root == input_abs
        for owner, earlier in found.tasks.items():
            files = [r for r in earlier.records if r["type"] == "file"]
            if files and all(r["role"] == "dataset" for r in files):
                continue  # the dataset's own files: the merge writes them from every record
            for record in files:
                path = record["path"]
                before = stat_of(part.root / path)
                if before is None:
                    continue  # gone from its part: the merge makes it again, as for a damaged one
                _place(part.root / path, output_root / path)
                placed += 1
                if before is not None and before == found.output_stats.get(path):
                    after = stat_of(output_root / path)
                    if after is not None:
                        previous.output_stats[path] = after
            previous.tasks[owner] = earlier
        if same_input:
            previous.source_stats.update(found.source_stats)
        previous.files.extend(found.files)
        found.files.clear()
    previous.input_root = input_abs
    previous.recipe_sha256 = parts[0].header["recipe_sha256"]
    previous.recipe = parts[0].header["recipe"]
    return placed


def _place(source: Path, target: Path) -> None:
    """``target`` made the same file as ``source``: a hard link, or a copy across file systems
    (written under a temp name, then renamed)."""
    if not source.is_file():
        raise InputError(f"{source}: listed in its part's manifest but missing")
    try:
        link_atomic(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        tmp = target.parent / f"{TEMP_PREFIX}{os.getpid()}-{target.name}"
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
