"""Drift between two sides, statistic by statistic, with Evidently's default tests.

Evidently (``DataDriftPreset``) picks a test per column from the reference's size and the
column's kind; augtool uses the same rules and thresholds, so a verdict here means what it
means there:

- reference with at most 1,000 values: a numeric column (more than 5 distinct values) gets the
  two-sample Kolmogorov-Smirnov test, drift when p < 0.05; a categorical one (or a numeric one
  with at most 5 distinct values) the chi-squared test, drift when p < 0.05;
- more than 1,000: numeric, the Wasserstein distance normed by the reference's standard
  deviation (at least 0.001), drift when >= 0.1; categorical, the Jensen-Shannon distance
  between the two sides' frequencies, drift when >= 0.1;
- the dataset drifts when at least half (0.5) of the statistics tested drift.

A category present on one side only (a new class, a new format) makes a chi-squared test's
expected count zero; it is reported as drift with p = 0, which is what the test tends to.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

#: Evidently's defaults, stated in the report.
SMALL = 1000
P_VALUE = 0.05
DISTANCE = 0.1
DRIFT_SHARE = 0.5
NUMERIC_MIN_UNIQUE = 6  # a numeric column with at most 5 distinct values is tested as categorical

RULES = (
    f"Evidently's defaults: reference of <= {SMALL} values: numeric -> Kolmogorov-Smirnov, "
    f"categorical -> chi-squared, drift when p < {P_VALUE}; more values: numeric -> Wasserstein "
    f"distance / reference std, categorical -> Jensen-Shannon distance, drift when >= {DISTANCE}; "
    f"the dataset drifts when >= {DRIFT_SHARE:.0%} of the statistics drift"
)


@dataclass(frozen=True)
class DriftResult:
    statistic: str
    test: str  # ks, chi2, wasserstein, jensenshannon, or "" when not tested
    score: float | None  # the p-value or the distance
    threshold: float
    drift: bool
    reference: int
    current: int
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "statistic": self.statistic,
            "test": self.test,
            "score": self.score,
            "threshold": self.threshold,
            "drift": self.drift,
            "rows": [self.reference, self.current],
            **({"note": self.note} if self.note else {}),
        }


def column_drift(name: str, kind: str, reference: list[Any], current: list[Any]) -> DriftResult:
    """The drift verdict of one statistic (``kind``: numeric or categorical)."""
    import numpy as np

    n_ref, n_cur = len(reference), len(current)
    if n_ref < 2 or n_cur < 2:
        return DriftResult(name, "", None, 0.0, False, n_ref, n_cur, "too few values to test")
    if kind == "numeric" and len(set(reference) | set(current)) < NUMERIC_MIN_UNIQUE:
        kind = "categorical"
    if kind == "numeric":
        ref = np.asarray(reference, dtype=np.float64)
        cur = np.asarray(current, dtype=np.float64)
        if n_ref <= SMALL:
            return _ks(name, ref, cur)
        return _wasserstein(name, ref, cur)
    ref_counts = Counter(str(v) for v in reference)
    cur_counts = Counter(str(v) for v in current)
    if n_ref <= SMALL:
        return _chi2(name, ref_counts, cur_counts, n_ref, n_cur)
    return _jensenshannon(name, ref_counts, cur_counts, n_ref, n_cur)


def _ks(name: str, ref: Any, cur: Any) -> DriftResult:
    from scipy.stats import ks_2samp

    p = float(ks_2samp(ref, cur).pvalue)
    return DriftResult(name, "ks", p, P_VALUE, p < P_VALUE, len(ref), len(cur))


def _wasserstein(name: str, ref: Any, cur: Any) -> DriftResult:
    import numpy as np
    from scipy.stats import wasserstein_distance

    norm = max(float(np.std(ref)), 0.001)
    distance = float(wasserstein_distance(ref, cur)) / norm
    return DriftResult(
        name, "wasserstein", distance, DISTANCE, distance >= DISTANCE, len(ref), len(cur)
    )


def _chi2(name: str, ref: Counter[str], cur: Counter[str], n_ref: int, n_cur: int) -> DriftResult:
    import numpy as np
    from scipy.stats import chisquare

    keys = sorted(set(ref) | set(cur))
    new = [k for k in keys if ref[k] == 0]
    if new:
        note = f"only in the current side: {', '.join(new[:5])}"
        return DriftResult(name, "chi2", 0.0, P_VALUE, True, n_ref, n_cur, note)
    if len(keys) < 2:
        return DriftResult(name, "chi2", 1.0, P_VALUE, False, n_ref, n_cur, "one category")
    observed = np.array([cur[k] for k in keys], dtype=np.float64)
    expected = np.array([ref[k] for k in keys], dtype=np.float64) * (n_cur / n_ref)
    p = float(chisquare(observed, expected).pvalue)
    return DriftResult(name, "chi2", p, P_VALUE, p < P_VALUE, n_ref, n_cur)


def _jensenshannon(
    name: str, ref: Counter[str], cur: Counter[str], n_ref: int, n_cur: int
) -> DriftResult:
    import numpy as np
    from scipy.spatial.distance import jensenshannon

    keys = sorted(set(ref) | set(cur))
    p = np.array([ref[k] for k in keys], dtype=np.float64) / n_ref
    q = np.array([cur[k] for k in keys], dtype=np.float64) / n_cur
    distance = float(jensenshannon(p, q))
    return DriftResult(
        name, "jensenshannon", distance, DISTANCE, distance >= DISTANCE, n_ref, n_cur
    )


def overall(results: list[DriftResult]) -> tuple[bool, float]:
    """Whether the dataset drifts, and the share of tested statistics that drift."""
    tested = [r for r in results if r.test]
    if not tested:
        return False, 0.0
    share = sum(r.drift for r in tested) / len(tested)
    return share >= DRIFT_SHARE, share
