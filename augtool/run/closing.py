"""The writes after a run's tasks: the files of the dataset made from the output lines (the
layout's derived files, the licence notice, the Hugging Face metadata files), then the
manifest with SHA256SUMS, ``croissant.json`` and the stat cache's index of the manifest.

All of it comes from what the sink took as results arrived (:mod:`augtool.run.sink`), never
from the journal read back: a rerun that keeps most of its outputs never journals them. The
stat cache is committed after the manifest, and not at all if the run fails before it.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

from augtool.layouts import registry
from augtool.manifest import SUMS_NAME, LineSorter, write_manifest
from augtool.manifest.croissant import write_croissant
from augtool.run.class_counts import ClassCounter
from augtool.run.executors.interrupts import raise_if_interrupted
from augtool.run.header import make_header
from augtool.run.hf_metadata import MetadataRows, write_metadata_files
from augtool.run.incremental import Previous, write_dataset_file
from augtool.run.job import Job
from augtool.run.journal import Journal, TaskResult
from augtool.run.licences import notice_names, write_notice
from augtool.run.sink import Results
from augtool.run.statcache import sha256_file, stat_cache_writer
from augtool.run.summary import Summary


def kept_lines_as_written(job: Job) -> bool:
    """Whether the sink (:func:`open_sink`) writes a kept line's text as it is and reads of
    it only what :mod:`augtool.run.kept_lines` gives: no licence, pHash or class count is
    added to the line and no Hugging Face metadata row is made of it."""
    output = job.recipe.output
    return not (
        job.licences.by_source or job.source_hashes or job.hf_names or output.get("class_counts")
    )


def kept_as_blocks(job: Job) -> bool:
    """Whether the sink can take a kept source's lines as the last run wrote them, unread
    (:mod:`augtool.run.kept_blocks`): nothing is added to a line (:func:`kept_lines_as_written`)
    and the layout derives no file from the image lines."""
    layout = registry.get(job.dataset.layout)
    return kept_lines_as_written(job) and not layout.derived_names(job.dataset.state)


@contextlib.contextmanager
def open_sink(job: Job, summary: Summary) -> Iterator[Results]:
    """The sink of a run's results, with the new stat cache and the manifest's sorter it
    feeds; the stat cache is committed when the block ends without an error."""
    layout = registry.get(job.dataset.layout)
    derives = layout if layout.derived_names(job.dataset.state) else None
    metadata = None
    if job.hf_names:
        metadata = MetadataRows(job.hf_names, set(job.dataset.splits), job.recipe.sha256)
    counter = None
    if job.recipe.output.get("class_counts"):
        counter = ClassCounter(job.output_root, layout)
    with (
        stat_cache_writer(job.output_root, job.input_abs) as cache,
        LineSorter(job.output_root) as sorter,
    ):
        hashes = job.source_hashes
        yield Results(summary, cache, sorter, job.licences, hashes, derives, metadata, counter)


def write_closing(
    job: Job, sink: Results, journal: Journal, previous: Previous, libraries: dict[str, str]
) -> None:
    """After the tasks: the dataset's files made from the output lines, each journaled and
    taken by the sink; then, unless the run was interrupted, the manifest."""
    for result in _dataset_results(job, sink, previous):
        journal.add(result)
        sink.take(result)
    raise_if_interrupted()  # not a manifest for a run that was interrupted
    _write_manifest(job, sink, libraries)


def _dataset_results(job: Job, sink: Results, previous: Previous) -> Iterator[TaskResult]:
    """The layout's derived files, the licence notice and the Hugging Face metadata files,
    each written (or kept, when its bytes are already there) as it is asked for."""
    dataset, output_root = job.dataset, job.output_root
    layout = registry.get(dataset.layout)
    names = layout.derived_names(dataset.state)
    if names:
        # Each split's image lines, in path order; each file is recorded with the hash of
        # the input file of the same name.
        images = sink.derived_lines()
        for name in names:
            data = layout.derived_file(dataset.state, name, images)
            assert data is not None
            source = hashlib.sha256((job.input_root / name).read_bytes()).hexdigest()
            yield write_dataset_file(output_root, name, data, source, previous, "annotations")
    if notice_names(job.licences):
        yield write_notice(output_root, job.licences, previous)
    if sink.metadata is not None:
        yield from write_metadata_files(output_root, sink.metadata.files(), previous)


def _write_manifest(job: Job, sink: Results, libraries: dict[str, str]) -> None:
    """The manifest, from the lines the sorter took as results came, croissant.json, and the
    stat cache's index of the manifest."""
    counts = sink.summary.counts
    counts["sources"] = len(job.tasks)
    balance = None if job.balanced is None else job.balanced.as_json()
    licences = job.licences.counts() or None
    resources = None if job.resources is None else job.resources.header(job.input_root)
    header = make_header(
        job.recipe, job.dataset, counts, libraries, balance, licences, job.shard_json, resources
    )
    counts = dict(sorted(counts.items()))
    digest = write_manifest(job.output_root, header, sink.sorter, counts, sink.cache.place)
    sink.cache.seal(digest, sha256_file(job.output_root / SUMS_NAME))
    write_croissant(job.output_root, sink.contents)  # after the manifest and SHA256SUMS
