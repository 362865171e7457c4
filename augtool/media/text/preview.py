"""Preview of a text recipe: chosen rows of the dataset next to their variants, the changed
tokens marked, as a terminal table and a self-contained HTML page.

A variant shown is the one expand writes for that row (the same decode, file seed and row seed,
through :func:`augtool.media.text.rows.run_rows`), with the rails' verdict when expand would
leave it out.
"""

from __future__ import annotations

import difflib
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augtool.atomic import write_atomic
from augtool.errors import InputError, WriteError
from augtool.media.text.codecs import Table
from augtool.media.text.rows import Rails, augment_text, replay_text, run_rows
from augtool.media.text.tokens import tokenise

Piece = tuple[str, str]  # (kind: same | new | gone, text)


def changes(before: str, after: str) -> list[Piece]:
    """``after`` as pieces: tokens kept, tokens new or changed, and tokens of ``before`` gone."""
    _lead_a, a = tokenise(before)
    lead_b, b = tokenise(after)
    words_a, words_b = [t[0] for t in a], [t[0] for t in b]
    pieces: list[Piece] = [("same", lead_b)] if lead_b else []
    matcher = difflib.SequenceMatcher(a=words_a, b=words_b, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op in ("delete", "replace"):
            pieces.append(("gone", " ".join(words_a[a0:a1])))
        if op != "delete":
            kind = "same" if op == "equal" else "new"
            pieces.extend((kind, b[i][0] + b[i][1]) for i in range(b0, b1))
    return pieces


@dataclass(frozen=True)
class Shown:
    """One row of the preview: a source row, or one of its variants."""

    path: str
    row: int
    variant: int | None  # None: the source row
    text: str
    pieces: list[Piece]
    steps: list[str] = field(default_factory=list)
    dropped: str | None = None
    at: str | None = None  # a sweep's point (``low``, ``mid``, ``high``, ``once``)


@dataclass(frozen=True)
class TextPreview:
    shown: list[Shown]
    seed: int
    skipped: list[dict[str, str]]
    input: str | None = None
    written: Path | None = None  # the HTML page, when one was written

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Headers and rows of the terminal table (rich markup: changed tokens in bold)."""
        lines = []
        for item in self.shown:
            marked = "".join(
                f"[bold yellow]{_escape(t)}[/]"
                if kind == "new"
                else f"[strike red]{_escape(t)}[/] "
                if kind == "gone"
                else _escape(t)
                for kind, t in item.pieces
            )
            what = item.at or ("source" if item.variant is None else f"v{item.variant}")
            note = ", ".join(item.steps) + (f" (dropped: {item.dropped})" if item.dropped else "")
            lines.append([f"{item.path}:{item.row}", what, marked, note])
        return ["row", "variant", "text (changes marked)", "steps"], lines

    def html(self) -> str:
        body = []
        for item in self.shown:
            text = "".join(
                f"<mark>{html.escape(t)}</mark>"
                if kind == "new"
                else f"<del>{html.escape(t)}</del> "
                if kind == "gone"
                else html.escape(t)
                for kind, t in item.pieces
            )
            what = item.at or ("source" if item.variant is None else f"v{item.variant}")
            note = html.escape(", ".join(item.steps))
            if item.dropped:
                note += f' <span class="drop">dropped: {html.escape(item.dropped)}</span>'
            cls = ' class="source"' if item.variant is None else ""
            body.append(
                f"<tr{cls}><td>{html.escape(item.path)}:{item.row}</td><td>{what}</td>"
                f"<td>{text}</td><td>{note}</td></tr>"
            )
        return PAGE.format(seed=self.seed, rows="\n".join(body))

    def write(self, path: Path) -> None:
        try:
            write_atomic(path, self.html().encode("utf-8"))
        except OSError as exc:
            raise WriteError(f"{path}: writing failed: {exc}") from exc

    def as_json(self) -> dict[str, Any]:
        rows = [
            {"path": s.path, "row": s.row, "variant": s.variant, "text": s.text,
             "steps": s.steps, "dropped": s.dropped, **({"at": s.at} if s.at else {})}
            for s in self.shown
        ]  # fmt: skip
        mode = "sweep" if any(s.at for s in self.shown) else "variants"
        return {"mode": mode, "seed": self.seed, "rows": rows, "skipped": self.skipped}

    def summary(self) -> str:
        return f"{sum(s.variant is None for s in self.shown)} source rows and their variants"


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>augtool preview</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; }}
td {{ border-bottom: 1px solid #ddd; padding: 4px 8px; vertical-align: top; }}
tr.source td {{ border-top: 2px solid #888; font-weight: 600; }}
mark {{ background: #ffe38a; }} del {{ color: #b00; }} .drop {{ color: #b00; }}
</style></head><body>
<h1>augtool preview</h1><p>seed {seed}: each source row, then its variants as expand writes
them; new or changed tokens <mark>marked</mark>, removed ones <del>struck</del>.</p>
<table>
{rows}
</table></body></html>
"""


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


def shown_rows(
    path: str, table: Table, file_seed: int, steps: list[Any], sources: int, variants: int
) -> list[Shown]:
    """``sources`` rows spread over the file, each then its ``variants`` (expand's)."""
    chosen = _spread(path, table, sources)
    picked = Table(table.format, tuple(chosen), table.columns, table.text_columns,
                   table.bom, (), table.options)  # fmt: skip
    options = table.options
    rails = Rails(options["protect"], options["max_token_distance"], table.format != "document")
    _, entries = run_rows(steps, picked, file_seed, variants, rails)
    shown: list[Shown] = []
    for row in chosen:
        source = " | ".join(row.texts)
        shown.append(Shown(path, row.number, None, source, [("same", source)]))
        for entry in (e for e in entries if e["row"] == row.number):
            texts = []
            for column, text in zip(table.text_columns, row.texts, strict=True):
                records = entry["steps"][column]
                texts.append(replay_text(records, text, rails))
            after = " | ".join(texts)
            names = [r["name"] for column in entry["steps"].values() for r in column]
            shown.append(
                Shown(
                    path,
                    row.number,
                    entry["variant"],
                    after,
                    changes(source, after),
                    names,
                    entry.get("dropped"),
                )
            )
    return shown


#: a sweep's points: where in each rate range a step is shown alone
POINTS = (("low", 0.0), ("mid", 0.5), ("high", 1.0))


def sweep_rows(
    path: str, table: Table, file_seed: int, steps: list[Any], sources: int, variants: int
) -> list[Shown]:
    """``sources`` rows, each then every step alone (p 1) at the low, middle and high end of
    its ``rate`` range (once for a step without one), from the row's first variant's seed."""
    from augtool.media.text.rows import RowGenerators, row_seed

    options = table.options
    rails = Rails(options["protect"], options["max_token_distance"])
    generators = RowGenerators()
    shown: list[Shown] = []
    for row in _spread(path, table, sources):
        source = " | ".join(row.texts)
        shown.append(Shown(path, row.number, None, source, [("same", source)]))
        for step in steps:
            points = POINTS if "rate" in step.config else (("once", 0.0),)
            for at, where in points:
                config = dict(step.config, p=1.0)
                if "rate" in config:
                    lo, hi = config["rate"]
                    config["rate"] = [lo + (hi - lo) * where] * 2
                alone = type(step)(**config)
                rng = generators.at(row_seed(file_seed, row.number, 0))
                texts = [augment_text([alone], text, rng, rails)[0] for text in row.texts]
                after = " | ".join(texts)
                label = at if at == "once" else f"{at} (rate {config['rate'][0]:.3g})"
                shown.append(
                    Shown(
                        path, row.number, None, after, changes(source, after), [step.name], at=label
                    )
                )
    return shown


def _spread(path: str, table: Table, count: int) -> list[Any]:
    if not table.rows:
        raise InputError(f"{path}: no rows to show")
    count = min(count, len(table.rows))
    step = len(table.rows) / count
    return [table.rows[int(i * step)] for i in range(count)]


def render(
    recipe: Any,
    input_root: Path,
    expand_output: Path | None,
    output: Any,
    sources: int,
    variants: int,
    sweep: bool,
) -> TextPreview:
    """``augtool preview`` of a text recipe: the table, and the HTML page at ``output`` (a
    ``.png`` ending, preview's default, becomes ``.html``)."""
    from dataclasses import replace

    from augtool.errors import OutputError

    page = None if output is None else Path(output)
    if page is not None:
        if page.suffix.lower() in ("", ".png"):
            page = page.with_suffix(".html")
        if page.suffix.lower() != ".html":
            raise OutputError(
                f"{page}: a text preview is an HTML page; give a path ending in .html"
            )
        for folder in (input_root, expand_output):
            if folder is not None and folder.resolve() in page.resolve().parents:
                raise OutputError(f"{page}: inside {folder}; write the preview elsewhere")
    made = preview_text(recipe, input_root, sources, variants, sweep)
    if page is not None:
        made.write(page)
    return replace(made, input=str(input_root), written=page)


def preview_text(
    recipe: Any, input_root: Path, sources: int, variants: int, sweep: bool = False
) -> TextPreview:
    """Rows of the recipe's augmented files (in path order), each with ``variants`` of its
    variants as expand writes them. Raises ``InputError`` when no file can be shown."""
    from augtool.run.derive import InputLimits, open_source, recipe_settings
    from augtool.run.engine import discover_dataset
    from augtool.run.plan import variant_seed

    dataset = discover_dataset(recipe, input_root)
    settings = recipe_settings(recipe.normalised, dataset.layout)
    limits = InputLimits((), None, recipe.medium, settings)
    shown: list[Shown] = []
    skipped: list[dict[str, str]] = []
    left = sources
    for source in (s for s in dataset.sources if s.augment):
        if left <= 0:
            break
        try:
            data = (input_root / source.path).read_bytes()
            opened = open_source(data, limits, name=source.path)
        except (OSError, ValueError) as exc:
            skipped.append({"path": source.path, "reason": str(exc)})
            continue
        seed = variant_seed(recipe.seed, source.path, 0)
        show = sweep_rows if sweep else shown_rows
        rows = show(source.path, opened.decoded, seed, recipe.steps, left, variants)
        left -= sum(item.variant is None for item in rows)
        shown.extend(rows)
    if not shown:
        raise InputError(f"{input_root}: no augmented text file to preview")
    return TextPreview(shown, recipe.seed, skipped)


__all__ = ["TextPreview", "changes", "preview_text", "render", "shown_rows"]
