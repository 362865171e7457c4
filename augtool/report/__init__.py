"""``augtool report``: what an expansion did to the data, or how two datasets differ.

The package, in the order a report runs: :mod:`~augtool.report.collect` finds the files (a
folder through the layouts, a manifest through its reader) and reads them
(:mod:`~augtool.report.read`, statistics from :mod:`~augtool.report.stats`, cached by sha256 in
:mod:`~augtool.report.cache`); :mod:`~augtool.report.drift` tests each statistic between the
sides, :mod:`~augtool.report.quality` finds data-quality issues and over-augmented variants;
:mod:`~augtool.report.terminal` and :mod:`~augtool.report.html` show the result.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from augtool.report.drift import RULES, DriftResult
from augtool.report.thresholds import Thresholds

if TYPE_CHECKING:
    from augtool.report.collect import Collected, Progress
    from augtool.report.model import Side

__all__ = ["FAIL_ON", "DatasetReport", "build_report"]

#: What ``--fail-on`` accepts.
FAIL_ON = ("drift", "over-augmentation", "duplicates")


@dataclass
class DatasetReport:
    """A report's findings; ``as_json()`` is what ``--json`` prints."""

    mode: str  # expansion, drift or dataset
    sides: list[Side]
    thresholds: Thresholds
    drift: list[DriftResult] = field(default_factory=list)
    drifted: bool = False
    drift_share: float = 0.0
    over: dict[str, Any] | None = None
    issues: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    files: int = 0
    decoded: int = 0
    seconds: float = 0.0
    cache: str | None = None
    #: each variant's source's file on the sources' side (the HTML page's thumbnails)
    source_files: dict[str, str] = field(default_factory=dict)

    def failures(self, fail_on: set[str]) -> list[str]:
        """What trips ``--fail-on`` (empty: exit 0)."""
        found = []
        if "drift" in fail_on and self.drifted:
            found.append(f"drift: {self.drift_share:.0%} of the statistics drift")
        if "over-augmentation" in fail_on and self.over is not None and self.over["verdict"]:
            found.append(
                f"over-augmentation: {self.over['flagged']} of {self.over['variants']} variants "
                f"({self.over['share']:.0%}) over-augmented, near-blank or out of distribution"
            )
        if "duplicates" in fail_on:
            groups = sum(
                len(found_issues[k])
                for found_issues in self.issues.values()
                for k in ("exact_duplicates", "near_duplicates")
            )
            if groups:
                found.append(f"duplicates: {groups} group(s) of duplicate images")
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "sides": [side_json(s) for s in self.sides],
            "drift": None
            if len(self.sides) < 2
            else {
                "rules": RULES,
                "drift": self.drifted,
                "share": self.drift_share,
                "statistics": [r.as_json() for r in self.drift],
            },
            "over_augmentation": self.over,
            "issues": self.issues,
            "findings": self.findings,
            "thresholds": self.thresholds.as_json(),
            "files": self.files,
            "decoded": self.decoded,
            "seconds": round(self.seconds, 3),
            "cache": self.cache,
        }


def side_json(side: Side) -> dict[str, Any]:
    import numpy as np

    summary = {}
    for name, (kind, values) in side.columns().items():
        if kind == "numeric" and values:
            array = np.asarray(values, dtype=np.float64)
            p5, p50, p95 = np.percentile(array, [5, 50, 95])
            summary[name] = {
                "mean": float(array.mean()),
                "std": float(array.std()),
                "p05": float(p5),
                "median": float(p50),
                "p95": float(p95),
            }
    return {
        "name": side.name,
        "root": side.root,
        "layout": side.layout,
        "medium": side.medium,
        "images": side.count,
        "boxes": len(side.box_classes) if side.detection else None,
        "counts": {
            key: dict(sorted(Counter(values).items()))
            for key, values in (
                ("split", side.categories["split"]),
                ("class", side.categories["class"]),
                ("format", side.categories["format"]),
                ("box_class", side.box_classes),
            )
            if values
        },
        "statistics": summary,
        **(
            {"rows": side.rows, "vocabulary": len(side.vocabulary)} if side.medium == "text" else {}
        ),
        "by_split": {} if side.medium == "text" else _medians(side, side.categories["split"]),
        "by_class": {} if side.medium == "text" else _medians(side, side.image_classes),
        "unreadable": side.unreadable,
    }


