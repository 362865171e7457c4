"""The thresholds of a report's quality findings, each with its default and the reason for it.

A report takes other values from a ``quality:`` mapping in the recipe a manifest embeds, then
from the command line (``--quality min_ssim=0.3``) or the API's ``quality=``. This module is
light (no numpy): the recipe loader checks a recipe's ``quality:`` names against it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from augtool.errors import UsageError


@dataclass(frozen=True)
class Thresholds:
    #: A variant whose SSIM to its source (or the mirrored source) on a 16 px grey thumbnail is
    #: below this has lost most of the source's structure: what a model learns from it is no
    #: longer the labelled object. On the bundled sample, the quickstart's crops and rotations
    #: put 7 % of the variants below 0.2, a recipe of crops to a tenth, blur and heavy noise 69 %.
    min_ssim: float = 0.2
    #: At or above this SSIM a variant is near-identical to its source (re-encoding noise, a
    #: slight tone change): it costs disk and weights its source twice while adding little.
    near_identical_ssim: float = 0.995
    #: A variant whose RMS contrast (luma std, 0-1) is below this is near-blank: about five
    #: grey levels of spread, a flat field (a crop into the sky, a dropout over the object).
    blank_contrast: float = 0.02
    #: Tukey's "far out" fences: a variant outside [Q1 - k IQR, Q3 + k IQR] of the sources on
    #: brightness, contrast, log sharpness, colourfulness or entropy is out of distribution
    #: (checked with at least 20 sources: fewer give quartiles too unsteady to judge by).
    ood_iqr: float = 3.0
    #: ``--fail-on over-augmentation`` trips when more than this share of the variants are
    #: over-augmented, near-blank or out of distribution: some are the tail of any random
    #: recipe of crops and rotations, a quarter is the recipe.
    max_over_augmented: float = 0.25
    #: Blurry: variance of the Laplacian (on the <= 512 px working copy) below this; sharp
    #: photos measure in the hundreds, a Gaussian blur of sigma 3 brings them under 20.
    blurry: float = 25.0
    #: Dark: even the brightest pixels (99th percentile of luma, 0-1) are below this.
    dark: float = 0.3
    #: Light: even the darkest pixels (5th percentile of luma, 0-1) are above this.
    light: float = 0.85
    #: Low information: luma entropy (bits) below this; a photo has 6-8, a flat or two-tone
    #: image under 2.
    low_information: float = 3.0
    #: Odd aspect ratio: the shorter side over the longer below this (about 1:3).
    odd_aspect: float = 0.35
    #: Near duplicates: 64-bit dHashes at most this many bits apart.
    near_duplicate_bits: int = 10

    @classmethod
    def with_overrides(cls, values: dict[str, Any]) -> Thresholds:
        """The defaults with ``values`` in their place; an unknown name is a UsageError."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        chosen: dict[str, Any] = {}
        for key, value in values.items():
            if key not in fields:
                raise UsageError(
                    "{quality} {value!r}: unknown threshold; expected one of {names}",
                    value=key,
                    names=", ".join(fields),
                )
            kind = int if fields[key].type in ("int", int) else float
            try:
                chosen[key] = kind(value)
            except (TypeError, ValueError):
                raise UsageError(
                    "{quality} {key}={value!r}: expected a number", key=key, value=value
                ) from None
        return cls(**chosen)

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def threshold_names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(Thresholds))


def parse_overrides(items: list[str]) -> dict[str, str]:
    """``["min_ssim=0.3"]`` -> ``{"min_ssim": "0.3"}``."""
    found = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError("{quality} {value!r}: expected NAME=VALUE", value=item)
        found[key.strip()] = value.strip()
    return found
