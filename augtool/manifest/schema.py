"""The JSON Schema (draft 2020-12) of one manifest line, generated from the record types.

The package ships it as ``manifest.schema.json`` (and ``docs/manifest.schema.json``), so a
manifest can be checked without augtool; a test keeps both files equal to :func:`line_schema`.
Regenerate them with ``python -m augtool.manifest.schema``.
"""

from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal

from augtool.manifest.records import (
    RECORD_TYPES,
    SCHEMA,
    SCHEMA_VERSION,
    SourceRef,
    fields_of,
)

SCHEMA_FILE = Path(__file__).with_name("manifest.schema.json")


def line_schema() -> dict[str, Any]:
    """The schema a manifest line validates against: one of the record types, by ``type``."""
    defs = {"source": _object_schema(SourceRef, None)}
    for cls in RECORD_TYPES:
        defs[cls.TYPE] = _object_schema(cls, cls.TYPE)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"A line of an augtool manifest ({SCHEMA}, version {SCHEMA_VERSION})",
        "type": "object",
        "required": ["type"],
        "oneOf": [{"$ref": f"#/$defs/{cls.TYPE}"} for cls in RECORD_TYPES],
        "$defs": defs,
    }


def schema_text() -> str:
    """The schema as the shipped files hold it."""
    return json.dumps(line_schema(), indent=2, sort_keys=True) + "\n"


def _object_schema(cls: type, tag: str | None) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    if tag is not None:
        properties["type"] = {"const": tag}
        required.append("type")
    for name, hint, needed in fields_of(cls):
        if needed:
            required.append(name)
            properties[name] = _type_schema(hint)
        else:  # optional: absent rather than null
            properties[name] = _type_schema(_without_none(hint))
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    doc = (cls.__doc__ or "").split("\n\n")[0]
    if doc:
        schema["description"] = " ".join(doc.split())
    return schema


def _without_none(hint: Any) -> Any:
    arms = [arm for arm in typing.get_args(hint) if arm is not type(None)]
    return arms[0] if len(arms) == 1 else hint


def _type_schema(hint: Any) -> dict[str, Any]:
    if hint is Any:
        return {}
    if hint is SourceRef:
        return {"$ref": "#/$defs/source"}
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return {"anyOf": [_type_schema(arm) for arm in typing.get_args(hint)]}
    if origin is Literal:
        return {"enum": list(typing.get_args(hint))}
    simple = {int: "integer", str: "string", type(None): "null"}
    if hint in simple:
        return {"type": simple[hint]}
    if origin is list:
        return {"type": "array", "items": _type_schema(typing.get_args(hint)[0])}
    if origin is dict:
        item = typing.get_args(hint)[1]
        return {
            "type": "object",
            **({} if item is Any else {"additionalProperties": _type_schema(item)}),
        }
    raise TypeError(f"no schema for {hint!r}")


def main(argv: list[str]) -> int:
    """Write the schema to the given files (the package's by default)."""
    for target in argv or [str(SCHEMA_FILE)]:
        Path(target).write_text(schema_text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
