"""``augtool validate manifest``: is this output exactly what its manifest says, and was it derived
the way the manifest says?

Like BagIt's validate and ``sha256sum -c``, and closing the holes they leave. The checks run
cheapest first:

1. the manifest parses, its schema is known, and the footer's digest covers every line before it;
2. every recorded path is safe (relative, no ``..``, no absolute, home or drive path), checked on
   the text before anything is looked up on disk;
3. completeness: every listed file exists and is a regular file, and nothing else is in the output
   (apart from the manifest and the files the contract names);
4. fixity: size, then sha256 (in chunks; across processes when the bytes pay for a pool);
5. the header's recipe hash matches the embedded recipe;
6. leakage: no augmented file from a split the recipe does not augment, no source (by path or by
   content) in two splits;
7. with ``source``: every recorded source still hashes as recorded;
8. with ``recompute``: K augmented images, chosen with a seeded generator, re-derived byte for
   byte, with their labels (label files, or the labels an image's line records:
   ``augtool.validate.relabel``); and the dataset files the layout derives from the image lines
   (annotation JSONs) made again from those lines.

The output folder is walked once without following symbolic links, so a link can neither lead the
check outside the output nor loop it forever; a listed file is hashed only when that walk reached
it as a regular file. The manifest is streamed: what is held is one size per file of the output
(for completeness), one entry per source (for leakage) and the list of files to hash.

A medium (its codecs, libraries and transforms) is loaded only for ``recompute``: the validator
starts fast.

Each family of checks is one module of :mod:`augtool.validate.checks`, feeding one
:class:`~augtool.validate.report.Findings`; :mod:`augtool.validate.run` streams the manifest once
and feeds them; :mod:`augtool.validate.report` is what they find.
"""

from __future__ import annotations

from augtool.errors import UsageError
from augtool.validate.checks.paths import unsafe_reason
from augtool.validate.checks.recompute import Recompute, parse_recompute
from augtool.validate.report import KINDS, Problem, Report
from augtool.validate.run import validate

__all__ = [
    "KINDS",
    "Problem",
    "Recompute",
    "Report",
    "UsageError",
    "parse_recompute",
    "unsafe_reason",
    "validate",
]
