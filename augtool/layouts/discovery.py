"""Find the dataset's files and say, for each, which split and label it belongs to.

Layouts (``flat``, ``imagefolder``, ``yolo``, ``coco``, ``masks``) are plug-ins
(:mod:`augtool.layouts.registry`): this module walks the input once for all of them, and the
chosen layout classifies what the walk found. ``auto`` asks each registered layout in turn.

Splits: when the input has folders named like ``splits.names`` (default train, val, test; and
``valid``, ``validation`` with ``val``) at the top or below ``images/`` or ``labels/``, each is a
split and images outside them are skipped with a reason. Without such folders
the dataset is one unnamed split (``split: null``) and it is augmented.

Nothing is opened here: files are told apart by ``lstat`` alone, so a FIFO or a device named like
an image is skipped, never opened (opening a FIFO blocks forever). A link to a folder is skipped
with a reason, or with ``input.follow_links`` walked once per real folder, so a link loop can
neither hang the walk nor read a file twice.
"""

from __future__ import annotations

import heapq
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augtool.errors import InputError
from augtool.manifest import CONTRACT_FILES, STATE_DIR, STATE_FILES

#: Top-level names the output folder keeps for itself: an input file below one of them would be
#: written over augtool's own files (or hidden from ``validate``), so it is skipped.
RESERVED = frozenset({STATE_DIR, *STATE_FILES, *CONTRACT_FILES})


@dataclass(frozen=True, slots=True)
class Source:
    """One input file that belongs to the dataset (slotted: a dataset holds one per file)."""

    path: str  # relative, with "/" separators
    split: str | None
    label: str | None
    augment: bool
    link: bool = False  # a symbolic link to a regular file, allowed by the rules in _walk
    annotation: str | None = None  # its label file (or the layout's file naming its labels)


@dataclass(frozen=True, slots=True)
class Skip:
    """An input file left out, with the reason (recorded in the manifest and the summary)."""

    path: str
    reason: str


@dataclass(frozen=True)
class Dataset:
    root: Path
    layout: str
    splits: tuple[str, ...]  # the split folders found, in name order; empty when unsplit
    sources: tuple[Source, ...]
    skipped: tuple[Skip, ...]
    #: files of the dataset itself that are copied as they are (``data.yaml``)
    extra_files: tuple[str, ...] = ()
    #: class names by id (yolo), for flip pairs and the manifest
    names: tuple[tuple[int, str], ...] = ()
    #: what the layout keeps of the dataset as a whole (opaque to all but the layout)
    state: Any = None
    #: each split's folders (images and labels), when they are not named after the split
    #: (``data.yaml``'s ``val: valid/images``): validate checks paths against them
    split_folders: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Walk:
    """What the common walk found: candidate files in path order, those that are links to
    files, and the files skipped outright."""

    candidates: list[str]
    links: set[str]
    skipped: list[Skip]
    #: files named like labels (``.txt``, ``.xml``, ``.json``), which no image ending matches:
    #: a layout that does not read them leaves them out of the output, which the run says
    label_like: list[str] = field(default_factory=list)


def discover(
    root: Path,
    layout: str,
    extensions: Iterable[str],
    split_names: Iterable[str],
    augment_splits: Iterable[str],
    follow_links: bool = False,
) -> Dataset:
    """Walk ``root`` in a deterministic order and let the layout (``auto``: the first of the
    registry's that detects itself) classify every file with an allowed ending."""
    from augtool.layouts import registry

    if not root.exists():
        raise InputError(f"{root}: input folder not found")
    if not root.is_dir():
        raise InputError(f"{root}: input is not a folder")
    allowed = {e.lower() for e in extensions}
    names = with_aliases(split_names)
    walk = Walk(*_walk(root, allowed, follow_links))
    chosen = (
        registry.detect(root, walk.candidates, names) if layout == "auto" else registry.get(layout)
    )
    dataset = chosen.discover(root, walk, names, set(augment_splits), follow_links)
    from augtool.layouts.unread import with_unread_labels

    return with_unread_labels(dataset, walk, chosen)


#: Other names of the validation split that exports use (Roboflow's ``valid``, Hugging Face's
#: ``validation``): a split folder whenever ``val`` is one.
VAL_ALIASES = ("valid", "validation")


