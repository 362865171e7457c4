"""Quality findings: data-quality issues of a dataset (named as cleanvision names them) and
over-augmented variants of an expansion.

Every threshold is a field of :class:`Thresholds`, with its default and the reason for it; a
report takes others from the command line (``--quality min_ssim=0.3``) or from a ``quality:``
mapping in the recipe a manifest embeds.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from augtool.errors import UsageError
from augtool.report.model import Side, Variant


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
    #: brightness, contrast, log sharpness, colourfulness or entropy is out of distribution.
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


def parse_overrides(items: list[str]) -> dict[str, str]:
    """``["min_ssim=0.3"]`` -> ``{"min_ssim": "0.3"}``."""
    found = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError("{quality} {value!r}: expected NAME=VALUE", value=item)
        found[key.strip()] = value.strip()
    return found


# ---- data-quality issues of one side ---------------------------------------------------------


def issues(side: Side, limits: Thresholds) -> dict[str, list[Any]]:
    """Each issue's files: blurry, dark, light, low_information, odd_aspect_ratio (paths),
    exact_duplicates and near_duplicates (groups of paths)."""
    n = side.numeric
    aspect = np.asarray(n["aspect"]) if side.count else np.zeros(0)
    shape = np.minimum(aspect, 1 / np.maximum(aspect, 1e-9))
    checks = {
        "blurry": np.asarray(n["sharpness"]) < limits.blurry,
        "dark": np.asarray(n["luma_p99"]) < limits.dark,
        "light": np.asarray(n["luma_p05"]) > limits.light,
        "low_information": np.asarray(n["entropy"]) < limits.low_information,
        "odd_aspect_ratio": shape < limits.odd_aspect,
    }
    found: dict[str, list[Any]] = {
        name: [side.paths[i] for i in np.flatnonzero(mask)] for name, mask in checks.items()
    }
    exact = _groups_by_key(side.pixel_shas)
    found["exact_duplicates"] = [[side.paths[i] for i in g] for g in exact]
    in_exact = {i for g in exact for i in g[1:]}
    near = near_duplicates(side.dhashes, limits.near_duplicate_bits, skip=in_exact)
    found["near_duplicates"] = [[side.paths[i] for i in g] for g in near]
    return found


def _groups_by_key(keys: list[str]) -> list[list[int]]:
    by_key: dict[str, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        by_key[key].append(index)
    return [g for g in by_key.values() if len(g) > 1]


def near_duplicates(hashes: list[int], bits: int, skip: set[int] | None = None) -> list[list[int]]:
    """Groups (by index) of hashes at most ``bits`` apart, found without comparing all pairs:
    split into ``bits + 1`` bands, two hashes that close agree on at least one band (the
    pigeonhole principle), so only hashes sharing a band are compared."""
    skip = skip or set()
    bands = bits + 1
    edges = [round(64 * b / bands) for b in range(bands + 1)]
    parent = list(range(len(hashes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for band in range(bands):
        lo, hi = edges[band], edges[band + 1]
        mask = (1 << (hi - lo)) - 1
        buckets: dict[int, list[int]] = defaultdict(list)
        for index, value in enumerate(hashes):
            if index not in skip:
                buckets[(value >> lo) & mask].append(index)
        for members in buckets.values():
            for a_pos, a in enumerate(members):
                for b in members[a_pos + 1 :]:
                    if root(a) != root(b) and (hashes[a] ^ hashes[b]).bit_count() <= bits:
                        parent[root(b)] = root(a)
    groups: dict[int, list[int]] = defaultdict(list)
    for index in range(len(hashes)):
        if index not in skip:
            groups[root(index)].append(index)
    return [g for g in groups.values() if len(g) > 1]


# ---- over-augmentation -----------------------------------------------------------------------

_OOD_STATS = ("brightness", "contrast", "sharpness", "colourfulness", "entropy")


def over_augmentation(
    sources: Side, expanded: Side, variants: list[Variant], limits: Thresholds
) -> dict[str, Any]:
    """Each variant's verdict, summarised per step mix, with the flagged variants listed."""
    index = {path: i for i, path in enumerate(expanded.paths)}
    fences = _fences(sources, limits.ood_iqr)
    listed: dict[str, list[dict[str, Any]]] = {
        "over_augmented": [],
        "near_blank": [],
        "near_identical": [],
        "out_of_distribution": [],
    }
    mixes: dict[str, list[float]] = defaultdict(list)
    flagged_by_mix: dict[str, int] = defaultdict(int)
    flagged = 0
    for variant in variants:
        at = index.get(variant.path)
        if at is None:
            continue  # unreadable: listed with the side
        entry = {
            "path": variant.path,
            "source": variant.source,
            "mix": variant.mix,
            "ssim": variant.ssim,
        }
        bad = False
        if variant.ssim is not None:
            mixes[variant.mix].append(variant.ssim)
            if variant.ssim < limits.min_ssim:
                listed["over_augmented"].append(entry)
                bad = True
            elif variant.ssim >= limits.near_identical_ssim:
                listed["near_identical"].append(entry)
        if expanded.numeric["contrast"][at] < limits.blank_contrast:
            listed["near_blank"].append(entry)
            bad = True
        outside = [k for k, (lo, hi) in fences.items() if not lo <= _value(expanded, k, at) <= hi]
        if outside:
            listed["out_of_distribution"].append({**entry, "statistics": outside})
            bad = True
        flagged += bad
        flagged_by_mix[variant.mix] += bad
    for key in listed:
        listed[key].sort(key=lambda e: (e["ssim"] is None, e["ssim"] or 0.0, e["path"]))
    scored = [v for v in variants if v.ssim is not None]
    share = flagged / len(variants) if variants else 0.0
    return {
        "variants": len(variants),
        "mean_ssim": float(np.mean([v.ssim for v in scored])) if scored else None,
        "flagged": flagged,
        "share": share,
        "verdict": share > limits.max_over_augmented,
        "mixes": sorted(
            (
                {
                    "mix": mix,
                    "count": len(values),
                    "mean_ssim": float(np.mean(values)),
                    "min_ssim": float(np.min(values)),
                    "flagged": flagged_by_mix[mix],
                }
                for mix, values in mixes.items()
            ),
            key=lambda m: (-m["count"], m["mix"]),
        ),
        **listed,
    }


def _value(side: Side, key: str, at: int) -> float:
    value = side.numeric[key][at]
    return float(np.log1p(value)) if key == "sharpness" else value


def _fences(side: Side, k: float) -> dict[str, tuple[float, float]]:
    if side.count < 4:  # too few sources for quartiles to mean anything
        return {}
    fences = {}
    for key in _OOD_STATS:
        values = np.asarray(side.numeric[key], dtype=np.float64)
        if key == "sharpness":
            values = np.log1p(values)
        q1, q3 = np.percentile(values, [25, 75])
        iqr = max(q3 - q1, 1e-6 + 0.01 * abs(float(np.median(values))))
        fences[key] = (q1 - k * iqr, q3 + k * iqr)
    return fences
