"""The work of one source, run in a worker: read once, decode once, write every output.

A worker returns small records (paths, hashes, parameters), never pixels, so what crosses the
process boundary stays tiny whatever the image size.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augtool.atomic import link_atomic, write_atomic
from augtool.layouts import registry
from augtool.layouts.base import AnnotationError
from augtool.manifest.records import FileRecord, Skipped, SourceRef
from augtool.media import registry as media
from augtool.media.base import DecodeError, EncodeError
from augtool.provenance import KEY, provenance
from augtool.run import packed
from augtool.run.allocator import keep_freed_memory
from augtool.run.derive import (
    InputLimits,
    LabelRules,
    Opened,
    SourceLabels,
    derive,
    open_source,
)
from augtool.run.journal import TaskResult
from augtool.run.partner_reads import Partners, PartnerUnreadable
from augtool.run.plan import Task, writes_the_same
from augtool.run.reading import SourceChanged, read_partner, read_stable
from augtool.run.resources import Resources
from augtool.run.statcache import sha256_file, stat_of

Record = dict[str, Any]
Step = Any  # a configured step of the run's medium


@dataclass(frozen=True)
class JobContext:
    """What every task of a run shares; sent once per batch of tasks."""

    input_root: str
    output_root: str
    steps: tuple[Step, ...]
    formats: tuple[str, ...]
    quality: int
    originals: str  # copy | link | skip | normalize
    strip_metadata: bool
    max_pixels: int | None = None
    main_pid: int = 0  # the process that runs the job; a worker exits when it is gone
    kernels: str | None = None  # which library resamples (the recipe's; None: the medium's)
    medium: str = media.DEFAULT  # the recipe's medium (see augtool.media.registry)
    same_format: bool = False  # ``output.format: same``: a lossless WebP source stays lossless
    #: how labels move (the layout's name for the registry, its vocabulary, the recipe's
    #: rules); None for a layout without labels
    rules: LabelRules | None = None
    settings: str = ""  # the run's recipe_settings (augtool.run.derive), for decode_file
    bit_depth: int | str = 8  # ``output.bit_depth``: 8, or source
    #: ``output.provenance_tag``: the recipe's sha256 and the tool, which each variant's own
    #: metadata names with its source's sha256; None: no tag
    provenance: tuple[str, str] | None = None
    #: the files the steps read besides the sources (a noise folder), hashed; None: none
    resources: Resources | None = None

    @property
    def limits(self) -> InputLimits:
        return InputLimits(
            self.formats, self.max_pixels, self.medium, self.settings, self.bit_depth
        )


def process_tasks(
    tasks: list[tuple[Task, list[Record] | None]], ctx: JobContext
) -> list[TaskResult]:
    """Process a batch of (task, previous records) pairs; one result per task, in order."""
    _exit_with_parent(ctx.main_pid)
    keep_freed_memory()
    return [process_task(task, ctx, previous) for task, previous in tasks]


def process_task(task: Task, ctx: JobContext, previous: list[Record] | None = None) -> TaskResult:
    """Read and hash the source; keep the previous outputs when the source and every output still
    hash as recorded; otherwise decode once and write every output."""
    result = TaskResult(task.source.path, [])
    if previous is not None and not writes_the_same(previous, task):
        previous = None  # (a label file, a class or a split it did not have then)
    try:
        _process(task, ctx, previous, result)
    except _Skip as skip:
        result.records = [skipped(task.source.path, skip.reason, skip.sha256)]
    return result


class _Skip(Exception):
    """The source is skipped, with the reason (and its sha256 once it is known)."""

    def __init__(self, reason: str, sha256: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sha256 = sha256


def _process(
    task: Task, ctx: JobContext, previous: list[Record] | None, result: TaskResult
) -> None:
    source = task.source
    source_file = Path(ctx.input_root) / source.path
    if packed.streams(ctx.medium) and _streamed(task, ctx, previous, result):
        return
    data, source_sha, label = _read_inputs(task, ctx, result)
    out_root = Path(ctx.output_root)
    shas = {source.path: source_sha}
    if label is not None and source.annotation is not None:
        shas[source.annotation] = label[1]
    read: SourceLabels | None = None
    if task.payload is not None:
        read = SourceLabels(f"{source.annotation}: {source.path}", payload=task.payload)
    elif label is not None:
        read = SourceLabels(str(source.annotation), data=label[0])
    payload_sha = None if read is None else read.payload_sha256
    try:
        partners = Partners(task, ctx, read_partner, (data, source_sha))
    except PartnerUnreadable as exc:
        raise _Skip(str(exc), source_sha) from None
    shas.update(partners.shas)
    planned = partners.planned()
    if previous is not None and still_valid(previous, shas, out_root, result, payload_sha, planned):
        result.records = previous
        result.kept = True
        return
    try:
        opened = open_source(
            data, ctx.limits, ctx.kernels, read, ctx.rules, source.path, ctx.resources
        )
        if not ctx.strip_metadata:
            opened.exif  # noqa: B018  (made once, here, so a source it fails for is skipped)
    except (DecodeError, AnnotationError, EncodeError) as exc:
        raise _Skip(str(exc), source_sha) from None
    origin = SourceRef(path=source.path, sha256=source_sha)
    records: list[FileRecord] = []  # one per file written so far, each written before the next
    labels = iter(task.labels)
    try:
        if task.original is not None:
            fields = (
                {} if ctx.rules is None else _layout(ctx).original_fields(read, opened.decoded.size)
            )
            fields.update(_examples(opened, None))
            if ctx.originals == "normalize":
                records.append(_normalized_original(task, ctx, opened, origin, fields))
            else:
                how = _write_original(source_file, out_root / task.original, data, ctx.originals)
                records.append(_original_record(task, origin, len(data), how, fields))
                _note_loader_trouble(opened, task.original, result)
            if label is not None:
                records.append(
                    _label_record(source, label, next(labels), task.original, label[0], None, None)
                )
                write_atomic(out_root / records[-1].path, label[0])
        _write_variants(task, ctx, opened, origin, label, labels, records, partners)
    except (EncodeError, DecodeError) as exc:
        # (A DecodeError here is a partner's: the message names it.)
        # The source is skipped: none of the files written for it may be left unlisted.
        for written in records:
            (out_root / written.path).unlink(missing_ok=True)
        raise _Skip(str(exc), source_sha) from None
    result.records = [record.to_json() for record in records]
    for record in records:
        stat = stat_of(out_root / record.path)
        if stat is not None:
            result.outputs[record.path] = stat


def _streamed(
    task: Task, ctx: JobContext, previous: list[Record] | None, result: TaskResult
) -> bool:
    """A source of one variant file that its medium streams (:mod:`augtool.run.packed`),
    hashed, copied and derived from its file; False when the medium reads this one whole."""
    source, out_root = task.source, Path(ctx.output_root)
    if source.annotation is not None or task.payload is not None or len(task.variants) != 1:
        return False
    source_file = Path(ctx.input_root) / source.path
    try:
        sha, size, stat = packed.hash_stable(source_file, source.link)
    except ValueError:
        raise _Skip("changed while it was being read") from None
    except OSError as exc:
        raise _Skip(f"cannot read: {exc.strerror or exc}") from None
    result.sources[source.path] = stat
    if previous is not None and still_valid(previous, {source.path: sha}, out_root, result):
        result.records, result.kept = previous, True
        return True
    medium = media.get(ctx.medium)
    try:
        opened = medium.open_packed(source_file, ctx.limits, source.path)
    except DecodeError as exc:
        raise _Skip(str(exc), sha) from None
    if opened is None:
        return False
    how = None
    if task.original is not None:
        how = packed.copy_original(source_file, out_root / task.original, ctx.originals)
    origin = SourceRef(path=source.path, sha256=sha)
    try:
        records = packed.packed_records(task, ctx, opened, origin, size, how)
        if not packed.unchanged(source_file, stat):
            raise DecodeError("changed while it was being read")
    except (DecodeError, EncodeError) as exc:
        for path in (task.original, *task.variants, medium.rows_path(task.variants[0])):
            if path is not None:
                (out_root / path).unlink(missing_ok=True)
        raise _Skip(str(exc), sha) from None
    result.records = [record.to_json() for record in records]
    for record in records:
        found = stat_of(out_root / record.path)
        if found is not None:
            result.outputs[record.path] = found
    return True


def _read_inputs(
    task: Task, ctx: JobContext, result: TaskResult
) -> tuple[bytes, str, tuple[bytes, str] | None]:
    """The source's bytes and sha256, and its label file's bytes and sha256 when it has one
    (a source's labels are its task's payload, or else the label file discovery found)."""
    source = task.source
    try:
        data, stat = read_stable(Path(ctx.input_root) / source.path, follow=source.link)
    except SourceChanged:
        raise _Skip("changed while it was being read") from None
    except OSError as exc:
        raise _Skip(f"cannot read: {exc.strerror or exc}") from None
    result.sources[source.path] = stat
    source_sha = hashlib.sha256(data).hexdigest()
    if source.annotation is None or task.payload is not None:
        return data, source_sha, None
    try:
        label_data, label_stat = read_stable(Path(ctx.input_root) / source.annotation)
    except SourceChanged:
        reason = f"its labels {source.annotation} changed while they were being read"
        raise _Skip(reason, source_sha) from None
    except OSError as exc:
        # The error's own text names the absolute path, which the manifest never holds.
        reason = f"cannot read its labels {source.annotation}: {exc.strerror or 'not a file'}"
        raise _Skip(reason, source_sha) from None
    result.sources[source.annotation] = label_stat
    return data, source_sha, (label_data, hashlib.sha256(label_data).hexdigest())


def _write_variants(
    task: Task,
    ctx: JobContext,
    opened: Opened,
    origin: SourceRef,
    label: tuple[bytes, str] | None,
    labels: Iterator[str],
    records: list[FileRecord],
    partners: Partners,
) -> None:
    """Derive, write and record every variant (and its moved label file); raise
    :class:`EncodeError` when one cannot be written in the output format, ``DecodeError``
    when a partner cannot be decoded."""
    source, out_root = task.source, Path(ctx.output_root)
    decoded, medium = opened.decoded, opened.medium
    settings = medium.encoder_settings(task.encoder, ctx.quality, decoded, ctx.same_format)
    if ctx.provenance is not None:
        settings = {**settings, KEY: provenance(origin.sha256, *ctx.provenance)}
    for index, (path, seed) in enumerate(zip(task.variants, task.seeds, strict=True)):
        taken = partners.of(index)
        variant = derive(
            opened, ctx.steps, seed, None, settings, not ctx.strip_metadata, taken.opened
        )
        encoded = variant.data
        assert encoded is not None
        write_atomic(out_root / path, encoded)
        moved = variant.moved
        if moved is not None and moved.label is not None and label is not None:
            written = _layout(ctx).label_for(moved.label, path)
            record = _label_record(source, label, next(labels), path, written, index, seed)
            records.append(dataclasses.replace(record, **moved.said))
            write_atomic(out_root / record.path, written)
        records.append(
            FileRecord(
                path=path,
                sha256=hashlib.sha256(encoded).hexdigest(),
                bytes=len(encoded),
                role="augmented",
                split=source.split,
                label=source.label,
                source=origin,
                variant=index,
                seed=seed,
                steps=variant.steps,
                encoder=settings,
                image_size=variant.size,
                decoded=medium.decoded_facts(decoded),
                metadata="stripped" if ctx.strip_metadata else "kept",
                **({} if moved is None else moved.image_fields),
                **_examples(opened, variant.image),
                **taken.fields(source, variant.steps, medium),
            )
        )


def _examples(opened: Opened, content: Any) -> Record:
    """The ``examples`` field of a source's (``content`` None) or a variant's line, when its
    medium keys the examples a file holds."""
    keys = getattr(opened.medium, "example_keys", None)
    found = None if keys is None else keys(opened.decoded, content)
    return {} if found is None else {"examples": found}


def _layout(ctx: JobContext) -> Any:
    assert ctx.rules is not None
    return registry.get(ctx.rules.layout)


def _original_record(
    task: Task, origin: SourceRef, size: int, how: str, fields: Record
) -> FileRecord:
    """The manifest record of a source written as it is, with what its layout adds (``fields``:
    a payload's labels and the image's size)."""
    return FileRecord(
        path=str(task.original),
        sha256=origin.sha256,
        bytes=size,
        role="original",
        split=task.source.split,
        label=task.source.label,
        source=origin,
        how=how,
        variant=None,
        seed=None,
        steps=[],
        **{"image_size": None, **fields},
    )


def _normalized_original(
    task: Task, ctx: JobContext, opened: Opened, origin: SourceRef, fields: Record
) -> FileRecord:
    """Write the original re-encoded through the variants' decode (orientation applied, mode
    made L, RGB or RGBA, or kept at 16 bits with ``bit_depth: source``) in its own format, and
    return its record; raise :class:`EncodeError` when it cannot be written."""
    assert task.original is not None
    encoder = getattr(opened.medium, "original_encoder", None)
    if encoder is None:
        raise EncodeError(f"the {opened.medium.name} medium cannot normalize originals")
    settings = encoder(opened.decoded, ctx.quality)
    variant = derive(opened, (), None, None, settings, not ctx.strip_metadata)
    assert variant.data is not None
    write_atomic(Path(ctx.output_root) / task.original, variant.data)
    return FileRecord(
        path=task.original,
        sha256=hashlib.sha256(variant.data).hexdigest(),
        bytes=len(variant.data),
        role="original",
        split=task.source.split,
        label=task.source.label,
        source=origin,
        how="normalize",
        variant=None,
        seed=None,
        steps=[],
        encoder=settings,
        decoded=opened.medium.decoded_facts(opened.decoded),
        metadata="stripped" if ctx.strip_metadata else "kept",
        **{"image_size": variant.size, **fields},
    )


def _note_loader_trouble(opened: Opened, path: str, result: TaskResult) -> None:
    """Note an original copied as it is that common loaders mishandle (the run warns once)."""
    trouble = getattr(opened.medium, "loader_trouble", None)
    found = None if trouble is None else trouble(opened.decoded)
    if found is not None:
        result.troubles[path] = found


def _label_record(
    source: Any,
    label: tuple[bytes, str],
    path: str,
    image: str,
    written: bytes,
    variant: int | None,
    seed: int | None,
) -> FileRecord:
    """The manifest record of a label file: its own hashes, and the image it labels."""
    return FileRecord(
        kind="label",
        path=path,
        sha256=hashlib.sha256(written).hexdigest(),
        bytes=len(written),
        role="original" if variant is None else "augmented",
        split=source.split,
        label=source.label,
        image=image,
        source=SourceRef(path=source.annotation, sha256=label[1]),
        variant=variant,
        seed=seed,
        steps=[],
    )


def still_valid(
    previous: list[Record],
    shas: dict[str, str],
    out_root: Path,
    result: TaskResult,
    payload_sha: str | None = None,
    partners: dict[str, list[dict[str, str]]] | None = None,
) -> bool:
    """Whether the previous records of this source (and its labels) still describe the files on
    disk: every file they came from hashes as recorded (the task's payload too), each output
    took the partners the plan gives it now, as they hash now, and every output is there,
    intact."""
    for record in previous:
        if not registry.payload_current(record, payload_sha):
            return False
        if partners and record.get("partners") != partners.get(
            record["path"], record.get("partners")
        ):
            return False
        if record["type"] == "file":
            origin, recorded = record["source"]["path"], record["source"]["sha256"]
        else:
            origin, recorded = record["path"], record["sha256"]
        if shas.get(origin) != recorded:
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


def library_versions(kernels_name: str, medium: str = media.DEFAULT) -> dict[str, str]:
    """The versions the bytes depend on, as the manifest's header states them: the medium's,
    from the registry."""
    return media.library_versions(kernels_name, medium)


def skipped(path: str, reason: str, sha256: str | None = None) -> Record:
    return Skipped(path=path, reason=reason, sha256=sha256).to_json()


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