def with_aliases(split_names: Iterable[str]) -> set[str]:
    names = set(split_names)
    return names | set(VAL_ALIASES) if "val" in names else names


def split_folder_sources(
    root: Path, layout: str, walk: Walk, names: set[str], augmented: set[str], classes: bool
) -> Dataset:
    """A dataset of images without label files: when folders are named like splits (at the top,
    or below ``images/`` or ``labels/``), each is a split and images outside them are skipped;
    with ``classes``, the first folder below the split is each image's class
    (``train/cat/x.jpg``)."""
    skipped = list(walk.skipped)
    found_splits = found_split_folders(walk.candidates, names)
    sources: list[Source] = []
    for rel in walk.candidates:
        split, parts = split_parts(rel, names)
        if found_splits and split is None:
            shown = (n for n in names if n not in VAL_ALIASES or n in found_splits)
            folders = ", ".join(sorted(shown))
            skipped.append(Skip(rel, f"outside the split folders ({folders})"))
            continue
        label = parts[0] if classes and len(parts) > 1 else None
        augment = split is None or split in augmented
        sources.append(Source(rel, split, label, augment, rel in walk.links))
    return Dataset(
        root=root,
        layout=layout,
        splits=tuple(found_splits),
        sources=tuple(sources),
        skipped=sorted_skips(skipped),
    )


#: Folders that hold a dataset's images or labels, below which split folders may sit
#: (``images/train/x.jpg``) as well as at the top.
HOLDERS = ("images", "labels")


def split_parts(rel: str, names: set[str]) -> tuple[str | None, list[str]]:
    """The split folder of the file ``rel`` (the top folder, or the one below ``images/`` or
    ``labels/``, named like a split), or None, and the parts of the path below it."""
    parts = rel.split("/")
    if len(parts) > 1 and parts[0] in names:
        return parts[0], parts[1:]
    if len(parts) > 2 and parts[0] in HOLDERS and parts[1] in names:
        return parts[1], parts[2:]
    return None, parts


def found_split_folders(candidates: list[str], names: set[str]) -> list[str]:
    """The split folders holding candidates (:func:`split_parts`), in name order."""
    return sorted({split for rel in candidates if (split := split_parts(rel, names)[0])})


def sorted_skips(skipped: list[Skip]) -> tuple[Skip, ...]:
    return tuple(sorted(skipped, key=lambda s: s.path))


def _walk(
    root: Path, allowed: set[str], follow_links: bool
) -> tuple[list[str], set[str], list[Skip], list[str]]:
    """Candidate files, the subset of them that are links, the files skipped outright, and the
    files named like labels (:data:`LABEL_ENDINGS`).

    The input's own folders are walked first, never through a link. A link to a folder is
    skipped with a reason; with ``follow_links`` it is walked after them instead, links in path
    order (a heap: the same choice whatever the file system's order), each real folder once: a
    link to a folder already walked, or to one that holds the input (a loop), is skipped with a
    reason. A link to a file is read when its target is a regular file inside the input, or
    anywhere with ``follow_links``.
    """
    candidates: list[str] = []
    links: set[str] = set()
    skipped: list[Skip] = []
    label_like: list[str] = []
    real_root = root.resolve()
    walked: dict[Path, str] = {}  # the real path of each folder walked: where it was read
    linked: list[str] = []  # folder links met, to walk next (with follow_links)

    def unlisted(error: OSError) -> None:
        # A folder that cannot be listed: its files are not silently left out.
        rel = Path(str(error.filename)).relative_to(root).as_posix()
        skipped.append(Skip(rel, f"a folder that cannot be listed: {error.strerror or error}"))

    def walk(top: str, real_top: Path) -> None:
        for folder, dirs, files in os.walk(root / top, onerror=unlisted, followlinks=False):
            below = Path(folder).relative_to(root / top).as_posix()
            rel_folder = "/".join(part for part in (top, below) if part and part != ".")
            prefix = rel_folder + "/" if rel_folder else ""
            real_folder = real_top if below == "." else real_top / below
            walked[real_folder] = rel_folder or "."
            kept = []
            for name in sorted(dirs):
                rel = prefix + name
                if os.path.islink(os.path.join(folder, name)):
                    refusal = _name_refusal(rel)
                    if refusal is not None:
                        skipped.append(refusal)
                    elif follow_links:
                        heapq.heappush(linked, rel)
                    else:
                        skipped.append(Skip(rel, f"a symbolic link to a folder ({FOLLOW_HINT})"))
                elif real_folder / name in walked:
                    # Only below a linked folder: its target overlaps a folder already walked.
                    where = walked[real_folder / name]
                    skipped.append(Skip(rel, f"the same folder as {where}, already read"))
                else:
                    kept.append(name)
            dirs[:] = kept
            for name in sorted(files):
                ending = os.path.splitext(name)[1].lower()
                if ending in allowed:
                    add_file(prefix + name, os.path.join(folder, name))
                elif ending in LABEL_ENDINGS and _name_refusal(prefix + name) is None:
                    label_like.append(prefix + name)

    def add_file(rel: str, full: str) -> None:
        refusal = _name_refusal(rel)
        if refusal is not None:
            skipped.append(refusal)
            return
        mode = os.lstat(full).st_mode
        if stat.S_ISLNK(mode):
            reason = _link_refusal(Path(full), real_root, follow_links)
            if reason:
                skipped.append(Skip(rel, reason))
                return
            links.add(rel)
        elif not stat.S_ISREG(mode):
            skipped.append(Skip(rel, "not a regular file (FIFO, socket or device)"))
            return
        candidates.append(rel)

    walk("", real_root)
    while linked:
        rel = heapq.heappop(linked)
        try:
            real = (root / rel).resolve(strict=True)
        except (OSError, RuntimeError):
            skipped.append(Skip(rel, "a broken symbolic link (or a link loop)"))
            continue
        if real == real_root or real in real_root.parents:
            skipped.append(Skip(rel, "a symbolic link to a folder that holds the input (a loop)"))
        elif real in walked:
            skipped.append(Skip(rel, f"the same folder as {walked[real]}, already read"))
        else:
            walk(rel, real)
    candidates.sort()
    return candidates, links, skipped, sorted(label_like)


