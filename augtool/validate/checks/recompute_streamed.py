"""``--recompute`` of a source its medium streams (a table of many rows, docs/text.md): hashed,
read and re-derived from its file in passes, never read whole, so that re-deriving a table
takes no more memory than expand took to write it.

The variant file is made again and hashed as it is made, never kept; its row table (``rows``
in its line) is read a line at a time. Which sources stream is the medium's answer
(``open_packed`` and ``replay_packed``), so nothing here names a medium.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from augtool.run.executors.hashing import OPEN_FLAGS

Outcome = tuple[str, str, str | None]  # (path, "ok" | "differs" | "error", what)


def recompute_streamed(
    source_file: str, limits: Any, name: str, records: list[dict[str, Any]]
) -> list[Outcome] | None:
    """The outcomes of re-deriving ``records`` (variant files, each with a row table) from
    ``source_file`` as a stream; None when its medium reads this source whole."""
    from augtool.media import registry
    from augtool.media.base import DecodeError
    from augtool.run.packed import hash_stable, unchanged

    medium = registry.get(limits.medium)
    if not hasattr(medium, "replay_packed"):
        return None
    if not all(isinstance(record.get("rows"), str) for record in records):
        return None
    path = Path(source_file)

    def failed(message: str) -> list[Outcome]:
        return [(record["path"], "error", message) for record in records]

    try:
        sha, _, stat = hash_stable(path, follow=False)
    except ValueError:
        return failed("the source changed while it was being read")
    except OSError as exc:
        return failed(f"cannot read the source ({exc.strerror or exc})")
    if sha != records[0]["source_sha256"]:
        return failed("the source's sha256 is not the recorded one")
    results: list[Outcome] = []
    for record in records:
        try:
            # Opened again for each record: replaying one fills the duplicate rail's hashes.
            packed = medium.open_packed(path, limits, name)
        except DecodeError as exc:
            return failed(f"cannot decode the source: {exc}")
        if packed is None:
            return None
        try:
            found, _ = medium.replay_packed(packed, row_table(record["rows"]))
        except Exception as exc:  # a hand-edited record may hold anything: report, don't crash
            results.append((record["path"], "error", f"{type(exc).__name__}: {exc}"))
            continue
        results.append(compare_sha(record["path"], record["sha256"], found))
    if not unchanged(path, stat):
        return failed("the source changed while it was being read")
    return results


def compare_sha(path: str, expected: str, found: str) -> Outcome:
    """The outcome of an output whose bytes, made again, hash as ``found``."""
    if found == expected:
        return path, "ok", None
    return (
        path,
        "differs",
        f"sha256 expected={expected} found={found}; re-deriving from the source and the "
        "recorded steps gives other bytes",
    )


def row_table(path: str) -> Iterator[dict[str, Any]]:
    """The entries of a row table (a JSON object a line), read as they are replayed."""
    fd = os.open(path, OPEN_FLAGS)
    with os.fdopen(fd, "r", encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


__all__ = ["Outcome", "compare_sha", "recompute_streamed", "row_table"]
