"""Preview: a contact sheet of what a recipe does, before an expand spends hours on it.

A variant tile is derived by the very functions expand uses (:mod:`augtool.run.derive`), from
the same decode (with the recipe's input limits) and with the seed the plan gives that variant
(:func:`augtool.run.plan.variant_seed`), so its pixels before scaling are exactly those expand
encodes, and the annotations drawn on it are those expand writes (objects dropped, left/right
classes swapped); a source expand skips (too many pixels, labels that do not parse) is skipped
here too. Scaling to a thumbnail and the caption are all that preview adds.

Sources are chosen from the discovered paths before anything is decoded, and only the chosen ones
are read, so a preview of a million-image dataset costs about as much as one of ten images. Rows
are rendered one at a time and scaled at once: memory holds one source's full-size images, never
the sheet's.

:mod:`.rows` chooses what to show (sources, variants derived through :mod:`augtool.run.derive`,
with the partners :mod:`.partners` gives their synthesis steps), :mod:`.sweep` the sweep
points, :mod:`.captions` says it in words, :mod:`.sheet` draws it, and :mod:`.render`
puts them together into a :class:`Preview`.
"""

from __future__ import annotations

from augtool.preview.captions import NOTHING_FIRED, caption
from augtool.preview.render import Preview, check_output_path, preview_paths, render_preview
from augtool.preview.rows import Row, Tile, choose_sources, variant_rows
from augtool.preview.sheet import BACKGROUND, Layout, compose
from augtool.preview.sweep import leaf_steps, sweep_points, sweep_rows

__all__ = [
    "BACKGROUND",
    "NOTHING_FIRED",
    "Layout",
    "Preview",
    "Row",
    "Tile",
    "caption",
    "check_output_path",
    "choose_sources",
    "compose",
    "leaf_steps",
    "preview_paths",
    "render_preview",
    "sweep_points",
    "sweep_rows",
    "variant_rows",
]
