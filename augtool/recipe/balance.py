"""The recipe's ``balance:`` section: per-class variant counts in place of ``variants``
(docs/governance.md), checked here; :mod:`augtool.run.balance` turns it into a count per source.

The vocabulary is imbalanced-learn's: ``strategy`` says which classes grow (``not_majority``,
``all``, ``minority``, or a mapping of class to the count it should reach), ``target`` how
many examples each chosen class should reach (``max``: the largest class's), and
``max_variants`` the most variants any one source may get.
"""

from __future__ import annotations

from typing import Any

from augtool.recipe.yaml_source import Located

STRATEGIES = ("not_majority", "all", "minority")
KEYS = ("strategy", "target", "max_variants")
#: the most variants a source gets when the recipe does not say (``variants``' own bound)
MAX_VARIANTS = 100
LIMIT = 10_000


def parse_balance(doc: Located, value: Any) -> dict[str, Any] | None:
    """The normalised ``balance:`` section, or ``None`` when the recipe has none."""
    if value is None:
        return None
    where = ("balance",)
    if not isinstance(value, dict):
        raise doc.error(where, f"balance: expected a mapping of {', '.join(KEYS)}")
    unknown = [key for key in value if key not in KEYS]
    if unknown:
        raise doc.error(
            (*where, unknown[0]),
            f"unknown balance key {unknown[0]!r}; expected one of {', '.join(KEYS)}",
            at_key=True,
        )
    strategy = value.get("strategy", "not_majority")
    if isinstance(strategy, dict):
        if not strategy:
            raise doc.error((*where, "strategy"), "balance.strategy: name at least one class")
        for name, count in strategy.items():
            if not _count(count, 0):
                raise doc.error(
                    (*where, "strategy", name),
                    f"balance.strategy.{name}: expected a count of examples from 0 to {LIMIT}",
                )
        strategy = {str(name): strategy[name] for name in sorted(strategy, key=str)}
    elif strategy not in STRATEGIES:
        raise doc.error(
            (*where, "strategy"),
            f"balance.strategy: expected one of {', '.join(STRATEGIES)} or a mapping of "
            f"class to count, got {strategy!r}",
        )
    target = value.get("target", "max")
    if target != "max" and not _count(target, 1):
        raise doc.error(
            (*where, "target"), f"balance.target: expected 'max' or a count from 1 to {LIMIT}"
        )
    most = value.get("max_variants", MAX_VARIANTS)
    if not _count(most, 0):
        raise doc.error(
            (*where, "max_variants"), f"balance.max_variants: expected a count from 0 to {LIMIT}"
        )
    return {"strategy": strategy, "target": target, "max_variants": most}


def _count(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= LIMIT
