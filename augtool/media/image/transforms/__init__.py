"""The transform registry: every image transform by name, grouped in families.

Importing this package imports every family module, which registers its transforms.
"""

from __future__ import annotations

# Each family module registers its transforms when imported.
from augtool.media.image.transforms import (  # noqa: F401
    blur,
    color,
    color_mix,
    crops,
    dihedral,
    distort,
    dropout,
    filters,
    geometric,
    noise,
    occlusion,
    safe_crops,
    scales,
    sensor_noise,
    sunlight,
    weather,
)
from augtool.media.image.transforms.base import REGISTRY, Transform
from augtool.media.image.transforms.compose import (
    BLOCKS,
    Block,
    BlockSpec,
    Step,
    fired_leaves,
    replay,
    run,
)

FAMILIES = ("geometric", "color", "noise", "occlusion", "weather", "composition")

__all__ = [
    "BLOCKS",
    "FAMILIES",
    "REGISTRY",
    "Block",
    "BlockSpec",
    "Step",
    "Transform",
    "fired_leaves",
    "replay",
    "run",
]
