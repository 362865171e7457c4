"""Files hashed on a pool: validate's fixity and source checks (sha256) and the near-duplicate
check's fingerprints, in batches of similar work,
with the same interrupt handling as a run's batches (:func:`~augtool.run.executors.map_in_order`).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from augtool.run.executors import map_in_order

CHUNK = 1 << 20
#: Below this much work (bytes, plus a per-file cost) a process pool costs more than it saves.
POOL_MIN_WORK = 64 << 20
PER_FILE_WORK = 16 << 10


_buffer: bytearray | None = None


OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def hash_file(path: str) -> tuple[str | None, str | None]:
    """The sha256 of a regular file, read in 1 MiB chunks: ``(hexdigest, None)`` or ``(None,
    reason)``. The last component is never followed (a link swapped in after the walk fails),
    and a FIFO swapped in is not waited on (non-blocking open, then a regular-file check)."""
    global _buffer
    if _buffer is None:
        _buffer = bytearray(CHUNK)
    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError as exc:
        return None, exc.strerror or str(exc)
    try:
        with open(fd, "rb", buffering=0, closefd=True) as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None, "not a regular file"
            digest = hashlib.sha256()
            view = memoryview(_buffer)
            while count := handle.readinto(view):
                digest.update(view[:count])
            return digest.hexdigest(), None
    except OSError as exc:
        return None, exc.strerror or str(exc)


def _hash_batch(paths: list[str]) -> list[tuple[str | None, str | None]]:
    return [hash_file(path) for path in paths]


def hash_files(
    paths: list[str], sizes: list[int], jobs: int
) -> Iterator[tuple[str | None, str | None]]:
    """Hash ``paths`` in order; across ``jobs`` processes when the work pays for a pool."""
    work = sum(sizes) + PER_FILE_WORK * len(paths)
    if jobs <= 1 or work < POOL_MIN_WORK or len(paths) < 2:
        yield from map(hash_file, paths)
        return
    batches = _batches(paths, sizes, jobs)
    for results in map_in_order(_hash_batch, [(batch,) for batch in batches], jobs, True):
        yield from results


def _batches(paths: list[str], sizes: list[int], jobs: int) -> list[list[str]]:
    """Split into about ``8 * jobs`` batches of similar work, keeping the order."""
    target = (sum(sizes) + PER_FILE_WORK * len(paths)) / (8 * jobs)
    batches: list[list[str]] = [[]]
    work = 0.0
    for path, size in zip(paths, sizes, strict=True):
        if work >= target and batches[-1]:
            batches.append([])
            work = 0.0
        batches[-1].append(path)
        work += size + PER_FILE_WORK
    return batches


#: Below this many sources to decode, a process pool costs more than it saves.
FINGERPRINT_POOL_MIN = 64
#: The most sources a batch of fingerprinting holds (small batches keep the workers even).
FINGERPRINT_BATCH = 32


def _fingerprint_batch(medium: str, root: str, paths: list[str]) -> list[int | None]:
    from augtool.media import registry

    fingerprint = registry.get(medium).fingerprint  # type: ignore[attr-defined]
    return [fingerprint(Path(root, path)) for path in paths]


def fingerprint_files(medium: str, root: Path, paths: list[str], jobs: int) -> list[int | None]:
    """The near-duplicate fingerprint ``medium`` gives each file at ``root / path`` (None: not
    one it can decode), in order; across ``jobs`` processes when there are enough of them to
    pay for a pool."""
    per_batch = max(1, min(FINGERPRINT_BATCH, -(-len(paths) // (4 * max(jobs, 1)))))
    tasks = [(medium, str(root), paths[i : i + per_batch]) for i in range(0, len(paths), per_batch)]
    found: list[int | None] = []
    worth = len(paths) >= FINGERPRINT_POOL_MIN
    for batch in map_in_order(_fingerprint_batch, tasks, jobs, worth):
        found.extend(batch)
    return found


#: Each example of a source holding many: (its 1-based data row, its fingerprint or None, its own
#: split or None); None for a source that cannot be read.
Examples = list[tuple[int, int | None, str | None]] | None


def _examples_batch(medium: str, root: str, paths: list[str], settings: str) -> list[Examples]:
    from augtool.media import registry

    hook = registry.get(medium).example_fingerprints  # type: ignore[attr-defined]
    return [hook(Path(root, path), settings) for path in paths]


def example_fingerprint_files(
    medium: str, root: Path, paths: list[str], settings: str, jobs: int
) -> list[Examples]:
    """The near-duplicate fingerprints of the examples of each file at ``root / path``, for a
    medium whose sources hold many (its ``example_fingerprints`` hook, told the run's
    ``settings``), in order; batched as :func:`fingerprint_files` batches."""
    per_batch = max(1, min(FINGERPRINT_BATCH, -(-len(paths) // (4 * max(jobs, 1)))))
    tasks = [
        (medium, str(root), paths[i : i + per_batch], settings)
        for i in range(0, len(paths), per_batch)
    ]
    found: list[Examples] = []
    for batch in map_in_order(_examples_batch, tasks, jobs, len(paths) >= FINGERPRINT_POOL_MIN):
        found.extend(batch)
    return found


def _dihedral_batch(root: str, paths: list[str]) -> list[tuple[int, ...] | None]:
    from augtool.neardup import dihedral_phashes

    return [dihedral_phashes(os.path.join(root, path)) for path in paths]


def dihedral_phash_files(root: Path, paths: list[str], jobs: int) -> list[tuple[int, ...] | None]:
    """:func:`augtool.neardup.dihedral_phashes` of each image at ``root / path``, in order,
    batched as :func:`phash_files` batches."""
    per_batch = max(1, min(FINGERPRINT_BATCH, -(-len(paths) // (4 * max(jobs, 1)))))
    tasks = [(str(root), paths[i : i + per_batch]) for i in range(0, len(paths), per_batch)]
    found: list[tuple[int, ...] | None] = []
    for batch in map_in_order(_dihedral_batch, tasks, jobs, len(paths) >= FINGERPRINT_POOL_MIN):
        found.extend(batch)
    return found
