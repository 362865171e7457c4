"""The near-duplicate check's cache, ``OUT/.augtool-phash-cache.jsonl``: each source's fingerprint
(an image's pHash, a clip's band hash) with the stat it was computed at (inode, mtime, size, ctime,
as the stat cache keys a file: :func:`augtool.run.statcache.stat_key`), so a rerun decodes only the
sources that are new or changed. The ctime catches a file rewritten in place with its size and
mtime put back.

The cache vouches for input files only, never for outputs, so it is read whatever the earlier run
was (``--force`` included) as long as it was made for the same input folder by the same hash. It is
written under the run's lock, never by ``--dry-run`` nor by a run the check stops (``on_leak:
fail``). Not part of the determinism contract or the manifest: the hashes are the same computed or
read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from augtool.atomic import atomic_open
from augtool.manifest import PHASH_CACHE_NAME, dump_line
from augtool.run.executors.hashing import fingerprint_files
from augtool.run.statcache import Stat, stat_of

#: A source's stat when hashed and its hash (None: it could not be decoded as an image).
Entry = tuple[Stat, int | None]


def load_phashes(output_root: Path, input_root: Path, kind: str) -> dict[str, Entry]:
    """The cached entries, or none when the cache is missing, unreadable, of another ``kind``
    (the medium's ``fingerprint_kind``: another hash, or another version of one) or of another
    input folder; a line that does not parse is passed over."""
    try:
        handle = open(output_root / PHASH_CACHE_NAME, encoding="utf-8")  # noqa: SIM115
    except OSError:
        return {}
    found: dict[str, Entry] = {}
    with handle:
        try:
            header = json.loads(handle.readline())
        except ValueError:
            return {}
        if not isinstance(header, dict) or header.get("kind") != kind:
            return {}
        if header.get("input_root") != str(input_root.resolve()):
            return {}
        for line in handle:
            try:
                entry = json.loads(line)
                found[entry["path"]] = _entry(entry)
            except (ValueError, KeyError, TypeError):
                continue
    return found


def _entry(entry: dict[str, Any]) -> Entry:
    stat = (entry["ino"], entry["mtime_ns"], entry["size"], entry["ctime_ns"])
    if not all(isinstance(v, int) for v in stat):
        raise TypeError("not a stat")
    value = entry["phash"]
    return stat, None if value is None else int(value, 16)


def source_phashes(
    input_root: Path, paths: list[str], cached: dict[str, Entry], jobs: int, medium: str
) -> dict[str, Entry]:
    """Each path's entry: the cached one when the file's stat is the one it was hashed at,
    else fingerprinted now by ``medium`` (across ``jobs`` processes). A file stat cannot see
    gets no entry."""
    entries: dict[str, Entry] = {}
    missing: list[tuple[str, Stat]] = []
    for path in paths:
        seen = stat_of(input_root / path, follow=True)
        if seen is None:
            continue
        known = cached.get(path)
        if known is not None and known[0] == seen:
            entries[path] = known
        else:
            missing.append((path, seen))
    computed = fingerprint_files(medium, input_root, [path for path, _ in missing], jobs)
    for (path, seen), value in zip(missing, computed, strict=True):
        entries[path] = (seen, value)
    return {path: entries[path] for path in paths if path in entries}


def write_phashes(
    output_root: Path, input_root: Path, entries: dict[str, Entry], kind: str
) -> None:
    """The cache of ``entries`` (in path order), replacing the earlier one atomically."""
    with atomic_open(output_root / PHASH_CACHE_NAME) as handle:
        header = {"kind": kind, "input_root": str(input_root.resolve())}
        handle.write(dump_line(header).encode("utf-8"))
        for path in sorted(entries):
            (ino, mtime, size, ctime), value = entries[path]
            line = {"path": path, "ino": ino, "mtime_ns": mtime, "size": size, "ctime_ns": ctime}
            line["phash"] = None if value is None else f"{value:016x}"
            handle.write(dump_line(line).encode("utf-8"))
