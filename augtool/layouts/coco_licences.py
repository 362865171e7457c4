"""The licences a COCO dataset states for its images: each image's ``license`` id in its JSON's
``licenses`` list, as an SPDX id where the entry is a Creative Commons URL."""

from __future__ import annotations

import re
from typing import Any

from augtool.layouts.coco_format import CocoDataset

#: a Creative Commons licence or public-domain tool URL: its kind and version
CC_URL = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z-]+)/(\d+(?:\.\d+)?)")


def spdx_of(entry: dict[str, Any]) -> str | None:
    """The SPDX id of a COCO ``licenses`` entry, from its Creative Commons URL
    (``.../licenses/by-nc-sa/2.0/``: ``CC-BY-NC-SA-2.0``; ``.../publicdomain/zero/1.0/``:
    ``CC0-1.0``), else its name as written."""
    match = CC_URL.search(str(entry.get("url") or ""))
    if match and match[1] == "licenses":
        return f"CC-{match[2].upper()}-{match[3]}"
    if match and match[2] == "zero":
        return f"CC0-{match[3]}"
    name = entry.get("name")
    return name.strip() if isinstance(name, str) and name.strip() else None


def coco_licences(state: object) -> dict[str, tuple[str, str | None]]:
    """Each COCO image's licence, from its ``license`` id and its JSON's ``licenses`` list
    (its ``author``, when the image entry has one); nothing for other layouts."""
    if not isinstance(state, CocoDataset):
        return {}
    found: dict[str, tuple[str, str | None]] = {}
    for path, (split, entry, _) in state.images.items():
        head = state.splits[split].head if split in state.splits else {}
        listed = head.get("licenses")
        entries = (
            {e.get("id"): e for e in listed if isinstance(e, dict)}
            if isinstance(listed, list)
            else {}
        )
        licence = entries.get(entry.get("license"))
        name = None if licence is None else spdx_of(licence)
        if name is not None:
            author = entry.get("author")
            found[path] = (name, author if isinstance(author, str) and author else None)
    return found
