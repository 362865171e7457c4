"""``augtool recipe import``: a pipeline saved by Albumentations (``A.save``) as an augtool recipe.

Reads the JSON or YAML that ``A.save`` writes (1.x dotted class paths and 2.x short names),
turns ``Compose``/``Sequential`` into steps or ``sequence``, ``OneOf`` into ``one_of``,
``SomeOf`` into ``some_of``, ``bbox_params`` into ``targets``, keeps ``p`` at every level, and
converts each transform both tools have (:mod:`augtool.recipe.albu_transforms`). Whatever it
cannot carry over is named, with the nearest augtool setting; the caller refuses the result
(exit 1) unless partial results are allowed.

Albumentations' ``SomeOf`` picks its children uniformly and then applies each with its own
``p``; augtool's ``some_of`` picks with the children's ``p`` as weights and applies what it
picked. So a child whose ``p`` is below 1 is wrapped in a ``sequence`` of ``p`` 1 (an equal
weight) holding the child with its ``p``: the same draw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from augtool.errors import AugtoolError
from augtool.recipe.albu_geometry import GEOMETRY_CONVERTERS
from augtool.recipe.albu_pixel import PIXEL_CONVERTERS
from augtool.recipe.albu_transforms import CONVERTERS, NEAREST, Notes, Params

BLOCKS = {"Compose", "Sequential", "OneOf", "SomeOf"}


class ImportError_(AugtoolError):
    """The file is not a pipeline Albumentations saved (exit 2)."""


@dataclass
class Imported:
    """The converted recipe (a mapping) and what could not be carried over."""

    recipe: dict[str, Any]
    lost: list[str]
    notes: list[str]
    version: str


def read_saved(path: Path) -> dict[str, Any]:
    """The document ``A.save`` wrote, JSON or YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportError_(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        document = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ImportError_(f"{path}: not JSON or YAML: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("transform"), dict):
        raise ImportError_(
            f"{path}: not a pipeline saved by Albumentations (A.save): no 'transform' mapping"
        )
    return document


def short_name(transform: dict[str, Any]) -> str:
    """``HorizontalFlip`` from 2.x's short name or 1.x's dotted class path."""
    return str(transform.get("__class_fullname__", "?")).rpartition(".")[2]


def convert(document: dict[str, Any]) -> Imported:
    """The recipe for a saved pipeline."""
    notes = Notes()
    top = document["transform"]
    recipe: dict[str, Any] = {"version": 1}
    notes.where = "Compose"
    if top.get("seed") is not None:
        recipe["seed"] = int(top["seed"])
        notes.note("Compose.seed became the recipe's seed (augtool draws differently)")
    targets = _targets(top, notes)
    if targets:
        recipe["targets"] = targets
    if short_name(top) in BLOCKS:
        steps = _children(top, "pipeline", notes)
        p = float(top.get("p", 1.0))
        if p < 1 or short_name(top) != "Compose":
            steps = [_block(top, steps)]
    else:  # a single transform saved on its own
        steps = [step for step in [_step(top, "pipeline[0]", notes)] if step]
    recipe["pipeline"] = steps
    return Imported(recipe, notes.lost, notes.notes, str(document.get("__version__", "?")))


def _targets(top: dict[str, Any], notes: Notes) -> dict[str, Any]:
    targets: dict[str, Any] = {}
    boxes = top.get("bbox_params")
    if isinstance(boxes, dict):
        params = Params("bbox_params", boxes, notes)
        targets["bbox"] = {
            "min_visibility": float(params.get("min_visibility", 0.0)),
            "min_area": float(params.get("min_area", 0.0)),
        }
        if params.get("format") not in (None, "yolo", "coco"):
            notes.note(f"bbox_params.format {boxes['format']!r}: augtool reads the layout's boxes")
        params.neutral(
            label_fields=(None, [], ["class_labels"], ["labels"], ["category_ids"]),
            min_width=(0, 0.0),
            min_height=(0, 0.0),
            check_each_transform=True,
            clip=(False, True),
            max_accept_ratio=None,
            filter_invisible=True,
        )
        params.done()
    points = top.get("keypoint_params")
    if isinstance(points, dict):
        notes.note(
            "keypoint_params: keypoints move with every geometric step; one that leaves the "
            "image is kept as invisible (0, 0, 0) in COCO"
        )
    extra = top.get("additional_targets") or {}
    if extra:
        notes.lose(f"additional_targets {sorted(extra)}", "the layout's own targets")
    return targets


def _children(block: dict[str, Any], where: str, notes: Notes) -> list[dict[str, Any]]:
    steps = []
    for index, child in enumerate(block.get("transforms") or []):
        step = _step(child, f"{where}[{index}]", notes)
        if step is not None:
            steps.append(step)
    return steps


def _block(block: dict[str, Any], steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {"sequence": {"p": float(block.get("p", 1.0)), "transforms": steps}}


def _step(transform: dict[str, Any], where: str, notes: Notes) -> dict[str, Any] | None:
    name = short_name(transform)
    notes.where = f"{where} {name}"
    if name in BLOCKS:
        return _composition(name, transform, where, notes)
    converter = CONVERTERS.get(name) or GEOMETRY_CONVERTERS.get(name) or PIXEL_CONVERTERS.get(name)
    if converter is None:
        nearest = NEAREST.get(name)
        if name in NEAREST and nearest is None:
            notes.lose(f"{name} is a training-time step; keep it in your training pipeline")
        else:
            notes.lose(f"{name} has no augtool transform", nearest)
        return None
    params = Params(name, transform, notes)
    try:
        step_name, config = converter(params)
    except (TypeError, ValueError, KeyError, IndexError) as exc:  # a value of another form
        notes.lose(f"{name}: parameters not understood ({type(exc).__name__}: {exc})")
        return None
    params.done()
    return {step_name: {**config, "p": float(transform.get("p", 1.0))}}


def _composition(
    name: str, block: dict[str, Any], where: str, notes: Notes
) -> dict[str, Any] | None:
    steps = _children(block, f"{where} {name}", notes)
    notes.where = f"{where} {name}"
    if not steps:
        notes.lose(f"{name} with nothing left to convert in it")
        return None
    p = float(block.get("p", 1.0))
    if name in ("Compose", "Sequential"):
        return _block(block, steps)
    if name == "OneOf":
        return {"one_of": {"p": p, "transforms": steps}}
    n = int(block.get("n", 1))
    if block.get("replace", False):
        notes.lose("SomeOf.replace = True (a child picked twice)", "some_of, each child once")
    weighted = [_equal_weight(step) for step in steps]
    return {"some_of": {"p": p, "n": [min(n, len(steps))] * 2, "transforms": weighted}}


def _equal_weight(step: dict[str, Any]) -> dict[str, Any]:
    """A child as Albumentations' SomeOf treats it: picked with the others' odds, then fired
    with its own p."""
    ((_, config),) = step.items()
    if config.get("p", 1.0) >= 1.0:
        return step
    return {"sequence": {"p": 1.0, "transforms": [step]}}


def recipe_text(imported: Imported, source: str) -> str:
    """The recipe as YAML, with a head saying where it came from and what was left out."""
    lines = [
        "# yaml-language-server: $schema=recipe.schema.json",
        f"# Imported by 'augtool recipe import' from {source} (Albumentations {imported.version}).",
        "# Set input.path and output.path (or give INPUT and -o OUT), then: augtool preview",
    ]
    for title, items in (("Left out", imported.lost), ("Changed", imported.notes)):
        if items:
            lines.append(f"# {title}:")
            lines += [f"#   - {item}" for item in items]
    body = yaml.safe_dump(imported.recipe, sort_keys=False, default_flow_style=None, width=100)
    return "\n".join(lines) + "\n" + body


def import_file(path: Path) -> Imported:
    return convert(read_saved(path))
