"""Text for ``augtool transforms``: the registry, described from the transforms' own schemas."""

from __future__ import annotations

import difflib
import json
from typing import Any

from augtool.errors import AugtoolError
from augtool.media.image.transforms import BLOCKS, FAMILIES, REGISTRY


class UnknownTransform(AugtoolError):
    pass


def _specs() -> dict[str, Any]:
    return {**REGISTRY, **BLOCKS}


def listing() -> str:
    """Every transform and block, grouped by family, one line each."""
    lines = []
    specs = _specs()
    for family in FAMILIES:
        names = sorted(n for n, spec in specs.items() if spec.family == family)
        if not names:
            continue
        lines.append(f"{family}:")
        width = max(len(n) for n in names)
        lines.extend(f"  {n:<{width}}  {specs[n].summary}" for n in names)
    lines.append("")
    lines.append("Run 'augtool transforms NAME' for a transform's parameters and an example.")
    return "\n".join(lines)


def describe(name: str) -> str:
    """One transform in full: what it does, each parameter with its default, a recipe snippet."""
    specs = _specs()
    if name not in specs:
        close = difflib.get_close_matches(name, list(specs), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else "; see 'augtool transforms'"
        raise UnknownTransform(f"unknown transform {name!r}{hint}")
    spec = specs[name]
    lines = [f"{name} ({spec.family})", f"  {spec.summary}", "", "parameters:"]
    for param in spec.all_params():
        default = "" if param.default is None else f" = {json.dumps(param.default)}"
        form = getattr(param.kind, "form", "")
        lines.append(f"  {param.name}{default}")
        lines.append(f"      {param.help}" + (f"; {form}" if form else ""))
    lines += ["", "example:", *(f"  {line}" for line in spec.example.splitlines())]
    return "\n".join(lines)
