"""The report as one self-contained HTML page: charts drawn by matplotlib as inline SVG (text as
paths, so no font is needed), thumbnails as ``data:`` URIs, no script. A Content-Security-Policy
meta tag forbids the page any request but its own inline data, so it opens from a file and
fetches nothing.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections import Counter
from pathlib import Path
from typing import Any

from augtool.atomic import write_atomic
from augtool.report import DatasetReport
from augtool.report.drift import RULES
from augtool.report.model import BOX_STATS, Side

#: How many of the most over-augmented variants the grid shows beside their sources.
GRID = 12
#: The longer side of a grid thumbnail, in pixels.
THUMB = 160
#: The sides' colours (matplotlib's default cycle: blue, orange).
COLOURS = ("#1f77b4", "#ff7f0e")
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1240px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.drift { color: #b00; font-weight: bold; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure.chart { margin: 0; width: 380px; height: 260px; border: 1px solid #ddd; }
figure.chart svg { width: 380px; height: 260px; }
figure.wide { width: 772px; } figure.wide svg { width: 772px; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; }
.pair { border: 1px solid #ddd; padding: 6px; font-size: 12px; width: 340px; }
.pair img { max-width: 160px; max-height: 160px; vertical-align: top; }
.verdict { font-size: 16px; font-weight: bold; }
"""


def write_html(report: DatasetReport, path: Path) -> None:
    """Write the page to ``path`` (atomically)."""
    write_atomic(path, render_html(report).encode("utf-8"))


def render_html(report: DatasetReport) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>augtool report ({report.mode})</title><style>{STYLE}</style></head><body>",
        f"<h1>augtool report ({html.escape(report.mode)})</h1>",
        _overview(report),
        _verdicts(report),
    ]
    if report.drift:
        parts.append(_drift_table(report))
    parts.append(_charts(report))
    if report.over is not None:
        parts.append(_over(report))
    parts.append(_issues(report))
    parts.append("</body></html>")
    return "\n".join(parts)


def _e(value: Any) -> str:
    return html.escape(str(value))


def _overview(report: DatasetReport) -> str:
    sides = report.sides
    rows = [
        ("folder", [s.root for s in sides]),
        ("layout", [s.layout for s in sides]),
        ("files", [s.count for s in sides]),
        ("unreadable", [len(s.unreadable) for s in sides]),
        ("splits", [_counts(s.categories["split"]) for s in sides]),
        ("classes", [_counts(s.categories["class"]) for s in sides]),
        ("formats", [_counts(s.categories["format"]) for s in sides]),
    ]
    if any(s.detection for s in sides):
        rows.append(("boxes", [len(s.box_classes) for s in sides]))
    head = "".join(f"<th>{_e(s.name)}</th>" for s in sides)
    body = "".join(
        f"<tr><th>{_e(k)}</th>{''.join(f'<td>{_e(v)}</td>' for v in values)}</tr>"
        for k, values in rows
    )
    footer = (
        f"<p>{report.files} files, {report.decoded} decoded, "
        f"{report.files - report.decoded} from the statistics cache.</p>"
    )
    return f"<table><tr><th></th>{head}</tr>{body}</table>{footer}"


def _counts(values: list[str]) -> str:
    return ", ".join(f"{k} {n}" for k, n in sorted(Counter(values).items())) or "-"


def _verdicts(report: DatasetReport) -> str:
    lines = []
    if report.drift:
        word = "DRIFT" if report.drifted else "no drift"
        lines.append(f"Drift: {word} ({report.drift_share:.0%} of the statistics drift)")
    if report.over is not None:
        word = "OVER-AUGMENTED" if report.over["verdict"] else "ok"
        lines.append(
            f"Over-augmentation: {word} ({report.over['flagged']} of {report.over['variants']} "
            f"variants flagged, mean SSIM {_num(report.over['mean_ssim'])})"
        )
    lines += [f"Finding: {f}" for f in report.findings]
    return "".join(f'<p class="verdict">{_e(line)}</p>' for line in lines)


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.3g}"


