"""What a recipe's medium decides before its sections are read: which medium its step names
belong to, and which ``input``/``output`` fields it has (``Medium.recipe_fields``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from augtool.media.params import Param

Sections = tuple[dict[str, Any], dict[str, Any]]
ToCore = Callable[[dict[str, Any], dict[str, Any]], Sections]
#: the input and output fields every medium has (the rest are the medium's own)
COMMON_INPUT = ("path", "layout", "follow_links", "licence", "require_licence", "allow_licences")
COMMON_OUTPUT = ("path", "originals", "strip_metadata", "hf_metadata", "provenance_tag")


def _no_core_settings(input_: dict[str, Any], output: dict[str, Any]) -> Sections:
    return {}, {}


def fields_of(
    medium: str, image_input: tuple[Param, ...], image_output: tuple[Param, ...]
) -> tuple[tuple[Param, ...], tuple[Param, ...], ToCore]:
    """The ``input`` and ``output`` fields of a recipe of ``medium``, and what turns its
    sections into the settings the core hands back to it (``formats``, ``max_pixels``,
    ``format``, ``quality``). Images have ``image_input`` and ``image_output``; another
    medium names its own (``recipe_fields``) beside the common ones."""
    if medium == "image":
        return image_input, image_output, _no_core_settings
    from augtool.media import registry

    found = registry.get(medium)
    own = getattr(found, "recipe_fields", None)
    if own is None:
        return image_input, image_output, _no_core_settings
    own_input, own_output = own()
    input_fields = (*(f for f in image_input if f.name in COMMON_INPUT), *own_input)
    output_fields = (*(f for f in image_output if f.name in COMMON_OUTPUT), *own_output)
    return input_fields, output_fields, getattr(found, "core_settings", _no_core_settings)


def _named(items: list[Any]) -> list[dict[str, Any]]:
    """The step names of a pipeline as written, in the normalised form (``[{name: config}]``,
    blocks' ``transforms`` opened); items of no known form are left out."""
    named: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            named.append({item: {}})
        elif isinstance(item, dict) and len(item) == 1:
            name, config = next(iter(item.items()))
            config = config if isinstance(config, dict) else {}
            children = config.get("transforms")
            if isinstance(children, list):
                config = {**config, "transforms": _named(children)}
            named.append({str(name): config})
    return named


def named_medium(pipeline: list[Any]) -> str:
    """The medium a pipeline's names belong to, known before its steps are built, so that a
    name two media share (``random_crop``) is built as the recipe's medium's. When the names
    say no one medium, the default: building the steps then says what is wrong."""
    from augtool.media import registry

    try:
        return registry.medium_of(_named(pipeline))
    except ValueError:
        return registry.DEFAULT


__all__ = ["COMMON_INPUT", "COMMON_OUTPUT", "fields_of", "named_medium"]
