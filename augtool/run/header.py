"""The manifest's header: what made the output, from the recipe, the dataset and the run."""

from __future__ import annotations

from collections import Counter
from typing import Any

from augtool import __version__
from augtool.layouts.discovery import Dataset
from augtool.manifest import SCHEMA, SCHEMA_VERSION, Header
from augtool.recipe import Recipe


def _folders(dataset: Dataset) -> dict[str, list[str]]:
    return {split: list(folders) for split, folders in dataset.split_folders}


def make_header(
    recipe: Recipe,
    dataset: Dataset,
    counts: Counter[str],
    libraries: dict[str, str],
    balance: dict[str, Any] | None = None,
    licences: dict[str, int] | None = None,
    shard: dict[str, int] | None = None,
    resources: dict[str, Any] | None = None,
) -> Header:
    """The header line; ``balance``, ``licences``, ``shard`` and ``resources`` only when the
    run has them."""
    return Header(
        schema=SCHEMA,
        schema_version=SCHEMA_VERSION,
        tool={"name": "augtool", "version": __version__},
        libraries=libraries,
        recipe=recipe.normalised,
        recipe_sha256=recipe.sha256,
        seed=recipe.seed,
        layout=dataset.layout,
        splits={
            "found": list(dataset.splits),
            "augmented": recipe.splits["augment"],
            **({"folders": _folders(dataset)} if dataset.split_folders else {}),
        },
        counts=dict(sorted(counts.items())),
        balance=balance,
        licences=licences,
        stripped=_stripped(recipe),
        shard=shard,
        resources=resources,
    )


#: what a stripped output leaves out of its source's metadata (its ICC profile is kept)
STRIPPED = ["exif", "gps", "maker_notes", "xmp", "iptc", "png_text"]


def _stripped(recipe: Recipe) -> dict[str, list[str]] | None:
    """What was stripped, with ``strip_metadata: originals_too`` (only then, so that other
    recipes keep their manifest bytes)."""
    if recipe.normalised["output"].get("strip_metadata") != "originals_too":
        return None
    return {"variants": list(STRIPPED), "originals": list(STRIPPED)}
