"""Captions: the steps that fired, with their key parameters rounded for reading at a glance."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from augtool.media.image.transforms import fired_leaves

__all__ = ["NOTHING_FIRED", "caption", "params_text"]

NOTHING_FIRED = "(no step fired)"

Record = dict[str, Any]

# Parameters a caption leaves out: configuration echoed back (border, size), long draws
# (noise seeds, kernel taps, corner lists) that a reader cannot judge at a glance, or the
# places of a synthesis step's partners (the caption names their files instead).
_HIDDEN = {
    "border",
    "corners",
    "fill",
    "holes",
    "interpolation",
    "order",
    "partners",
    "per_channel",
    "permutation",
    "seed",
    "size",
    "taps",
    "value",
}
_SHORT = {"brightness": "b", "contrast": "c", "saturation": "s", "hue": "h", "angle": ""}
_UNITS = {"angle": "°"}


def caption(records: list[Record]) -> str:
    """The steps that fired, with their key parameters rounded: ``rotate -12.3°, hflip``."""
    parts = [f"{name} {text}".strip() for name, text in _fired(records)]
    return ", ".join(parts) if parts else NOTHING_FIRED


def _fired(records: list[Record]) -> Iterator[tuple[str, str]]:
    # A block's fired children speak for it.
    for record in fired_leaves(records):
        yield record["name"], params_text(record["name"], record["params"])


def params_text(name: str, params: dict[str, Any]) -> str:
    if {"top", "left", "height", "width"} <= params.keys():
        # The output size, [height, width] as recipes give sizes: a resized crop's ``size``,
        # else the window's (where the window sits tells little).
        height, width = params.get("size") or (params["height"], params["width"])
        return f"[{height}, {width}]"
    if name == "coarse_dropout":
        return f"{len(params['holes'])} holes"
    if name == "random_erasing":
        return f"[{params['box'][2]}, {params['box'][3]}]" if params["erased"] else "none fitted"
    words = []
    for key, value in params.items():
        text = _value_text(value)
        if key in _HIDDEN or text is None or (key == "mean" and value == 0):
            continue
        short = _SHORT.get(key, key)
        joined = short + text if len(short) <= 1 else f"{short} {text}"
        words.append(joined + _UNITS.get(key, ""))
    return " ".join(words)


def _value_text(value: Any) -> str | None:
    """Numbers rounded for reading; short lists of numbers as ``a,b``; anything longer None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _round(value)
    if isinstance(value, str):
        return value
    if (
        isinstance(value, list)
        and len(value) <= 2
        and all(isinstance(v, (int, float)) for v in value)
    ):
        return ",".join(_round(v) for v in value)
    return None


def _round(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    digits = 1 if abs(value) >= 10 else 2
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
