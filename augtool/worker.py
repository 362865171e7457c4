"""The work of one source, run in a worker: read once, decode once, write every output.

A worker returns small records (paths, hashes, parameters), never pixels, so what crosses the
process boundary stays tiny whatever the image size.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat as stat_module
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from augtool.atomic import link_atomic, write_atomic
from augtool.codecs import DecodeError, decode, encode, encoder_settings
from augtool.plan import Task
from augtool.runstate import Stat, TaskResult, stat_of
from augtool.transforms import Step, run

Record = dict[str, Any]


@dataclass(frozen=True)
class JobContext:
    """What every task of a run shares; sent once per batch of tasks."""

    input_root: str
    output_root: str
    steps: tuple[Step, ...]
    formats: tuple[str, ...]
    quality: int
    originals: str  # copy | link | skip
    strip_metadata: bool
    max_pixels: int | None = None
    main_pid: int = 0  # the process that runs the job; a worker exits when it is gone


def process_tasks(
    tasks: list[tuple[Task, list[Record] | None]], ctx: JobContext
) -> list[TaskResult]:
    """Process a batch of (task, previous records) pairs; one result per task, in order."""
    _exit_with_parent(ctx.main_pid)
    return [process_task(task, ctx, previous) for task, previous in tasks]


def process_task(task: Task, ctx: JobContext, previous: list[Record] | None = None) -> TaskResult:
    """Read and hash the source; keep the previous outputs when the source and every output still
    hash as recorded; otherwise decode once and write every output."""
    source = task.source
    source_file = Path(ctx.input_root) / source.path
    result = TaskResult(source.path, [])
    try:
        data, stat = read_stable(source_file, follow=source.link)
    except SourceChanged:
        result.records = [skipped(source.path, "changed while it was being read")]
        return result
    except OSError as exc:
        result.records = [skipped(source.path, f"cannot read: {exc.strerror or exc}")]
        return result
    result.sources[source.path] = stat
    source_sha = hashlib.sha256(data).hexdigest()
    out_root = Path(ctx.output_root)
    if previous is not None and _still_valid(previous, source_sha, out_root, result):
        result.records = previous
        result.kept = True
        return result
    try:
        decoded = decode(data, list(ctx.formats), ctx.max_pixels)
    except DecodeError as exc:
        result.records = [skipped(source.path, str(exc), source_sha)]
        return result
    base: Record = {
        "type": "file",
        "split": source.split,
        "label": source.label,
        "source": {"path": source.path, "sha256": source_sha},
    }
    records: list[Record] = []
    out_root = Path(ctx.output_root)
    if task.original is not None:
        how = _write_original(source_file, out_root / task.original, data, ctx.originals)
        records.append(
            {
                **base,
                "path": task.original,
                "sha256": source_sha,
                "bytes": len(data),
                "role": "original",
                "how": how,
                "variant": None,
                "seed": None,
                "steps": [],
            }
        )
    settings = encoder_settings(task.encoder, ctx.quality)
    exif = None if ctx.strip_metadata else decoded.exif
    for index, (path, seed) in enumerate(zip(task.variants, task.seeds, strict=True)):
        image, steps = render_variant(decoded.image, ctx.steps, seed)
        encoded = encode(image, settings, decoded.icc_profile, exif)
        write_atomic(out_root / path, encoded)
        records.append(
            {
                **base,
                "path": path,
                "sha256": hashlib.sha256(encoded).hexdigest(),
                "bytes": len(encoded),
                "role": "augmented",
                "variant": index,
                "seed": seed,
                "steps": steps,
                "encoder": settings,
                "image_size": [int(image.shape[0]), int(image.shape[1])],
                "decoded": {
                    "format": decoded.format,
                    "mode": decoded.mode,
                    "orientation": decoded.orientation,
                    "frames": decoded.frames,
                },
                "metadata": "stripped" if ctx.strip_metadata else "kept",
            }
        )
    result.records = records
    for record in records:
        stat = stat_of(out_root / record["path"])
        if stat is not None:
            result.outputs[record["path"]] = stat
    return result


class SourceChanged(Exception):
    """The source's size or mtime moved while it was read."""


def read_stable(path: Path, follow: bool = False) -> tuple[bytes, Stat]:
    """The bytes of a regular file, refusing one that changed while it was read. The file is
    opened without following a link (unless discovery allowed this one) and checked to be
    regular before reading: a FIFO swapped in after discovery would block."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        before = os.fstat(fd)
        if not stat_module.S_ISREG(before.st_mode):
            raise OSError(0, "not a regular file")
        data = handle.read()
        after = os.fstat(fd)
    if (before.st_mtime_ns, before.st_size) != (after.st_mtime_ns, after.st_size) or len(
        data
    ) != after.st_size:
        raise SourceChanged(str(path))
    return data, (after.st_ino, after.st_mtime_ns, after.st_size)


def _still_valid(
    previous: list[Record], source_sha: str, out_root: Path, result: TaskResult
) -> bool:
    """Whether the previous records of this source still describe the files on disk."""
    for record in previous:
        recorded = record["source"]["sha256"] if record["type"] == "file" else record["sha256"]
        if recorded != source_sha:
            return False
    for record in previous:
        if record["type"] != "file":
            continue
        target = out_root / record["path"]
        stat = stat_of(target)
        if stat is None or stat[2] != record["bytes"] or sha256_file(target) != record["sha256"]:
            return False
        result.outputs[record["path"]] = stat
    return True


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


_watching: bool = False


def _exit_with_parent(main_pid: int) -> None:
    """In a pool worker, start (once) a watchdog that ends this process when the main process
    is gone: a ``kill -9`` of the main process must not leave workers writing on."""
    global _watching
    if _watching or main_pid in (0, os.getpid()):
        return
    _watching = True
    if os.getppid() != main_pid:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == main_pid:
            time.sleep(0.25)
        os._exit(1)

    threading.Thread(target=watch, name="augtool-parent-watch", daemon=True).start()


def render_variant(
    image: np.ndarray, steps: tuple[Step, ...] | list[Step], seed: int
) -> tuple[np.ndarray, list[Record]]:
    """The pixels of one variant before encoding, and its step records. Preview calls this too,
    which is what makes a preview tile the very image expand writes."""
    return run(list(steps), image, np.random.Generator(np.random.PCG64(seed)))


def skipped(path: str, reason: str, sha256: str | None = None) -> Record:
    return {"type": "skipped", "path": path, "reason": reason, "sha256": sha256}


def _write_original(source: Path, target: Path, data: bytes, how: str) -> str:
    if how == "link":
        try:
            link_atomic(source, target)
            return "link"
        except OSError as exc:
            # Another file system, or links not allowed: a copy is the honest fallback.
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP):
                raise
    write_atomic(target, data)
    return "copy"
