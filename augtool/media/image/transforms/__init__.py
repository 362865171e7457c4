"""The transform registry: every image transform by name, grouped in families.

Importing this package imports every family module, which registers its transforms.
"""

from __future__ import annotations

# Each family module registers its transforms when imported.
from augtool.media.image.transforms import (  # noqa: F401
    blur,
    color,
    color_mix,
    copy_paste,
    crops,
    dihedral,
    distort,
    dropout,
    filters,
    geometric,
    mask_dropout,
    noise,
    occlusion,
    safe_crops,
    scales,
    sensor_noise,
    sunlight,
    synthesis,
    weather,
)
from augtool.media.image.transforms.compose import (
    BLOCKS,
    Block,
    BlockSpec,
    Step,
    fired_leaves,
    partner_needs,
    replay,
    run,
)
from augtool.media.image.transforms.synthesis import SYNTHESIS, Synthesis
from augtool.media.transform import REGISTRY, Transform

FAMILIES = ("geometric", "color", "noise", "occlusion", "weather", "synthesis", "composition")

__all__ = [
    "BLOCKS",
    "FAMILIES",
    "REGISTRY",
    "SYNTHESIS",
    "Block",
    "BlockSpec",
    "Step",
    "Synthesis",
    "Transform",
    "fired_leaves",
    "partner_needs",
    "replay",
    "run",
]
