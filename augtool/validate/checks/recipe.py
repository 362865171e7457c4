"""The header's recipe hash matches the recipe embedded beside it."""

from __future__ import annotations

from typing import Any

from augtool.canonical import canonical_sha256
from augtool.validate.report import Findings


def check_recipe_hash(found: Findings, manifest: str, header: dict[str, Any]) -> None:
    expected = header.get("recipe_sha256")
    hashed = canonical_sha256(header.get("recipe"))
    if not isinstance(expected, str) or expected.lower() != hashed:
        found.add(
            "recipe",
            f"{manifest}:1",
            f"FAILED recipe sha256 expected={expected} found={hashed}; "
            "the embedded recipe is not the one hashed",
        )
