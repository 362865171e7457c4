"""The JSON Schema (draft 2020-12) of a recipe, for editors and other tools.

Generated from what the loader checks with: the recipe's sections (:mod:`augtool.recipe.fields`)
and every registered medium's transforms and blocks, each parameter described by its kind. An
editor with a YAML language server then completes and checks recipe keys as they are typed.

The schema says a recipe's shape. What it cannot say (``min <= max`` in a range, checks that
tie two parameters together, a split named in ``augment`` but not in ``names``) the loader
still checks, with the file, line and column: ``augtool validate recipe``.

``python -m augtool.recipe.schema FILE`` writes it (docs/recipe.schema.json by default).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from augtool.recipe import fields as recipe_fields
from augtool.recipe.fields import RECIPE_VERSION

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "recipe.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
Schema = dict[str, Any]

#: the recipe's sections: each a mapping of named parameters
SECTIONS = {
    "input": recipe_fields.INPUT_FIELDS,
    "output": recipe_fields.OUTPUT_FIELDS,
    "splits": recipe_fields.SPLIT_FIELDS,
    "targets": recipe_fields.TARGET_FIELDS,
}


def _bounded(kind: str, lo: float | None, hi: float | None) -> Schema:
    schema: Schema = {"type": kind}
    if lo is not None:
        schema["minimum"] = lo
    if hi is not None:
        schema["maximum"] = hi
    return schema


def _sides(n: int, item: Schema) -> Schema:
    return {"type": "array", "items": item, "minItems": n, "maxItems": n}


def _pair(item: Schema) -> Schema:
    return _sides(2, item)


def _range(kind: Any) -> Schema:
    item = _bounded("integer" if kind.integer else "number", kind.lo, kind.hi)
    if kind.around is None:
        single = item
    else:  # x means [around - x, around + x]: x >= 0, and the high end within hi
        hi = None if kind.hi is None else kind.hi - kind.around
        single = _bounded("number", 0, hi)
    return {"anyOf": [single, _pair(item)]}


def _names(kind: Any) -> Schema:
    names = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
    return {"anyOf": [{"type": "string", "minLength": 1}, {**names, "uniqueItems": True}]}


def _fill(alpha: bool) -> Schema:
    level = _bounded("integer", 0, 255)
    colour = {"type": "array", "items": level, "minItems": 3, "maxItems": 4 if alpha else 3}
    return {"anyOf": [level, colour]}


def _kinds() -> dict[type, Callable[[Any], Schema]]:
    """Each parameter kind's schema, by class (the image transforms' own kinds included)."""
    from augtool.media import params
    from augtool.media.image.transforms import crops, occlusion

    size = _bounded("integer", 1, None)
    return {
        params.Float: lambda k: _bounded("number", k.lo, k.hi),
        params.Int: lambda k: _bounded("integer", k.lo, k.hi),
        params.Range: _range,
        params.Size: lambda k: {"anyOf": [size, _pair(size)]},
        params.Choice: lambda k: {"enum": list(k.options)},
        params.Bool: lambda k: {"type": "boolean"},
        params.Fill: lambda k: _fill(k.alpha),
        params.IntSet: lambda k: {
            "anyOf": [
                {"enum": list(k.allowed)},
                {"type": "array", "items": {"enum": list(k.allowed)}, "minItems": 1},
            ]
        },
        crops.ResizeSize: lambda k: {"anyOf": [size, _pair(size)]},
        crops.Padding: lambda k: {
            "anyOf": [
                _bounded("integer", 0, None),
                *(_sides(n, _bounded("integer", 0, None)) for n in (2, 4)),
            ]
        },
        occlusion.EraseValue: lambda k: {"anyOf": [_fill(True), {"const": "random"}]},
        recipe_fields.StrList: _names,
        recipe_fields.FormatList: _names,
        recipe_fields.PathText: lambda k: {"type": ["string", "null"], "minLength": 1},
        recipe_fields.BoxRules: lambda k: {
            "type": ["object", "null"],
            "properties": {
                "min_visibility": _bounded("number", 0, 1),
                "min_area": _bounded("number", 0, None),
            },
            "additionalProperties": False,
        },
        recipe_fields.FlipPairs: lambda k: {
            "type": ["array", "null"],
            "items": _pair({"type": "string"}),
        },
    }


def kind_schema(kind: Any, kinds: dict[type, Callable[[Any], Schema]]) -> Schema | None:
    """The schema of one parameter kind: its own ``json_schema`` (a plug-in medium's kinds may
    carry one), else the table's; None for a kind neither knows (any value is let through,
    and the loader checks it)."""
    own = getattr(kind, "json_schema", None)
    if own is not None:
        return dict(own)
    made = kinds.get(type(kind))
    return None if made is None else made(kind)


def _param(param: Any, kinds: dict[type, Callable[[Any], Schema]]) -> Schema:
    schema = kind_schema(param.kind, kinds) or {}
    form = getattr(param.kind, "form", "")
    described = {"description": param.help + (f"; {form}" if form else "")}
    if param.default is not None:
        described["default"] = param.default
    return {**described, **schema}


def _mapping(fields: Iterable[Any], kinds: dict[type, Callable[[Any], Schema]]) -> Schema:
    """A mapping of ``fields``; a name several media give different forms takes any of them."""
    grouped: dict[str, list[Schema]] = {}
    for field in fields:
        made = _param(field, kinds)
        forms = grouped.setdefault(field.name, [])
        if made not in forms:
            forms.append(made)
    return {
        "type": ["object", "null"],
        "properties": {
            name: forms[0] if len(forms) == 1 else {"anyOf": forms}
            for name, forms in grouped.items()
        },
        "additionalProperties": False,
    }


def _sections() -> dict[str, list[Any]]:
    """Each section's fields: the image recipe's, with every other medium's own beside them
    (``Medium.recipe_fields``: audio's ``max_seconds``, ``subtype`` …)."""
    from augtool.media import registry

    sections = {name: list(fields) for name, fields in SECTIONS.items()}
    for medium in registry.media():
        own = getattr(medium, "recipe_fields", None)
        if own is not None:
            own_input, own_output = own()
            sections["input"] += own_input
            sections["output"] += own_output
    return sections


def _medium_sections(kinds: dict[type, Callable[[Any], Schema]]) -> Schema:
    """The top-level sections media add, named after them (``text: {protect: [...]}``)."""
    from augtool.media import registry

    found: Schema = {}
    for medium in registry.media():
        section = getattr(medium, "recipe_section", None)
        if section:
            found[medium.name] = _mapping(list(section), kinds)
    return found


def _shared_specs() -> dict[str, list[Any]]:
    """Each step name's specs, one per medium that has it (``random_crop``: image and audio)."""
    from augtool.media import registry

    found: dict[str, list[Any]] = {}
    for medium in registry.media():
        for name, spec in {**medium.transforms(), **medium.blocks()}.items():
            specs = found.setdefault(name, [])
            if all(spec is not known for known in specs):
                specs.append(spec)
    return found


def _steps() -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Every medium's transforms and blocks by name (the first medium's wins a shared name),
    and every ``kernels`` name."""
    from augtool.media import registry

    transforms: dict[str, Any] = {}
    blocks: dict[str, Any] = {}
    kernels: list[str] = []
    for medium in reversed(list(registry.media())):
        transforms.update(medium.transforms())
        blocks.update(medium.blocks())
    for medium in registry.media():
        kernels += [k for k in medium.kernel_names if k not in kernels]
    return transforms, blocks, kernels


def _step_defs(kinds: dict[type, Callable[[Any], Schema]]) -> Schema:
    transforms, blocks, _ = _steps()
    defs: Schema = {}
    shared = _shared_specs()
    for name, spec in sorted({**transforms, **blocks}.items()):
        params = [p for p in spec.all_params() if p.name != "transforms"]
        schema = {"description": spec.summary, **_mapping(params, kinds)}
        if len(shared[name]) > 1:  # one form per medium that names it
            forms = [_step_form(other, kinds) for other in shared[name]]
            defs[f"step.{name}"] = {"anyOf": forms}
            continue
        if name in blocks:
            schema["type"] = "object"
            schema["properties"]["transforms"] = {
                "description": "the child steps (a list, like pipeline)",
                "type": "array",
                "items": {"$ref": "#/$defs/step"},
                "minItems": 1,
            }
            schema["required"] = ["transforms"]
        defs[f"step.{name}"] = schema
    names = sorted({**transforms, **blocks})
    defs["step"] = {
        "description": "one step: '- name: {params}', or '- name' for its defaults",
        "anyOf": [
            {"enum": sorted(transforms)},
            *(
                {
                    "type": "object",
                    "properties": {name: {"$ref": f"#/$defs/step.{name}"}},
                    "required": [name],
                    "additionalProperties": False,
                }
                for name in names
            ),
        ],
    }
    return defs


def _step_form(spec: Any, kinds: dict[type, Callable[[Any], Schema]]) -> Schema:
    params = [p for p in spec.all_params() if p.name != "transforms"]
    return {"description": spec.summary, **_mapping(params, kinds)}


def _quality() -> Schema:
    """The ``quality:`` thresholds of ``augtool report``, each a number >= 0."""
    import dataclasses

    from augtool.report.thresholds import Thresholds

    return {
        "description": "thresholds augtool report judges the expansion by (docs/report.md)",
        "type": "object",
        "properties": {
            f.name: {"type": "number", "minimum": 0, "default": f.default}
            for f in dataclasses.fields(Thresholds)
        },
        "additionalProperties": False,
    }


def _balance() -> Schema:
    """The ``balance:`` section (augtool.recipe.balance): per-class variant counts."""
    from augtool.recipe.balance import LIMIT, MAX_VARIANTS, STRATEGIES

    count = {"type": "integer", "minimum": 0, "maximum": LIMIT}
    return {
        "description": "per-class variant counts in place of 'variants' (docs/governance.md)",
        "type": "object",
        "properties": {
            "strategy": {
                "description": "which classes grow, or class -> the count it should reach",
                "default": "not_majority",
                "oneOf": [
                    {"enum": list(STRATEGIES)},
                    {"type": "object", "additionalProperties": count, "minProperties": 1},
                ],
            },
            "target": {
                "description": "the count each chosen class reaches ('max': the largest's)",
                "default": "max",
                "oneOf": [{"const": "max"}, {**count, "minimum": 1}],
            },
            "max_variants": {
                "description": "the most variants any one source gets",
                "default": MAX_VARIANTS,
                **count,
            },
        },
        "additionalProperties": False,
    }


def recipe_schema() -> Schema:
    """The JSON Schema of a recipe file."""
    kinds = _kinds()
    _, _, kernels = _steps()
    properties: Schema = {
        "version": {"description": "the recipe format version", "const": RECIPE_VERSION},
        "seed": {
            "description": "the seed every variant's seed derives from",
            "default": 0,
            **_bounded("integer", recipe_fields.SEED.lo, recipe_fields.SEED.hi),
        },
        "variants": {
            "description": "augmented outputs per eligible source",
            "default": 4,
            "type": "integer",
            "minimum": 0,
            "maximum": 10_000,
        },
        "kernels": {"description": "which library resamples the warps", "enum": kernels},
        "pipeline": {
            "description": "the steps applied to each variant, in order",
            "type": ["array", "null"],
            "items": {"$ref": "#/$defs/step"},
        },
        "quality": _quality(),
        "balance": _balance(),
    }
    for name, fields in _sections().items():
        properties[name] = _mapping(fields, kinds)
    for name in recipe_fields.TOP_FIELDS:  # a key the loader knows and this module does not yet
        properties.setdefault(name, {})
    properties.update(_medium_sections(kinds))
    return {
        "$schema": DIALECT,
        "title": "augtool recipe",
        "description": "A recipe for 'augtool expand': see docs/recipe.md. "
        "'augtool validate recipe' checks what a schema cannot (min <= max, ...).",
        "type": "object",
        "properties": properties,
        "required": ["version"],
        "additionalProperties": False,
        "$defs": _step_defs(kinds),
    }


def schema_text() -> str:
    return json.dumps(recipe_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Write the schema to the given files (docs/recipe.schema.json by default)."""
    for target in argv or [str(SCHEMA_FILE)]:
        Path(target).write_text(schema_text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
