"""Text for ``augtool transforms``: every medium's transforms, described from their own schemas.

The media come from :mod:`augtool.media.registry`; each lists its families in its own order.
A medium whose content carries labels names their kinds (``target_kinds``, the image medium's
masks, boxes, polygons and keypoints) and each of its transforms says which it handles
(``supported_targets()``): that is the targets table, and what ``--target`` filters on.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from augtool.errors import AugtoolError
from augtool.media import registry


class UnknownTransform(AugtoolError):
    pass


class UnknownTarget(AugtoolError):
    pass


#: How the targets table marks a kind a transform handles, and one it refuses.
YES, NO = "✓", "-"


def _specs() -> dict[str, Any]:
    """Every medium's transforms and blocks by name (the first medium's wins a shared name)."""
    specs: dict[str, Any] = {}
    for medium in reversed(list(registry.media())):
        specs.update({**medium.transforms(), **medium.blocks()})
    return specs


def listing(target: str | None = None) -> str:
    """Every transform and block, grouped by medium (named when there are several) and family,
    one line each, then each labelled medium's targets table. With ``target`` (a label kind),
    only the transforms that handle it: move it with the pixels, or keep it in place."""
    kinds = target_kinds()
    if target is not None and target not in kinds:
        raise UnknownTarget(f"unknown target {target!r}; expected one of {', '.join(kinds)}")
    lines = []
    several = len(registry.names()) > 1
    for medium in registry.media():
        specs = {**medium.transforms(), **medium.blocks()}
        if target is not None:
            specs = {n: s for n, s in medium.transforms().items() if target in _handled(s)}
        lines.extend(_families(medium.families(), specs, f"{medium.name} " if several else ""))
    for medium in registry.media():
        if target not in (None, *getattr(medium, "target_kinds", ())):
            continue
        if getattr(medium, "target_kinds", None):
            transforms = medium.transforms()
            names = [n for n in transforms if target is None or target in _handled(transforms[n])]
            lines += ["", *_targets_table(medium, sorted(names))]
    lines.append("")
    lines.append("Run 'augtool transforms NAME' for a transform's parameters and an example.")
    return "\n".join(lines)


def target_kinds() -> list[str]:
    """Every label kind some medium's transforms can handle (the choices of ``--target``)."""
    kinds: list[str] = []
    for medium in registry.media():
        kinds += [k for k in getattr(medium, "target_kinds", ()) if k not in kinds]
    return kinds


def _support() -> dict[int, tuple[str, ...]]:
    """The label kinds each transform of a labelled medium handles, by the transform's id (a
    name two media share, random_crop, is two transforms)."""
    return {
        id(spec): tuple(spec.supported_targets())
        for medium in registry.media()
        if getattr(medium, "target_kinds", None)
        for spec in medium.transforms().values()
    }


def _handled(spec: Any) -> tuple[str, ...]:
    """The label kinds a transform handles; none for a medium without labels."""
    return _support().get(id(spec), ())


def _labelled(spec: Any) -> bool:
    """Whether ``spec`` is a transform of a medium whose content carries labels."""
    return id(spec) in _support()


def _targets_table(medium: Any, names: list[str]) -> list[str]:
    """The plain-text targets table: a row per transform, a column per kind of target."""
    columns = ["transform", medium.name, *medium.target_kinds]
    rows = [[n, YES, *_marks(medium.transforms()[n], medium.target_kinds)] for n in names]
    widths = [max(len(row[i]) for row in [columns, *rows]) for i in range(len(columns))]
    lines = [f"{medium.name} targets ({YES}: moved with the pixels, or kept in place):"]
    for row in [columns, *rows]:
        lines.append(
            "    " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        )
    return lines


def _marks(spec: Any, kinds: tuple[str, ...]) -> list[str]:
    handled = _handled(spec)
    return [YES if kind in handled else NO for kind in kinds]


def _families(families: tuple[str, ...], specs: dict[str, Any], medium: str) -> list[str]:
    lines = []
    for family in families:
        names = sorted(n for n, spec in specs.items() if spec.family == family)
        if not names:
            continue
        lines.append(f"{medium}{family}:")
        width = max(len(n) for n in names)
        lines.extend(f"  {n:<{width}}  {specs[n].summary}" for n in names)
    return lines