def _medians(side: Side, groups: list[Any]) -> dict[str, Any]:
    """Each group's file count and the median of each statistic of the side's medium (one
    value per file: images and audio)."""
    import numpy as np

    members: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        if group is not None:
            members.setdefault(str(group), []).append(index)
    return {
        group: {
            "images": len(indices),
            "median": {
                key: float(np.median(np.asarray(side.numeric[key])[indices])) for key in side.stats
            },
        }
        for group, indices in sorted(members.items())
    }


def build_report(
    paths: list[Path],
    *,
    source: Path | None = None,
    verify: bool = True,
    jobs: int = 1,
    cache_path: Path | None = None,
    thresholds: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> DatasetReport:
    """The report of a manifest (one path to a file), a folder, or two folders."""
    from augtool.report import collect, quality

    started = time.monotonic()
    if len(paths) == 1 and paths[0].is_file():
        mode = "expansion"
        collected = collect.collect_manifest(paths[0], source, verify, cache_path, jobs, progress)
    else:
        mode = "dataset" if len(paths) == 1 else "drift"
        collected = collect.collect_folders(paths, cache_path, jobs, progress)
    overrides = dict(_recipe_quality(collected))
    overrides.update(thresholds or {})
    limits = Thresholds.with_overrides(overrides)
    report = DatasetReport(mode, collected.sides, limits, files=collected.files)
    report.decoded = collected.decoded
    report.source_files = collected.source_files
    report.cache = None if cache_path is None else str(cache_path)
    checked = collected.sides[:1] if mode == "expansion" else collected.sides
    # The quality checks (blur, exposure, duplicates by pixels) are image ones.
    report.issues = {s.name: quality.issues(s, limits) for s in checked if s.medium == "image"}
    if len(collected.sides) == 2:
        _compare(report, collected)
    report.seconds = time.monotonic() - started
    return report


def _recipe_quality(collected: Collected) -> dict[str, Any]:
    """The ``quality:`` mapping of the recipe a manifest embeds, when it has one."""
    recipe = (collected.manifest or {}).get("recipe") or {}
    found = recipe.get("quality") if isinstance(recipe, dict) else None
    return found if isinstance(found, dict) else {}


def _compare(report: DatasetReport, collected: Collected) -> None:
    from augtool.report import drift, quality

    before, after = collected.sides
    columns_after = after.columns()
    for name, (kind, values) in before.columns().items():
        if name in columns_after:
            report.drift.append(drift.column_drift(name, kind, values, columns_after[name][1]))
    report.drifted, report.drift_share = drift.overall(report.drift)
    classes = [set(s.categories["class"]) | set(s.box_classes) for s in (before, after)]
    if classes[0] ^ classes[1]:
        for side, own, other in ((before, *classes), (after, *classes[::-1])):
            only = sorted(own - other)
            if only:
                report.findings.append(f"classes only in {side.name}: {', '.join(only)}")
        if not classes[0] & classes[1] and classes[0] and classes[1]:
            report.findings.append("the two sides have no class in common")
    if before.medium == "text":
        report.findings.append(vocabulary_overlap(before, after))
    if report.mode == "expansion" and before.medium == "image":  # SSIM: images only
        report.over = quality.over_augmentation(
            before, after, collected.variants, report.thresholds
        )


def vocabulary_overlap(before: Side, after: Side) -> str:
    """How much of the two sides' words they share, as a finding."""
    common = before.vocabulary & after.vocabulary
    union = before.vocabulary | after.vocabulary
    seen = len(common) / len(after.vocabulary) if after.vocabulary else 1.0
    jaccard = len(common) / len(union) if union else 1.0
    return (
        f"vocabulary overlap: {seen:.0%} of {after.name}'s {len(after.vocabulary)} words are "
        f"in {before.name}'s {len(before.vocabulary)} (Jaccard {jaccard:.2f})"
    )