def _drift_table(report: DatasetReport) -> str:
    rows = []
    for r in report.drift:
        verdict = '<span class="drift">DRIFT</span>' if r.drift else ("no" if r.test else "-")
        rows.append(
            f"<tr><td>{_e(r.statistic)}</td><td>{_e(r.test or '-')}</td>"
            f"<td>{_num(r.score)}</td><td>{r.threshold:g}</td><td>{verdict}</td>"
            f"<td>{r.reference} / {r.current}</td><td>{_e(r.note)}</td></tr>"
        )
    return (
        "<h2>Drift</h2><table><tr><th>statistic</th><th>test</th><th>score</th>"
        "<th>threshold</th><th>drift</th><th>rows</th><th>note</th></tr>"
        + "".join(rows)
        + f"</table><p>{_e(RULES)}.</p>"
    )


def _charts(report: DatasetReport) -> str:
    """A histogram per statistic with the sides overlaid, and class bars."""
    sides = report.sides
    figures = []
    names = list(sides[0].stats)
    if any(s.detection for s in sides):
        names += ["boxes_per_image", *BOX_STATS]
    for name in names:
        columns = [_column(s, name) for s in sides]
        if any(columns):
            figures.append(_figure(f"chart-{name}", _histogram(name, sides, columns)))
    for key, title in (("class", "images per class"), ("box_class", "boxes per class")):
        counts = [
            Counter(s.box_classes if key == "box_class" else s.categories["class"]) for s in sides
        ]
        if any(counts):
            figures.append(_figure(f"chart-{key}", _bars(title, sides, counts), wide=True))
    return '<h2>Distributions</h2><div class="charts">' + "".join(figures) + "</div>"


def _column(side: Side, name: str) -> list[float]:
    if name == "boxes_per_image":
        return side.boxes_per_image
    if name in BOX_STATS:
        return side.boxes[name]
    return side.numeric[name]


def _figure(ident: str, svg: str, wide: bool = False) -> str:
    kind = "chart wide" if wide else "chart"
    return f'<figure class="{kind}" id="{ident}">{svg}</figure>'


def _svg(figure: Any) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "augtool"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    # The RDF metadata block names its vocabularies by URL: noise in a page that must not
    # mention any, and no part of the drawing.
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    return text[text.index("<svg") :]


def _histogram(name: str, sides: list[Side], columns: list[list[float]]) -> str:
    import numpy as np
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3.8, 2.6), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    values = np.concatenate([np.asarray(c, dtype=np.float64) for c in columns if c])
    low, high = float(values.min()), float(values.max())
    bins = np.linspace(low, high if high > low else low + 1, 31)
    for side, column, colour in zip(sides, columns, COLOURS, strict=False):
        if column:
            weights = np.full(len(column), 1 / len(column))
            axes.hist(
                column,
                bins=bins,
                weights=weights,
                alpha=0.55,
                color=colour,
                label=f"{side.name} ({len(column)})",
            )
    unit = sides[0].stats.get(name) or BOX_STATS.get(name, "count")
    axes.set_title(f"{name} ({unit})", fontsize=9)
    axes.set_ylabel("share", fontsize=8)
    axes.tick_params(labelsize=7)
    axes.legend(fontsize=7)
    return _svg(figure)