def describe(name: str) -> str:
    """One transform in full: what it does, each parameter with its default, a recipe snippet."""
    specs = _specs()
    if name not in specs:
        close = difflib.get_close_matches(name, list(specs), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else "; see 'augtool transforms'"
        raise UnknownTransform(f"unknown transform {name!r}{hint}")
    # A name two media share (random_crop) is described once per medium.
    owned: dict[int, tuple[str, Any]] = {}
    for medium in registry.media():
        spec = medium.transforms().get(name) or medium.blocks().get(name)
        if spec is not None:
            owned.setdefault(id(spec), (medium.name, spec))
    shared = len(owned) > 1
    return "\n\n".join(
        _described(name, spec, owner if shared else "") for owner, spec in owned.values()
    )


def _described(name: str, spec: Any, owner: str) -> str:
    family = f"{owner} {spec.family}" if owner else spec.family
    lines = [f"{name} ({family})", f"  {spec.summary}", "", "parameters:"]
    for param in spec.all_params():
        default = "" if param.default is None else f" = {json.dumps(param.default)}"
        form = getattr(param.kind, "form", "")
        lines.append(f"  {param.name}{default}")
        lines.append(f"      {param.help}" + (f"; {form}" if form else ""))
    if _labelled(spec):
        handled = ", ".join(_handled(spec)) or "none (moving labels through it is an error)"
        lines += ["", f"targets: {handled}"]
    lines += ["", "example:", *(f"  {line}" for line in spec.example.splitlines())]
    return "\n".join(lines)


def as_json(name: str | None = None, target: str | None = None) -> list[dict[str, Any]]:
    """Every transform and block (or the one called ``name``, or those that handle ``target``)
    as plain JSON: what ``augtool transforms --json`` prints, each with its ``medium`` (a name
    two media share is one entry per medium). A transform of a labelled medium lists the label
    kinds it handles under ``targets``."""
    if name is not None and name not in _specs():
        describe(name)  # raises UnknownTransform with its suggestion
    if target is not None:
        listing(target)  # raises UnknownTarget
    chosen = [
        (n, owner, spec)
        for n, owner, spec in _owned()
        if (name is None or n == name) and (target is None or target in _handled(spec))
    ]
    return [
        {
            "name": n,
            "medium": owner,
            "family": spec.family,
            **({"targets": list(_handled(spec))} if _labelled(spec) else {}),
            "summary": spec.summary,
            "params": [
                {
                    "name": p.name,
                    "default": p.default,
                    "help": p.help,
                    "form": getattr(p.kind, "form", ""),
                }
                for p in spec.all_params()
            ],
            "example": spec.example,
        }
        for n, owner, spec in chosen
    ]


def _owned() -> list[tuple[str, str, Any]]:
    """(name, medium, spec) of every transform and block, by name, then in the media's order:
    a name two media share (random_crop) once per medium, a block they share once."""
    seen: set[int] = set()
    owned = []
    for medium in registry.media():
        for n, spec in {**medium.transforms(), **medium.blocks()}.items():
            if id(spec) not in seen:
                seen.add(id(spec))
                owned.append((n, medium.name, spec))
    order = {name: i for i, name in enumerate(registry.names())}
    return sorted(owned, key=lambda item: (item[0], order.get(item[1], len(order))))


def markdown() -> str:
    """docs/transforms.md: the listing and every transform in full, as Markdown, so the page
    says exactly what ``augtool transforms NAME`` says."""
    lines = [
        "# Transforms",
        "",
        "<!-- Generated by `python -m augtool.docs docs/transforms.md`; do not edit."
        " tests/test_docs.py fails when it is stale. -->",
        "",
        "Every step a recipe's `pipeline` can hold, from the transform registry: the same text as",
        "`augtool transforms` and `augtool transforms NAME`. Parameter names follow Albumentations",
        "and torchvision. How ranges, `p`, blocks, borders, `fill` and fusion work is in",
        "[recipe.md](recipe.md).",
    ]
    lines += _markdown_targets()
    for medium in registry.media():
        specs = {**medium.transforms(), **medium.blocks()}
        for family in medium.families():
            names = sorted(n for n, spec in specs.items() if spec.family == family)
            if names:
                # The image families keep their plain headings; another medium's are named.
                heading = family if medium.name == registry.DEFAULT else f"{medium.name} {family}"
                lines += ["", f"## {heading}", "", *_markdown_table(names, specs)]
                lines += [line for name in names for line in _markdown_entry(name, specs[name])]
    return "\n".join(lines) + "\n"


def _markdown_targets() -> list[str]:
    """The targets table of each labelled medium: which labels each transform handles
    (moves with its pixels, or keeps in place because it moves none), as Albumentations'
    documentation has it."""
    lines: list[str] = []
    for medium in registry.media():
        kinds = getattr(medium, "target_kinds", None)
        if not kinds:
            continue
        transforms = medium.transforms()
        lines += [
            "",
            "## Targets",
            "",
            f"Which labels each {medium.name} transform handles: {YES} when it moves them with "
            "its pixels,",
            "or keeps them in place because it moves none. One marked "
            f"{NO} cannot move that kind, and moving",
            "such labels through it is an error. `augtool transforms --target KIND` lists the",
            "transforms that handle one kind.",
            "",
            f"| transform | {medium.name} | " + " | ".join(kinds) + " |",
            "| --- | " + " | ".join(":---:" for _ in range(len(kinds) + 1)) + " |",
        ]
        for n in sorted(transforms):
            marks = " | ".join(_marks(transforms[n], kinds))
            lines.append(f"| [`{n}`](#{n}) | {YES} | {marks} |")
    return lines


def _markdown_table(names: list[str], specs: dict[str, Any]) -> list[str]:
    return [
        "| transform | what it does |",
        "| --- | --- |",
        *(f"| [`{n}`](#{n}) | {specs[n].summary} |" for n in names),
    ]


def _markdown_entry(name: str, spec: Any) -> list[str]:
    lines = ["", f"### {name}", "", spec.summary, ""]
    for param in spec.all_params():
        default = "" if param.default is None else f" = `{json.dumps(param.default)}`"
        form = getattr(param.kind, "form", "")
        lines.append(f"- `{param.name}`{default}: {param.help}" + (f"; {form}" if form else ""))
    return [*lines, "", "<!-- example: steps -->", "```yaml", spec.example.rstrip(), "```"]


def main(argv: list[str]) -> int:
    """Write docs/transforms.md (or the given files)."""
    for target in argv or ["docs/transforms.md"]:
        with open(target, "w", encoding="utf-8") as file:
            file.write(markdown())
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
