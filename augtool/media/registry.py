"""The media by name: the core finds a recipe's medium here, never by importing its package.

A built-in medium is named with the module that builds it, imported on first use (so a run
that never derives, such as ``validate`` without ``--recompute``, never imports Pillow or
numpy). An installed plug-in names its medium the same way, as an entry point in the
``augtool.media`` group, which every worker process (loky, Dask) finds too. A medium made at run
time (a test double) calls :func:`register`; only in-process backends then know it.

A recipe names its medium by the transforms it uses: every step of one recipe belongs to one
medium; a recipe without steps is an image recipe (:data:`DEFAULT`), and so is one whose steps
are all names two media share, unless their parameters are one medium's alone. The medium is
never written into the normalised recipe, so recipes and their hashes stay as they were.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from augtool.media.base import Medium

DEFAULT = "image"

#: name -> "module:attribute" of the :class:`Medium` built-in media provide
BUILTIN: dict[str, str] = {
    "image": "augtool.media.image.medium:MEDIUM",
    "audio": "augtool.media.audio.medium:MEDIUM",
    "text": "augtool.media.text.medium:MEDIUM",
}

ENTRY_POINTS = "augtool.media"

_loaded: dict[str, Medium] = {}


@cache
def _installed() -> dict[str, str]:
    """Plug-in media by name: ``module:attribute`` of their entry points. (importlib.metadata
    is imported here, not at the top: its import costs every process, each worker included,
    tens of milliseconds, and a built-in medium never needs it.)"""
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINTS)}
    return {name: value for name, value in found.items() if name not in BUILTIN}


class UnknownMedium(LookupError):
    pass


def register(medium: Medium) -> None:
    """Make ``medium`` known by its ``name`` (replacing one of that name)."""
    _loaded[medium.name] = medium


def unregister(name: str) -> None:
    """Forget a registered medium (a built-in one is loaded again on its next use)."""
    _loaded.pop(name, None)


def names() -> list[str]:
    """Every medium's name, built-in first, then installed plug-ins, then registered ones."""
    known = [*BUILTIN, *_installed()]
    return [*known, *(n for n in _loaded if n not in known)]


def get(name: str = DEFAULT) -> Medium:
    """The medium called ``name``."""
    medium = _loaded.get(name)
    if medium is not None:
        return medium
    where = BUILTIN.get(name) or _installed().get(name)
    if where is None:
        raise UnknownMedium(f"unknown medium {name!r}; expected one of {', '.join(names())}")
    module, _, attribute = where.partition(":")
    medium = getattr(importlib.import_module(module), attribute)
    _loaded[name] = medium
    return medium


def media() -> Iterator[Medium]:
    return (get(name) for name in names())


def owners(name: str) -> list[str]:
    """The media whose transforms or blocks include ``name``."""
    return [m.name for m in media() if name in m.transforms() or name in m.blocks()]


def _leaves(pipeline: Iterable[Any]) -> Iterator[tuple[str, Any]]:
    """The transforms of a normalised pipeline (``[{name: config}, …]``), blocks opened: each
    one's name and configuration."""
    for step in pipeline:
        if not isinstance(step, dict):
            continue
        for name, config in step.items():
            children = config.get("transforms") if isinstance(config, dict) else None
            if isinstance(children, list):
                yield from _leaves(children)
            else:
                yield name, config


def _taking(name: str, config: Any, owned: list[str]) -> list[str]:
    """Of the media ``owned`` that share the transform ``name``, those whose transform takes
    every parameter ``config`` names (all of them when it names none, or none fits)."""
    given = set(config) - {"p"} if isinstance(config, dict) else set()
    if not given:
        return owned
    fits = []
    for medium in owned:
        transform = get(medium).transforms().get(name)
        taken = {param.name for param in getattr(transform, "all_params", tuple)()}
        if given <= taken:
            fits.append(medium)
    return fits or owned


def medium_of(pipeline: Iterable[Any]) -> str:
    """The medium of a normalised pipeline: the one medium all its transforms belong to.
    Raises ``ValueError`` when they belong to several, or to none known."""
    steps = list(pipeline)
    if len(names()) == 1 or not steps:
        return DEFAULT if DEFAULT in names() else names()[0]
    found: set[str] = set()
    for leaf, config in _leaves(steps):
        owned = owners(leaf)
        if not owned:
            raise ValueError(f"unknown transform {leaf!r}")
        if len(owned) > 1:
            # a shared name (random_crop) with parameters only one medium's takes is that one's
            owned = _taking(leaf, config, owned)
        if DEFAULT not in owned:
            found.add(owned[0])
        elif len(owned) == 1:
            found.add(DEFAULT)
    if len(found) > 1:
        raise ValueError(
            "one recipe is one medium; its transforms belong to " + " and ".join(sorted(found))
        )
    return found.pop() if found else DEFAULT


def medium_of_recipe(normalised: dict[str, Any] | None) -> str:
    """The medium of a normalised recipe (as a manifest header holds it)."""
    pipeline = (normalised or {}).get("pipeline") or []
    return medium_of(pipeline if isinstance(pipeline, list) else [])


def library_versions(kernels: str, medium: str = DEFAULT) -> dict[str, str]:
    """The versions a medium's bytes depend on, as the manifest header states them."""
    return get(medium).versions(kernels)


__all__ = [
    "BUILTIN",
    "DEFAULT",
    "UnknownMedium",
    "get",
    "library_versions",
    "media",
    "medium_of",
    "medium_of_recipe",
    "names",
    "owners",
    "register",
    "unregister",
]
