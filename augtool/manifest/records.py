"""The records of a manifest, one class per line type: :class:`Header`, :class:`FileRecord`,
:class:`Skipped` and :class:`Footer`.

Each is a frozen dataclass whose fields are the keys of its JSON line. A field without a default
is always written (``None`` as ``null``); a field with a default is optional and left out of the
line when ``None``, so a record's :meth:`to_json` gives the very keys the line holds. The parts
that are free-form by nature (the normalised recipe, a step's sampled parameters, COCO
annotations) stay plain JSON values.

``from_json`` checks a parsed line against the field types and raises :class:`RecordError`
naming what is wrong; :mod:`augtool.manifest.schema` derives the JSON Schema from the same types.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

SCHEMA = "augtool.manifest"
SCHEMA_VERSION = 1

#: A JSON value of any shape (a recipe, a step's parameters, a COCO annotation).
JSON = Any
#: A record as its JSON object: what the journal and the worker pool carry (``to_json()``).
RecordDict = dict[str, Any]


class RecordError(ValueError):
    """A manifest line that is not a record of its type (a missing, unknown or mistyped key)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceRef:
    """The input file an output was derived from: its relative path and sha256."""

    path: str
    sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Header:
    """The first line: what made the output (versions, the normalised recipe, the seed, the
    input layout and splits) and the counts of the lines that follow."""

    TYPE: ClassVar[str] = "header"
    schema: Literal["augtool.manifest"]
    schema_version: int
    tool: dict[str, str]  # name, version
    libraries: dict[str, str]  # numpy, pillow (and opencv when it resamples)
    recipe: dict[str, JSON]
    recipe_sha256: str
    seed: int
    layout: str
    splits: dict[str, JSON]  # found (a list), augmented (the recipe's choice)
    counts: dict[str, int]
    #: per-class counts when the recipe balances classes: classes -> name -> before, target,
    #: after (absent without ``balance:``)
    balance: dict[str, JSON] | None = None
    #: how many sources each licence covers (absent when no source has one)
    licences: dict[str, int] | None = None
    #: with ``strip_metadata: originals_too``: what was stripped from the variants and from the
    #: originals (exif, gps, maker_notes, xmp, iptc, png_text); the ICC profile is kept
    stripped: dict[str, list[str]] | None = None
    #: a shard's partial manifest (``expand --shard K/N``): index (from 1) and count; absent
    #: from a whole run's, and from the one ``augtool merge`` writes
    shard: dict[str, int] | None = None
    #: the files the steps read besides the sources (``background_noise``'s folder): ``root``,
    #: the recipe's folder from the input folder, and ``files``, the sha256 of each by its
    #: path from there (absent when the steps read none)
    resources: dict[str, JSON] | None = None

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)

    @classmethod
    def from_json(cls, value: Any) -> Header:
        return _from_json(cls, value)


@dataclass(frozen=True, slots=True, kw_only=True)
class FileRecord:
    """A file the run wrote: an original or augmented image, a label file (``kind: label``),
    or a file of the dataset as a whole (``role: dataset``: a COCO JSON, ``data.yaml``)."""

    TYPE: ClassVar[str] = "file"
    path: str
    sha256: str
    bytes: int
    role: Literal["original", "augmented", "dataset"]
    split: str | None
    label: str | None
    source: SourceRef
    variant: int | None
    seed: int | None
    steps: list[dict[str, JSON]]
    #: label (a label file), annotations (a COCO JSON), dataset (``data.yaml``); absent: an image
    #: rows (the row table of a variant file of many rows, see docs/text.md)
    kind: Literal["label", "annotations", "dataset", "rows"] | None = None
    image: str | None = None  # a label file: the image it labels; a row table: its file
    #: a variant file of many rows (text): its row table's path, which holds the rows' steps
    rows: str | None = None
    #: an original image: how it was written (``normalize``: re-encoded, see ``encoder``)
    how: Literal["copy", "link", "normalize"] | None = None
    encoder: dict[str, JSON] | None = None
    image_size: list[int] | None = None  # (height, width)
    decoded: dict[str, JSON] | None = None  # format, mode, orientation, frames of the source
    metadata: Literal["kept", "stripped"] | None = None
    coco: dict[str, JSON] | None = None  # image entry, annotations, the hash they came from
    dropped: list[JSON] | None = None  # the objects the steps moved out (or made too small)
    flipped_labels: list[str] | None = None  # the classes a mirror swapped (flip pairs)
    clipped: list[JSON] | None = None  # label lines outside the image as read, clipped to it
    #: the examples a file holds (a text file's rows, in order): the first 16 hex digits of the
    #: sha256 of each one's content (then a space and its split, when a file holds several);
    #: validate reports one in two splits as leakage
    examples: list[str] | None = None
    #: an image's source's licence (an SPDX id) and author, where the input or recipe gives one
    licence: str | None = None
    author: str | None = None
    #: an image line: its source's 64-bit pHash (16 hex digits), recorded when the recipe names
    #: ``splits.on_leak``; validate compares sources across splits by it
    source_phash: str | None = None
    #: a label file or COCO JSON of a recipe with ``output.class_counts``: how many objects of
    #: each class it holds (:mod:`augtool.layouts.class_counts`); validate counts them again
    classes: dict[str, int] | None = None
    #: an output of synthesis steps (mixup, cutmix …): each partner source its steps took, in
    #: the steps' order, as ``{"path", "sha256"}``; a step's ``partners`` parameter indexes it
    partners: list[dict[str, str]] | None = None
    #: a class-folder output of synthesis steps: each class's share of the image (the
    #: source's and its partners' classes, summing to 1), the soft label to train on
    soft_label: dict[str, JSON] | None = None

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)

    @classmethod
    def from_json(cls, value: Any) -> FileRecord:
        return _from_json(cls, value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    """An input that was not used, and why (its sha256 when it was read)."""

    TYPE: ClassVar[str] = "skipped"
    path: str
    reason: str
    sha256: str | None

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)

    @classmethod
    def from_json(cls, value: Any) -> Skipped:
        return _from_json(cls, value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Footer:
    """The last line: the counts again, and the sha256 of every byte before it."""

    TYPE: ClassVar[str] = "footer"
    counts: dict[str, int]
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)

    @classmethod
    def from_json(cls, value: Any) -> Footer:
        return _from_json(cls, value)


