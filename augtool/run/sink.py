"""Where each finished task's result goes, once, as it arrives.

A result is counted in the summary, noted in the new stat cache, and its lines go to the
manifest's sorter (each with its owner, the task's source, for the stat cache's index of the
manifest) and to what ``croissant.json``, the layout's derived files (annotation JSONs,
split lists) and the Hugging Face metadata files take from the image lines. Nothing is read
back from the journal to write the manifest: with a rerun that keeps most of its outputs,
that second reading (and parsing every kept line again) was most of the time.
"""

from __future__ import annotations

import json
from typing import Any

from augtool.layouts.base import Layout
from augtool.manifest import Block, LineSorter, RecordDict, as_line
from augtool.manifest.croissant import ContentFiles
from augtool.run.class_counts import ClassCounter
from augtool.run.hf_metadata import MetadataRows
from augtool.run.journal import TaskResult
from augtool.run.kept_blocks import KeptBlock
from augtool.run.licences import Licences, with_licence
from augtool.run.statcache import StatCacheWriter
from augtool.run.summary import Summary


class Results:
    """The sink of a run's results (see the module's docstring)."""

    def __init__(
        self,
        summary: Summary,
        cache: StatCacheWriter,
        sorter: LineSorter,
        licences: Licences,
        hashes: dict[str, str],
        derives: Layout | None,
        metadata: MetadataRows | None = None,
        counter: ClassCounter | None = None,
    ) -> None:
        self.summary = summary
        self.cache = cache
        self.sorter = sorter
        self._licences = licences
        self._hashes = hashes
        self._derives = derives
        #: the Hugging Face metadata files' rows, when the run writes them
        self.metadata = metadata
        #: adds its class counts to a label line, when the recipe records them
        self._counter = counter
        self.contents = ContentFiles()
        #: each split's derived lines (keyed as validate keys them: an unsplit dataset's under
        #: "None") with the path of the image line they come from
        self._derived: dict[str, list[tuple[str, RecordDict]]] = {}

    def take(self, result: TaskResult | KeptBlock) -> None:
        if isinstance(result, KeptBlock):
            self._take_block(result)
            return
        self.summary.add(result)
        self.cache.note(result)
        texts = result.record_lines()
        licensing = bool(self._licences.by_source)
        for record, text in zip(result.records, texts, strict=True):
            # Without licences, only a record that names one can need a change.
            named = licensing or "licence" in record or "author" in record
            licensed = with_licence(record, self._licences) if named else None
            current = record if licensed is None else licensed
            hashed = _with_hash(current, self._hashes) if self._hashes else current
            if self._counter is not None:
                hashed = self._counter(hashed)
            key, line, sums = as_line(hashed, text if hashed is record else None)
            self.sorter.add((key, line, sums, result.source))
            self.contents.take(hashed)
            if self.metadata is not None:
                self.metadata.take(record)
            if self._derives is not None and record["type"] == "file":
                # As written: keys sorted (a layout's files follow the manifest's key order).
                line = self._derives.derived_line(json.loads(text))
                if line is not None:
                    split = str(record.get("split"))
                    self._derived.setdefault(split, []).append((record["path"], line))

    def _take_block(self, block: KeptBlock) -> None:
        """A kept source's lines as the last run wrote them: only a run that adds nothing to
        a line and derives nothing from it is given these (see
        :func:`~augtool.run.closing.kept_as_blocks`)."""
        self.summary.add_kept(len(block.names), block.roles)
        self.cache.copy(block.cache)
        self.sorter.add_block(Block(block.names, block.body, block.sums, block.source))
        self.contents.take_paths(block.names, block.split)

    def derived_lines(self) -> dict[str, list[RecordDict]]:
        """Each split's derived lines, in the path order of the image lines they come from."""
        return {
            split: [line for _, line in sorted(lines, key=lambda pair: pair[0])]
            for split, lines in self._derived.items()
        }


def _with_hash(record: dict[str, Any], hashes: dict[str, str]) -> dict[str, Any]:
    """An image line with its source's pHash (any other record as it is)."""
    if record.get("type") != "file" or record.get("kind") is not None:
        return record
    value = hashes.get(record["source"]["path"])
    return record if value is None else {**record, "source_phash": value}
