"""A kept source's lines copied as byte spans of the last run's files, none of them read.

A no-op rerun keeps every source, and reading each kept line (to check its fields and hand
them to the summary, the stat cache, the manifest's sorter and croissant.json) was most of its
time. For a plain task (:mod:`augtool.run.owned`), the stat cache already holds what the check
needs: a fingerprint of the records' paths, class, split and source digest and of the stats
its files had, and their count by role. A source whose task and files' stats give that
fingerprint now (its files as the stat cache last saw them) is kept by copying three spans: its
lines in the manifest and in SHA256SUMS (where the stat cache's index says they are, both
files' digests checked) and its own lines in the stat cache, whose entries are not read. A
task this cannot vouch for has its entries read and is checked line by line
(:func:`~augtool.run.incremental.kept_by_stat`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from augtool.run.owned import fingerprint
from augtool.run.spans import BlockFiles
from augtool.run.statcache import stat_of, unpacked

if TYPE_CHECKING:
    from augtool.run.incremental import Earlier
    from augtool.run.plan import Task


class KeptBlock(NamedTuple):
    """A kept source's lines as the last run wrote them (see the module's docstring)."""

    source: str
    names: tuple[str, ...]  # its files, sorted: the paths of its manifest lines, in order
    split: str | None
    roles: str  # its files by role (:func:`augtool.run.owned.roles_text`)
    body: bytes  # its manifest lines
    sums: bytes  # its SHA256SUMS lines
    cache: bytes  # its stat cache lines

    @property
    def kept(self) -> bool:
        return True


def kept_block(task: Task, earlier: Earlier, blocks: BlockFiles, in_root: str) -> KeptBlock | None:
    """The source's lines to copy, when its file and every output are as the stat cache has
    them and the task names the files its records name, with the same class and split (the
    checks of :func:`~augtool.run.incremental.kept_by_stat`); else None. The files' stats are
    compared through the fingerprint: the stat cache's entries of the source are not read."""
    source, manifest, sums_file = task.source, blocks.manifest, blocks.sums
    if manifest is None or sums_file is None:
        return None
    if task.partners or task.payload is not None or source.annotation is not None:
        return None
    path = source.path
    span, sums_span = earlier.span, blocks.sums_spans.get(path)
    if span is None or sums_span is None or earlier.file is not manifest:
        return None
    owned = blocks.owned_of(path)
    if owned is None:
        return None
    seen = stat_of(f"{in_root}/{path}", follow=source.link)
    if seen is None:
        return None
    names = tuple(sorted(task.names))
    found = blocks.found
    stats = [seen]
    for name in names:
        output = found.get(name)
        if output is None:
            return None
        stats.append(output)
    wanted = fingerprint(names, source.label, source.split, owned.sha256, tuple(stats))
    if owned.fingerprint != wanted:
        return None
    body, sums = manifest.bytes_at(*span), sums_file.bytes_at(*unpacked(sums_span))
    if body.count(b"\n") != len(names) or sums.count(b"\n") != len(names):
        return None
    return KeptBlock(path, names, source.split, owned.roles, body, sums, owned.lines)