Record = Header | FileRecord | Skipped | Footer
RECORD_TYPES: tuple[type[Header], type[FileRecord], type[Skipped], type[Footer]] = (
    Header,
    FileRecord,
    Skipped,
    Footer,
)
_BY_TYPE: dict[str, Any] = {cls.TYPE: cls for cls in RECORD_TYPES}


def parse_record(value: Any) -> Record:
    """The typed record of a parsed manifest line, whatever its type."""
    if not isinstance(value, dict):
        raise RecordError("not a JSON object")
    cls = _BY_TYPE.get(value.get("type"))
    if cls is None:
        raise RecordError(f"unknown record type {value.get('type')!r}")
    return cls.from_json(value)


def fields_of(cls: type) -> list[tuple[str, Any, bool]]:
    """(name, type, required) of each field of a record class, in declaration order; a field
    with a default is optional (left out of the line when ``None``)."""
    hints = _hints(cls)
    return [
        (f.name, hints[f.name], f.default is dataclasses.MISSING) for f in dataclasses.fields(cls)
    ]


# --- conversion ---------------------------------------------------------------------------------

_R = TypeVar("_R")
_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    found = _HINTS.get(cls)
    if found is None:
        # Slot descriptors named like builtins (``bytes``) must not shadow them: the module's
        # names only.
        found = _HINTS[cls] = typing.get_type_hints(cls, localns={})
    return found


def _to_json(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = {} if isinstance(record, SourceRef) else {"type": record.TYPE}
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if value is None and field.default is not dataclasses.MISSING:
            continue  # an optional key: absent from the line
        out[field.name] = _to_json(value) if isinstance(value, SourceRef) else value
    return out


def _from_json(cls: type[_R], value: Any) -> _R:
    if not isinstance(value, dict):
        raise RecordError("not a JSON object")
    tag = getattr(cls, "TYPE", None)
    if tag is not None and value.get("type") != tag:
        raise RecordError(f"'type' is {value.get('type')!r}, not {tag!r}")
    names = {"type"} if tag is not None else set()
    kwargs: dict[str, Any] = {}
    for name, hint, required in fields_of(cls):
        names.add(name)
        if name not in value:
            if required:
                raise RecordError(f"{tag or 'source'}: missing key {name!r}")
            continue
        where = f"{tag or 'source'}.{name}"
        if value[name] is None and not required:
            # written only when it has a value: a null would not survive the round trip
            raise RecordError(f"{where}: null, where an optional key is left out instead")
        kwargs[name] = _checked(value[name], hint, where)
    unknown = sorted(set(value) - names)
    if unknown:
        raise RecordError(f"{tag or 'source'}: unknown key(s) {', '.join(map(repr, unknown))}")
    return cls(**kwargs)


def _checked(value: Any, hint: Any, where: str) -> Any:
    """``value`` as the field's type wants it (a nested :class:`SourceRef` built), or a
    :class:`RecordError` naming the field."""
    if hint is SourceRef:
        try:
            return _from_json(SourceRef, value)
        except RecordError as exc:
            raise RecordError(f"{where}: {exc}") from None
    if not _matches(value, hint):
        raise RecordError(f"{where}: {_json_type(value)} {value!r:.60} is not {_describe(hint)}")
    return value


def _matches(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_matches(value, arm) for arm in typing.get_args(hint))
    if origin is Literal:
        return value in typing.get_args(hint) and type(value) is not bool
    if hint is type(None):
        return value is None
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if origin is dict:
        _, item = typing.get_args(hint)
        return isinstance(value, dict) and all(_matches(v, item) for v in value.values())
    raise TypeError(f"no check for {hint!r}")


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_describe(arm) for arm in typing.get_args(hint))
    if origin is Literal:
        return " or ".join(repr(v) for v in typing.get_args(hint))
    names = {int: "an integer", str: "a string", type(None): "null", Any: "any value"}
    if hint in names:
        return names[hint]
    return {list: "an array", dict: "an object"}.get(origin, repr(hint))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(
        type(value), "array" if isinstance(value, list) else "object"
    )
