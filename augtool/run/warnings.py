"""The warnings a run gives about its recipe and dataset together, before anything is written:
settings that would silently do nothing, or label objects wrongly."""

from __future__ import annotations

from augtool.layouts import registry
from augtool.layouts.discovery import Dataset
from augtool.layouts.unread import unread_warning
from augtool.media import registry as media
from augtool.recipe import Recipe
from augtool.run.balance import Balanced
from augtool.run.leak import Leaks


def dataset_warnings(
    recipe: Recipe, dataset: Dataset, balanced: Balanced | None, leaks: Leaks
) -> list[str]:
    """Every warning of the run's plan, in the order the summary prints them."""
    return [
        *unknown_flip_names(recipe, dataset),
        *copying_borders(recipe, dataset),
        *unread_warning(dataset),
        *(balanced.warnings if balanced else ()),
        *leaks.warnings,
    ]


def unknown_flip_names(recipe: Recipe, dataset: Dataset) -> list[str]:
    """A warning for each ``targets.flip_pairs`` name the dataset does not use (a class, a
    category or keypoint name, as its layout says): such a pair swaps nothing, silently."""
    pairs = recipe.targets["flip_pairs"]
    if not pairs:
        return []
    layout = registry.get(dataset.layout)
    known = layout.known_names(layout.vocabulary(dataset))
    unknown = [n for pair in pairs for n in pair if n not in known]
    if not unknown:
        return []
    names = ", ".join(repr(n) for n in dict.fromkeys(unknown))
    return [
        f"targets.flip_pairs names {names}, which the dataset ({dataset.layout}) does not name: "
        "those pairs swap nothing"
    ]


def copying_borders(recipe: Recipe, dataset: Dataset) -> list[str]:
    """A warning when a step that may fire uses a ``reflect`` or ``wrap`` border on a dataset
    with boxes or polygons: the border copies objects near the edge into the image, and no box
    or polygon labels the copies (a mask does: its pixels are copied alike)."""
    if not registry.get(dataset.layout).object_labels:
        return []
    found = media.get(recipe.medium).copying_steps(recipe.steps)
    if not found:
        return []
    named = ", ".join(f"{name} (border: {border})" for name, border in dict.fromkeys(found))
    return [
        f"{named} copies image content across the border: mirrored or wrapped copies of objects "
        f"near the edge appear with no label ({dataset.layout} boxes and polygons label only the "
        "moved originals); use border: constant (the default) or replicate for detection data"
    ]