def _name_refusal(rel: str) -> Skip | None:
    """A file (or linked folder) skipped for its name alone, or None."""
    if not _is_utf8(rel):
        # The manifest is UTF-8 JSON: such a name cannot be recorded as it is on disk.
        shown = os.fsencode(rel).decode("utf-8", "backslashreplace")
        return Skip(shown, "the file name is not valid UTF-8; rename it")
    top = rel.split("/", 1)[0]
    if top in RESERVED:
        return Skip(rel, f"inside {top!r}, a name augtool keeps for its own files")
    return None


def _is_utf8(name: str) -> bool:
    """False for a name with bytes that are not UTF-8 (decoded by Python as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_refusal(root: Path, rel: str, follow_links: bool) -> str | None:
    """Why ``expand`` does not read the file ``rel`` below ``root`` by the link rules of
    :func:`_walk` (``None``: it does). ``validate manifest --source`` asks this of every recorded
    source, so that it reads exactly the files ``expand`` read. Links are looked at by name
    (lstat, readlink); nothing is opened."""
    folder = None if follow_links else linked_folder(root, rel)
    if folder is not None:
        return f"lies behind {folder}, a symbolic link to a folder ({FOLLOW_HINT})"
    path = root / rel
    if os.path.islink(path):
        return _link_refusal(path, root.resolve(), follow_links)
    return None


FOLLOW_HINT = "set input.follow_links: true to read it"
#: Endings of the label files tools export (YOLO, VOC, COCO, LabelMe, Label Studio...).
LABEL_ENDINGS = frozenset({".txt", ".xml", ".json"})


def linked_folder(root: Path, rel: str) -> str | None:
    """The first folder on the way to ``rel`` that is a symbolic link, or None."""
    parts = rel.split("/")
    for end in range(1, len(parts)):
        folder = "/".join(parts[:end])
        if os.path.islink(root / folder):
            return folder
    return None


def _link_refusal(path: Path, real_root: Path, follow_links: bool) -> str | None:
    """Why a symbolic link to a file is not read, or None when it may be."""
    try:
        target = path.resolve(strict=True)
        mode = os.stat(target).st_mode
    except (OSError, RuntimeError):
        return "a broken symbolic link (or a link loop)"
    if not stat.S_ISREG(mode):
        return "a symbolic link to something that is not a regular file"
    if not follow_links and real_root not in target.parents:
        return f"a symbolic link to outside the input ({FOLLOW_HINT})"
    return None
