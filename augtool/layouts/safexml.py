"""XML read safely, with the standard library alone: expat, with any DOCTYPE refused.

An XML file in a dataset is data from anywhere. Entities are what make XML dangerous to read (an
"entity bomb" expands a few hundred bytes into gigabytes; an external entity reads a local file
or a URL into the document), and every entity is declared in a DOCTYPE. Label files (VOC,
CVAT) never need one, so a file with a DOCTYPE, an entity declaration or an external entity
reference is refused before anything is expanded: the expat handlers raise on the declaration
itself. This is what ``defusedxml`` does, without the dependency.

The tree is built with :class:`xml.etree.ElementTree.TreeBuilder` (comments kept), and written
back with :func:`to_bytes`: UTF-8, the input's XML declaration kept when it named UTF-8 (or no
encoding), text and tails as read.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from xml.parsers import expat


class UnsafeXML(ValueError):
    """An XML file that declares a DOCTYPE or entities, or that does not parse."""


@dataclass(frozen=True)
class Document:
    """A parsed XML file: its root element and its XML declaration (empty when it had none)."""

    root: ET.Element
    declaration: str


def _refuse(what: str) -> Callable[..., None]:
    def handler(*_: object) -> None:
        raise UnsafeXML(f"it declares {what}, which augtool does not read")

    return handler


def parse(data: bytes) -> Document:
    """The document of ``data``. Raises :class:`UnsafeXML` for a DOCTYPE, an entity
    declaration or reference, or XML that does not parse."""
    builder = ET.TreeBuilder(insert_comments=True)
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse("a DOCTYPE (where entities are declared)")
    parser.EntityDeclHandler = _refuse("an entity")
    parser.UnparsedEntityDeclHandler = _refuse("an unparsed entity")
    parser.ExternalEntityRefHandler = _refuse("an external entity")
    declaration: list[str] = []

    def xml_declaration(version: str | None, encoding: str | None, standalone: int) -> None:
        named = (encoding or "utf-8").lower().replace("_", "-")
        if named in ("utf-8", "utf8"):
            attrs = f' version="{version or "1.0"}"'
            if encoding:
                attrs += f' encoding="{encoding}"'
            if standalone != -1:
                attrs += f' standalone="{"yes" if standalone else "no"}"'
            declaration.append(f"<?xml{attrs}?>")
        else:  # written back as UTF-8, so it says so
            declaration.append('<?xml version="1.0" encoding="utf-8"?>')

    parser.XmlDeclHandler = xml_declaration
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.CommentHandler = builder.comment
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise UnsafeXML(f"not well-formed XML: {expat.ErrorString(exc.code)} "
                        f"(line {exc.lineno}, column {exc.offset})") from None  # fmt: skip
    return Document(builder.close(), declaration[0] if declaration else "")


def to_bytes(document: Document) -> bytes:
    """The document as UTF-8 bytes, its declaration (when it had one) on the first line."""
    body = ET.tostring(document.root, encoding="unicode")
    head = document.declaration + "\n" if document.declaration else ""
    return (head + body + "\n").encode("utf-8")


__all__ = ["Document", "UnsafeXML", "parse", "to_bytes"]
