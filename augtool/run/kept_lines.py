"""The few fields a rerun reads of a kept image line, taken from its text without JSON.

A no-op rerun keeps every line of the manifest as it was written, and of each it reads only
what its checks and its sink use: the output's path and digest, its role, split and label,
and its source's path and digest. Parsing every line whole was the largest part of such a rerun's
time. A line read back is JSON (its manifest's digest is the one the stat cache's index was
written with, or every line was parsed when it was read), so no string in it holds a bare
``"``. For the common image line as :func:`~augtool.manifest.dump_line` writes it (keys
sorted, no spaces; no labels moved, no licence, no class counts), one pattern anchored at both
ends then finds those fields where they must be, and a key of a nested object can never be
taken for a top-level one. Any other line (another shape or key order, an escaped character in
a path, a step or decode the summary counts) is not matched, and its task's lines are parsed
as JSON as before.

The fields read this way are a part of the record only: they are used where the line's text is
what goes to the new manifest (:meth:`augtool.run.sink.Results.take` with nothing to add to a
line), never dumped as a record.
"""

from __future__ import annotations

import re

from augtool.manifest import RecordDict

# Top-level keys in the order canonical JSON sorts them, of a variant (decoded and encoded) or
# of an original copied as it is ("how"); "decoded" and "encoder" are flat objects, "steps"
# runs to the fixed end of the line. A string holds no bare quote, so a
# [^"\\]* field is the whole string and has no escape to undo.
_IMAGE_LINE = re.compile(
    r'\{"bytes":\d+,(?:"decoded":\{[^{}]*\},"encoder":\{[^{}]*\},"image_size":\[\d+,\d+\]'
    r'|"how":"[a-z_]+"),"label":(null|"[^"\\]*"),(?:"metadata":"[a-z_]+",)?'
    r'"path":"([^"\\]*)","role":"([a-z_]+)","seed":(?:\d+|null),"sha256":"([0-9a-f]{64})",'
    r'"source":\{"path":"([^"\\]*)","sha256":"([0-9a-f]{64})"\},"split":(null|"[^"\\]*"),'
    r'"steps":\[.*\],"type":"file","variant":(?:\d+|null)\}\n'
)
#: What :class:`~augtool.run.summary.Summary` counts of a line beyond its role: a range
#: inferred at decode, a ``copy_paste`` or ``clip`` step. A line that holds any of these
#: anywhere is parsed whole.
_RANGE, _PASTE, _CLIP = '"range":', '"name":"copy_paste"', '"name":"clip"'


def image_line_fields(lines: list[str]) -> list[RecordDict] | None:
    """For each line (with its newline), its type, label, path, sha256, role, split and
    source, or None when any line is not a plain image line as augtool writes it."""
    records: list[RecordDict] = []
    match = _IMAGE_LINE.fullmatch
    for line in lines:
        found = match(line)
        if found is None:
            return None
        if _RANGE in line or _PASTE in line or _CLIP in line:
            return None
        label, path, role, sha256, source, source_sha256, split = found.groups()
        records.append(
            {
                "label": None if label == "null" else label[1:-1],
                "path": path,
                "role": role,
                "sha256": sha256,
                "source": {"path": source, "sha256": source_sha256},
                "split": None if split == "null" else split[1:-1],
                "type": "file",
            }
        )
    return records
