"""Seeded choices that belong to no medium: which records a check samples."""

from __future__ import annotations


def sample_indices(total: int, count: int, seed: int) -> list[int]:
    """``count`` distinct indices below ``total``, sorted, the same for the same seed."""
    import numpy as np  # here, not at import: the callers start without numpy

    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(total, size=count, replace=False))
