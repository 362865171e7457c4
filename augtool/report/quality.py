"""Quality findings: data-quality issues of a dataset (named as cleanvision names them) and
over-augmented variants of an expansion, by the thresholds of
:class:`~augtool.report.thresholds.Thresholds`.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from typing import Any

import numpy as np

from augtool.report.model import Side, Variant
from augtool.report.thresholds import Thresholds

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

#: How many of the lowest-SSIM variants a report names (the HTML page's grid).
LOWEST = 12
#: Fewer sources than this give quartiles too unsteady to call anything out of distribution.
OOD_MIN_SOURCES = 20
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
    lowest = heapq.nsmallest(LOWEST, scored, key=lambda v: (v.ssim, v.path))
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
        "lowest_ssim": [
            {"path": v.path, "source": v.source, "mix": v.mix, "ssim": v.ssim} for v in lowest
        ],
        **listed,
    }


def _value(side: Side, key: str, at: int) -> float:
    value = side.numeric[key][at]
    return float(np.log1p(value)) if key == "sharpness" else value


def _fences(side: Side, k: float) -> dict[str, tuple[float, float]]:
    if side.count < OOD_MIN_SOURCES:
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
