"""What ``validate manifest`` found: each problem, and the one report every check feeds.

Checks add problems to one :class:`Findings` as they find them; the report then lists them by
kind, in the order of :data:`KINDS` (the order the checks run), each kind in the order found.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "Findings", "Problem", "Report"]

#: Problem kinds, in the order of the checks that find them (the report lists them so).
KINDS = (
    "manifest",
    "unsafe_path",
    "missing",
    "not_regular",
    "extra",
    "unreadable",
    "size",
    "sha256",
    "recipe",
    "sums",
    "leakage",
    "source",
    "content",
    "labels",
    "recompute",
)


@dataclass(frozen=True)
class Problem:
    """One failed check: ``kind`` (one of :data:`KINDS`), the path it is about, the message."""

    kind: str
    path: str
    message: str

    def line(self) -> str:
        return f"{_shown(self.path)}: {self.message}"

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "message": self.message}


class Findings:
    """The problems every check adds, in the order they are found."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, kind: str, path: str, message: str) -> None:
        self.problems.append(Problem(kind, path, message))

    def by_kind(self) -> list[Problem]:
        """The problems ordered by kind (:data:`KINDS`), each kind in the order found."""
        order = {kind: index for index, kind in enumerate(KINDS)}
        return sorted(self.problems, key=lambda p: order[p.kind])


@dataclass
class Report:
    """What the validation found. ``ok`` is true when no check failed."""

    manifest: str
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    skipped: int = 0
    sources_checked: int | None = None
    recomputed: int | None = None
    #: with ``content``: outputs compared with their source by pHash, and those not judged
    content_checked: int | None = None
    content_not_judged: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        found = Counter(problem.kind for problem in self.problems)
        return {kind: found[kind] for kind in KINDS if found[kind]}

    def problem_lines(self, limit: int | None = None) -> list[str]:
        """A line per problem; with ``limit``, the first ``limit`` and then ``… and N more``
        (``as_json()`` always has them all)."""
        shown = self.problems if limit is None else self.problems[:limit]
        lines = [problem.line() for problem in shown]
        if len(shown) < len(self.problems):
            lines.append(f"… and {len(self.problems) - len(shown)} more")
        return lines

    def summary_line(self) -> str:
        if not self.ok:
            by_kind = ", ".join(f"{kind} {count}" for kind, count in self.counts().items())
            total = len(self.problems)
            noun = "problem" if total == 1 else "problems"
            return f"{self.manifest}: FAILED, {total} {noun} ({by_kind}); {self.files} files listed"
        parts = [f"{self.files} files ({_size(self.bytes)}) verified"]
        if self.sources_checked is not None:
            parts.append(f"{self.sources_checked} sources verified")
        if self.recomputed is not None:
            parts.append(f"{self.recomputed} outputs re-derived")
        if self.content_checked is not None:
            parts.append(
                f"{self.content_checked} outputs compared by content "
                f"({self.content_not_judged} not judged: their steps move what pHash reads)"
            )
        return f"{self.manifest}: OK, {', '.join(parts)}"

    def as_json(self) -> dict[str, Any]:
        """The report as plain JSON (what ``validate manifest --json`` prints): ``ok``, the
        counts checked, the problems by kind and each problem's path and message."""
        return {
            "manifest": self.manifest,
            "ok": self.ok,
            "files": self.files,
            "bytes": self.bytes,
            "skipped": self.skipped,
            "sources_checked": self.sources_checked,
            "recomputed": self.recomputed,
            "content_checked": self.content_checked,
            "content_not_judged": self.content_not_judged,
            "counts": self.counts(),
            "problems": [problem.as_json() for problem in self.problems],
        }


def _shown(path: str) -> str:
    """A path as one printable line: names with control characters or undecodable bytes are
    shown as a JSON string, so a crafted name cannot forge extra report lines."""
    if path.isprintable():
        return path
    return json.dumps(path)


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    value = count / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
