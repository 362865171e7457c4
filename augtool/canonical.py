"""Canonical JSON: one value, one text. Recipe hashes and manifest lines are both made of it.

Kept free of heavy imports so that the validator and ``--help`` can use it cheaply.
"""

from __future__ import annotations

import hashlib
import json
from json import encoder
from typing import Any

# One encoder: json.dumps with options other than its defaults builds a new one every call.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# JSONEncoder.encode makes a new C encoder on every call, a third of the time of a short line
# (a text run writes a line per row and variant): the same C encoder, made once, writes the
# same text. No circular check (markers None): the values are plain trees of JSON types.
_C_ENCODER = (
    encoder.c_make_encoder(
        None, _ENCODER.default, encoder.encode_basestring, None, ":", ",", True, False, True
    )
    if encoder.c_make_encoder is not None
    else None
)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept as is: the same value always gives the same text."""
    if _C_ENCODER is None:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODER(value, 0))


def canonical_sha256(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
