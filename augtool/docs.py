"""Text for ``augtool transforms``: every medium's transforms, described from their own schemas.

The media come from :mod:`augtool.media.registry`; each lists its families in its own order.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from augtool.errors import AugtoolError
from augtool.media import registry


class UnknownTransform(AugtoolError):
    pass


def _specs() -> dict[str, Any]:
    """Every medium's transforms and blocks by name (the first medium's wins a shared name)."""
    specs: dict[str, Any] = {}
    for medium in reversed(list(registry.media())):
        specs.update({**medium.transforms(), **medium.blocks()})
    return specs


def listing() -> str:
    """Every transform and block, grouped by medium (named when there are several) and family,
    one line each."""
    lines = []
    several = len(registry.names()) > 1
    for medium in registry.media():
        specs = {**medium.transforms(), **medium.blocks()}
        lines.extend(_families(medium.families(), specs, f"{medium.name} " if several else ""))
    lines.append("")
    lines.append("Run 'augtool transforms NAME' for a transform's parameters and an example.")
    return "\n".join(lines)


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
    spec = specs[name]
    lines = [f"{name} ({spec.family})", f"  {spec.summary}", "", "parameters:"]
    for param in spec.all_params():
        default = "" if param.default is None else f" = {json.dumps(param.default)}"
        form = getattr(param.kind, "form", "")
        lines.append(f"  {param.name}{default}")
        lines.append(f"      {param.help}" + (f"; {form}" if form else ""))
    lines += ["", "example:", *(f"  {line}" for line in spec.example.splitlines())]
    return "\n".join(lines)
