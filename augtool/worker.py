"""The work of one source, run in a worker: read once, decode once, write every output.

A worker returns small records (paths, hashes, parameters), never pixels, so what crosses the
process boundary stays tiny whatever the image size.
"""

from __future__ import annotations

import errno
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from augtool.atomic import link_atomic, write_atomic
from augtool.codecs import DecodeError, decode, encode, encoder_settings
from augtool.plan import Task
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


def process_tasks(tasks: list[Task], ctx: JobContext) -> list[list[Record]]:
    """Process a batch of tasks; one list of records per task, in order."""
    return [process_task(task, ctx) for task in tasks]


def process_task(task: Task, ctx: JobContext) -> list[Record]:
    source = task.source
    source_file = Path(ctx.input_root) / source.path
    try:
        data = source_file.read_bytes()
    except OSError as exc:
        return [skipped(source.path, f"cannot read: {exc.strerror or exc}")]
    source_sha = hashlib.sha256(data).hexdigest()
    try:
        decoded = decode(data, list(ctx.formats))
    except DecodeError as exc:
        return [skipped(source.path, str(exc), source_sha)]
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
                "size": [int(image.shape[0]), int(image.shape[1])],
                "decoded": {
                    "format": decoded.format,
                    "mode": decoded.mode,
                    "orientation": decoded.orientation,
                    "frames": decoded.frames,
                },
                "metadata": "stripped" if ctx.strip_metadata else "kept",
            }
        )
    return records


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