def _bars(title: str, sides: list[Side], counts: list[Counter[str]]) -> str:
    import numpy as np
    from matplotlib.figure import Figure

    classes = sorted(set().union(*counts))[:40]
    figure = Figure(figsize=(7.72, 2.6), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    x = np.arange(len(classes))
    width = 0.8 / len(sides)
    for index, (side, found, colour) in enumerate(zip(sides, counts, COLOURS, strict=False)):
        axes.bar(
            x + index * width, [found[c] for c in classes], width, color=colour, label=side.name
        )
    axes.set_xticks(x + width * (len(sides) - 1) / 2, classes, fontsize=7, rotation=30)
    axes.set_title(title, fontsize=9)
    axes.tick_params(labelsize=7)
    axes.legend(fontsize=7)
    return _svg(figure)


def _over(report: DatasetReport) -> str:
    over = report.over or {}
    rows = "".join(
        f"<tr><td>{_e(m['mix'])}</td><td>{m['count']}</td><td>{m['mean_ssim']:.3f}</td>"
        f"<td>{m['min_ssim']:.3f}</td><td>{m['flagged']}</td></tr>"
        for m in over.get("mixes", [])
    )
    table = (
        "<h2>Over-augmentation</h2><table><tr><th>step mix</th><th>variants</th>"
        f"<th>mean SSIM</th><th>min SSIM</th><th>flagged</th></tr>{rows}</table>"
    )
    sources, expanded = report.sides
    # near-blank variants first (their SSIM may not be the lowest), then the lowest SSIM
    worst = over.get("near_blank", []) + over.get("lowest_ssim", [])
    seen, pairs = set(), []
    for entry in worst:
        if entry["path"] in seen or len(pairs) == GRID:
            continue
        seen.add(entry["path"])
        source_path = Path(sources.root) / _source_file(report, entry["source"])
        pairs.append(
            f'<div class="pair"><img alt="source" src="{_thumb(source_path)}"> '
            f'<img alt="variant" src="{_thumb(Path(expanded.root) / entry["path"])}">'
            f"<br>{_e(entry['path'])}<br>SSIM {_num(entry['ssim'])}: {_e(entry['mix'])}</div>"
        )
    grid = (
        "<h3>The variants furthest from their sources: near-blank ones, then the lowest SSIM "
        "(source left, variant right)</h3>"
        f'<div class="grid" id="grid">{"".join(pairs)}</div>'
    )
    return table + grid + _variant_lists(over)


def _variant_lists(over: dict[str, Any]) -> str:
    """Every listed variant, by finding (folded: a long list stays out of the way)."""
    parts = []
    for key in ("over_augmented", "near_blank", "out_of_distribution", "near_identical"):
        items = over.get(key) or []
        rows = "".join(
            f"<tr><td>{_e(e['path'])}</td><td>{_e(e['source'])}</td><td>{_num(e['ssim'])}</td>"
            f"<td>{_e(e['mix'])}</td><td>{_e(', '.join(e.get('statistics', [])))}</td></tr>"
            for e in items
        )
        parts.append(
            f"<details><summary>{_e(key.replace('_', ' '))}: {len(items)}</summary>"
            "<table><tr><th>variant</th><th>source</th><th>SSIM</th><th>step mix</th>"
            f"<th>outside on</th></tr>{rows}</table></details>"
        )
    return "".join(parts)


def _source_file(report: DatasetReport, source: str) -> str:
    """Where the source of a variant is on the sources' side (its original, or itself)."""
    return report.source_files.get(source, source)


def _thumb(path: Path) -> str:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            image.thumbnail((THUMB, THUMB))
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=85)
    except (OSError, ValueError):
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _issues(report: DatasetReport) -> str:
    parts = ["<h2>Data-quality issues</h2>"]
    for name, found in report.issues.items():
        items = []
        for issue, listed in found.items():
            if not listed:
                continue
            shown = [" = ".join(g) if isinstance(g, list) else g for g in listed[:50]]
            more = f" (+{len(listed) - 50} more)" if len(listed) > 50 else ""
            items.append(
                f"<li><b>{_e(issue)}</b> ({len(listed)}): {_e('; '.join(shown))}{more}</li>"
            )
        parts.append(f"<h3>{_e(name)}</h3><ul>{''.join(items) or '<li>none found</li>'}</ul>")
    for side in report.sides:
        if side.unreadable:
            listed = "".join(
                f"<li>{_e(u['path'])}: {_e(u['reason'])}</li>" for u in side.unreadable
            )
            parts.append(f"<h3>Unreadable ({_e(side.name)})</h3><ul>{listed}</ul>")
    return "\n".join(parts)
