"""The terminal summary of a report: rich tables, no colour needed to read them."""

from __future__ import annotations

from typing import Any

from augtool.report import DatasetReport
from augtool.report.drift import RULES

#: Rows of a long list the terminal shows (``--json`` and the HTML page show all).
SHOWN = 10


def render(report: DatasetReport, console: Any) -> None:
    from rich.table import Table

    sides = report.sides
    overview = Table("", *(s.name for s in sides), title=f"augtool report ({report.mode})")
    overview.add_row("folder", *(s.root for s in sides))
    overview.add_row("layout", *(s.layout for s in sides))
    overview.add_row("files", *(str(s.count) for s in sides))
    overview.add_row("unreadable", *(str(len(s.unreadable)) for s in sides))
    for key in ("split", "class", "format"):
        overview.add_row(key, *(_counts(s.categories[key]) for s in sides))
    if any(s.detection for s in sides):
        overview.add_row("boxes", *(str(len(s.box_classes)) for s in sides))
        overview.add_row("box classes", *(_counts(s.box_classes) for s in sides))
    console.print(overview)
    if report.drift:
        _drift(report, console)
    if report.over is not None:
        _over(report.over, console)
    _issues(report, console)
    for finding in report.findings:
        console.print(f"finding: {finding}")
    for side in sides:
        for item in side.unreadable[:SHOWN]:
            console.print(f"unreadable ({side.name}) {item['path']}: {item['reason']}")
        if len(side.unreadable) > SHOWN:
            console.print(f"... and {len(side.unreadable) - SHOWN} more unreadable")
    console.print(
        f"{report.files} files, {report.decoded} decoded ({report.files - report.decoded} from "
        f"the cache), {report.seconds:.1f} s"
    )


def _counts(values: list[str]) -> str:
    from collections import Counter

    if not values:
        return "-"
    counts = Counter(values).most_common()
    shown = ", ".join(f"{k} {n}" for k, n in counts[:6])
    return shown + (f", +{len(counts) - 6} more" if len(counts) > 6 else "")


def _drift(report: DatasetReport, console: Any) -> None:
    from rich.table import Table

    a, b = report.sides
    table = Table(
        "statistic", "test", "score", "threshold", "drift", title=f"drift {a.name} -> {b.name}"
    )
    for r in report.drift:
        score = "-" if r.score is None else f"{r.score:.4g}"
        verdict = "DRIFT" if r.drift else ("-" if not r.test else "no")
        table.add_row(
            r.statistic, r.test or "-", score, f"{r.threshold:g}", verdict + _note(r.note)
        )
    console.print(table)
    console.print(RULES)
    verdict = "DRIFT" if report.drifted else "no drift"
    console.print(f"overall: {verdict} ({report.drift_share:.0%} of the statistics drift)")


def _note(note: str) -> str:
    return f" ({note})" if note else ""


def _over(over: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(
        "step mix", "variants", "mean SSIM", "min SSIM", "flagged", title="over-augmentation"
    )
    for mix in over["mixes"][:SHOWN]:
        table.add_row(
            mix["mix"],
            str(mix["count"]),
            f"{mix['mean_ssim']:.3f}",
            f"{mix['min_ssim']:.3f}",
            str(mix["flagged"]),
        )
    console.print(table)
    if len(over["mixes"]) > SHOWN:
        console.print(f"... and {len(over['mixes']) - SHOWN} more step mixes")
    for key in ("over_augmented", "near_blank", "out_of_distribution", "near_identical"):
        items = over[key]
        if items:
            shown = ", ".join(f"{e['path']} ({_ssim(e)})" for e in items[:5])
            more = f", +{len(items) - 5} more" if len(items) > 5 else ""
            console.print(f"{key.replace('_', ' ')}: {len(items)}: {shown}{more}")
    verdict = "OVER-AUGMENTED" if over["verdict"] else "ok"
    console.print(
        f"over-augmentation: {verdict} ({over['flagged']} of {over['variants']} variants, "
        f"{over['share']:.0%}, flagged)"
    )


def _ssim(entry: dict[str, Any]) -> str:
    return "SSIM -" if entry["ssim"] is None else f"SSIM {entry['ssim']:.2f}"


def _issues(report: DatasetReport, console: Any) -> None:
    for name, found in report.issues.items():
        for issue, items in found.items():
            if not items:
                continue
            if issue.endswith("duplicates"):
                shown = "; ".join(" = ".join(group) for group in items[:3])
            else:
                shown = ", ".join(items[:5])
            more = f" (+{len(items) - (3 if issue.endswith('duplicates') else 5)} more)"
            extra = more if len(items) > (3 if issue.endswith("duplicates") else 5) else ""
            console.print(f"{name}: {issue} {len(items)}: {shown}{extra}")
