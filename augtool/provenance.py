"""``output.provenance_tag: true``: each variant's own metadata says that it is derived, from
which source (its sha256), by which recipe (its sha256) and which tool, so that a file carried
out of the dataset still says where it came from.

The tag travels in the encoder settings the manifest records for the variant (``provenance``:
the three values), so ``validate --recompute`` writes the very same bytes from the record
alone. Images carry it as an XMP packet (JPEG and WebP through Pillow's ``xmp``, PNG as the
standard ``XML:com.adobe.xmp`` iTXt chunk); WAV as a ``LIST/INFO`` chunk. The packet holds
no date, host or random id: the same tag is always the same bytes.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

from augtool.media.base import EncodeError

#: the encoder-settings key holding the tag
KEY = "provenance"
#: the XMP namespace of the tag's own properties
NAMESPACE = "https://augtool.dev/ns/provenance/1.0/"
#: the PNG iTXt keyword that XMP readers (exiftool, Pillow) look for
PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"


def provenance(source_sha256: str, recipe_sha256: str, tool: str) -> dict[str, str]:
    """The tag's values, as recorded in the encoder settings."""
    return {"recipe_sha256": recipe_sha256, "source_sha256": source_sha256, "tool": tool}


def xmp_packet(tag: dict[str, str]) -> bytes:
    """The tag as an XMP packet: ``dc:source`` names the source by its hash (a property
    every XMP reader knows), ``augtool:*`` holds each value on its own."""
    attributes = {
        "augtool:derived": "true",
        "augtool:sourceSha256": tag["source_sha256"],
        "augtool:recipeSha256": tag["recipe_sha256"],
        "augtool:tool": tag["tool"],
        "dc:source": f"sha256:{tag['source_sha256']}",
        "xmp:CreatorTool": tag["tool"],
    }
    from xml.sax.saxutils import quoteattr  # here: it imports urllib, which a run rarely needs

    described = " ".join(f"{k}={quoteattr(v)}" for k, v in attributes.items())
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about=""'
        f' xmlns:augtool="{NAMESPACE}"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        f" {described}/>"
        "</rdf:RDF></x:xmpmeta>"
        '<?xpacket end="r"?>'
    )
    return text.encode("utf-8")


def comment(tag: dict[str, str]) -> str:
    """The tag in one line of text, for containers that hold text only (WAV's INFO)."""
    return (
        f"derived by {tag['tool']} from source sha256 {tag['source_sha256']} "
        f"with recipe sha256 {tag['recipe_sha256']}"
    )


def tag_png(data: bytes, tag: dict[str, str]) -> bytes:
    """``data`` (a PNG) with the XMP packet in an uncompressed iTXt chunk right after IHDR."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise EncodeError("provenance_tag: the encoder did not write a PNG")
    end = 8 + 8 + struct.unpack(">I", data[8:12])[0] + 4
    # keyword, NUL, compression flag and method (none), empty language and translated keyword
    payload = PNG_XMP_KEYWORD + b"\0\0\0\0\0" + xmp_packet(tag)
    chunk = _png_chunk(b"iTXt", payload)
    return data[:end] + chunk + data[end:]


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def tag_wav(data: bytes, tag: dict[str, str]) -> bytes:
    """``data`` (a RIFF WAVE) with a ``LIST/INFO`` chunk appended: ``ICMT`` (comment) holds
    :func:`comment`, ``ISFT`` (software) the tool; the RIFF size grows to match."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise EncodeError("provenance_tag: the encoder did not write a WAV")
    info = b"INFO" + _info(b"ICMT", comment(tag)) + _info(b"ISFT", tag["tool"])
    chunk = b"LIST" + struct.pack("<I", len(info)) + info
    body = data[8:] + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _info(kind: bytes, text: str) -> bytes:
    """An INFO sub-chunk: NUL-terminated text, padded to an even size."""
    value = text.encode("utf-8") + b"\0"
    pad = b"\0" if len(value) & 1 else b""
    return kind + struct.pack("<I", len(value)) + value + pad


def split_tag(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str] | None]:
    """The encoder settings without the tag, and the tag (None when there is none)."""
    if KEY not in settings:
        return settings, None
    rest = {k: v for k, v in settings.items() if k != KEY}
    return rest, settings[KEY]
