"""Canonical JSON: one value, one text. Recipe hashes and manifest lines are both made of it.

Kept free of heavy imports so that the validator and ``--help`` can use it cheaply.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# One encoder: json.dumps with options other than its defaults builds a new one every call.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept as is: the same value always gives the same text."""
    return _ENCODER.encode(value)


def canonical_sha256(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
