"""The audio transform registry: every audio transform by name, grouped in families.

Importing this package imports every family module, which registers its transforms. The
composition blocks are the image medium's (``one_of``, ``some_of``, ``sequence``), with the
same rules.
"""

from __future__ import annotations

# Each family module registers its transforms when imported.
from augtool.media.audio.transforms import filters, level, noise, time  # noqa: F401
from augtool.media.audio.transforms.base import REGISTRY, AudioTransform, Clip
from augtool.media.audio.transforms.compose import CLIP, replay, run

FAMILIES = ("level", "noise", "time", "filter", "masking")

__all__ = ["CLIP", "FAMILIES", "REGISTRY", "AudioTransform", "Clip", "replay", "run"]
