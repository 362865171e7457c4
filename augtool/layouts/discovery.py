"""Find the dataset's files and say, for each, which split and label it belongs to.

Layouts:
- ``flat``: images anywhere below the split root; no labels.
- ``imagefolder``: the first folder below the split root is the label (``train/cat/x.jpg``).
- ``yolo``: Ultralytics: ``data.yaml`` names the split folders (``train: images/train``); each
  image's labels are in the same place under ``labels/`` (``labels/train/x.txt``).
- ``masks``: images under an ``images/`` folder, each with a same-named PNG under ``masks/``;
  splits as ``images/<split>/`` or ``<split>/images/``.
- ``auto``: ``yolo`` when there is a ``data.yaml``, ``masks`` when there is a ``masks`` folder
  beside an ``images`` one, else ``imagefolder`` when any image sits in a subfolder of a split
  root, else ``flat``.

Splits: when the input has top-level folders named like ``splits.names`` (default train, val,
test), each is a split and images outside them are skipped with a reason. Without such folders
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augtool.errors import InputError
from augtool.manifest import CONTRACT_FILES, STATE_DIR

#: Top-level names the output folder keeps for itself: an input file below one of them would be
#: written over augtool's own files (or hidden from ``validate``), so it is skipped.
RESERVED = frozenset({STATE_DIR, *CONTRACT_FILES})


@dataclass(frozen=True, slots=True)
class Source:
    """One input file that belongs to the dataset (slotted: a dataset holds one per file)."""

    path: str  # relative, with "/" separators
    split: str | None
    label: str | None
    augment: bool
    link: bool = False  # a symbolic link to a regular file, allowed by the rules in _walk
    annotation: str | None = None  # its label file (yolo, masks), when it has one


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
    #: coco: the splits' JSON heads and each image's entry and annotations
    coco: Any = None


def discover(
    root: Path,
    layout: str,
    extensions: Iterable[str],
    split_names: Iterable[str],
    augment_splits: Iterable[str],
    follow_links: bool = False,
) -> Dataset:
    """Walk ``root`` in a deterministic order and classify every file with an allowed ending."""
    if not root.exists():
        raise InputError(f"{root}: input folder not found")
    if not root.is_dir():
        raise InputError(f"{root}: input is not a folder")
    allowed = {e.lower() for e in extensions}
    names = set(split_names)
    augmented = set(augment_splits)
    candidates, links, skipped = _walk(root, allowed, follow_links)
    if layout == "auto":
        layout = _detect_annotated(root) or "auto"
    if layout in ("yolo", "masks"):
        return _annotated(root, layout, candidates, links, skipped, names, augmented, follow_links)
    if layout == "coco":
        return _coco(root, candidates, links, skipped, augmented)
    found_splits = sorted({p.split("/", 1)[0] for p in candidates if "/" in p} & names)
    if layout == "auto":
        layout = _detect_layout(candidates, bool(found_splits), names)
    sources: list[Source] = []
    for rel in candidates:
        parts = rel.split("/")
        split: str | None = None
        if found_splits:
            if len(parts) < 2 or parts[0] not in names:
                folders = ", ".join(sorted(names))
                skipped.append(Skip(rel, f"outside the split folders ({folders})"))
                continue
            split, parts = parts[0], parts[1:]
        label = parts[0] if layout == "imagefolder" and len(parts) > 1 else None
        augment = split is None or split in augmented
        sources.append(Source(rel, split, label, augment, rel in links))
    return Dataset(
        root=root,
        layout=layout,
        splits=tuple(found_splits),
        sources=tuple(sources),
        skipped=tuple(sorted(skipped, key=lambda s: s.path)),
    )


def _detect_annotated(root: Path) -> str | None:
    if (root / "data.yaml").is_file() or (root / "dataset.yaml").is_file():
        return "yolo"
    if (root / "annotations").is_dir() and any((root / "annotations").glob("*.json")):
        return "coco"
    if _has_mask_folders(root):
        return "masks"
    return None


def _has_mask_folders(root: Path) -> bool:
    """A ``masks`` folder beside an ``images`` one, at the root or in a split folder."""
    for base in (root, *sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())):
        if (base / "images").is_dir() and (base / "masks").is_dir():
            return True
    return False


def _annotated(
    root: Path,
    layout: str,
    candidates: list[str],
    links: set[str],
    skipped: list[Skip],
    names: set[str],
    augmented: set[str],
    follow_links: bool,
) -> Dataset:
    """Images of a YOLO or mask dataset, each with its label file (when there is one)."""
    from augtool.layouts import FORMATS, AnnotationError
    from augtool.layouts.yolo import read_data_yaml

    label_format = FORMATS[layout]
    extra: tuple[str, ...] = ()
    class_names: dict[int, str] = {}
    folders: dict[str, str] = {}
    if layout == "yolo":
        try:
            yaml_name, class_names, folders = read_data_yaml(root)
        except AnnotationError as exc:
            raise InputError(str(exc)) from None
        extra = (yaml_name,)
    elif not _has_mask_folders(root):
        # As yolo and coco do: asked for, a layout whose files are missing is an input error,
        # not an empty dataset with every image skipped.
        raise InputError(
            f"{root}: no masks/ folder beside an images/ one (a masks dataset's labels)"
        )
    sources: list[Source] = []
    found: set[str] = set()
    for rel in candidates:
        if label_format.folder in rel.split("/")[:-1]:
            continue  # a label file (a mask is a PNG too), not an image of the dataset
        split = _split_of(rel, layout, folders, names)
        annotation = label_format.label_path(rel)
        if split is False or annotation is None:
            where = ", ".join(sorted(folders.values())) if folders else "an images/ folder"
            skipped.append(Skip(rel, f"outside the image folders ({where})"))
            continue
        label_file = root / annotation
        has_label = label_file.is_file() and not label_file.is_symlink()
        if not has_label and os.path.lexists(label_file):
            # A link or a FIFO where the labels should be: never read, and never taken for an
            # image without labels either.
            kind = "a symbolic link" if label_file.is_symlink() else "not a regular file"
            skipped.append(Skip(rel, f"its labels {annotation} are {kind}, which is not read"))
            continue
        behind = None if follow_links else _linked_folder(root, annotation)
        if has_label and behind is not None:
            # The walk does not read that folder; the image is not silently left unlabelled.
            reason = f"its labels {annotation} lie behind {behind}, a symbolic link to a folder"
            skipped.append(Skip(rel, f"{reason} ({FOLLOW_HINT})"))
            continue
        if layout == "masks" and not has_label:
            skipped.append(Skip(rel, f"no mask ({annotation})"))
            continue
        if split is not None:
            found.add(split)
        augment = split is None or split in augmented
        sources.append(
            Source(rel, split, None, augment, rel in links, annotation if has_label else None)
        )
    return Dataset(
        root=root,
        layout=layout,
        splits=tuple(sorted(found)),
        sources=tuple(sources),
        skipped=tuple(sorted(skipped, key=lambda s: s.path)),
        extra_files=extra,
        names=tuple(sorted(class_names.items())),
    )


def _coco(
    root: Path, candidates: list[str], links: set[str], skipped: list[Skip], augmented: set[str]
) -> Dataset:
    """Images of a COCO dataset: those its split JSONs list; each carries its annotations."""
    from augtool.layouts import AnnotationError
    from augtool.layouts.coco import read_coco_dataset

    try:
        coco = read_coco_dataset(root)
    except AnnotationError as exc:
        raise InputError(str(exc)) from None
    on_disk = set(candidates)
    sources: list[Source] = []
    for rel in candidates:
        listed = coco.images.get(rel)
        if listed is None:
            skipped.append(Skip(rel, "not listed in any annotations/*.json"))
            continue
        if rel in coco.refused:  # an annotation that cannot be moved with its image
            skipped.append(Skip(rel, coco.refused[rel]))
            continue
        split = listed[0]
        annotation = coco.splits[split].json_path
        sources.append(Source(rel, split, None, split in augmented, rel in links, annotation))
    for rel, (split, _, _) in coco.images.items():
        if rel not in on_disk:
            where = coco.splits[split].json_path
            skipped.append(Skip(rel, f"listed in {where} but not a readable image file here"))
    return Dataset(
        root=root,
        layout="coco",
        splits=tuple(sorted({s.split for s in sources if s.split is not None})),
        sources=tuple(sources),
        skipped=tuple(sorted(skipped, key=lambda s: s.path)),
        coco=coco,
    )


def _split_of(rel: str, layout: str, folders: dict[str, str], names: set[str]) -> str | bool | None:
    """The image's split; None when the dataset has none; False when it is outside them all."""
    if layout == "yolo":
        for split, folder in folders.items():
            if rel.startswith(folder + "/"):
                return split
        return False
    parts = rel.split("/")
    if len(parts) >= 3 and parts[0] == "images" and parts[1] in names:
        return parts[1]
    if len(parts) >= 3 and parts[1] == "images" and parts[0] in names:
        return parts[0]
    return None if parts[0] == "images" else False


def _walk(
    root: Path, allowed: set[str], follow_links: bool
) -> tuple[list[str], set[str], list[Skip]]:
    """Candidate files, the subset of them that are links, and the files skipped outright.

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
                if os.path.splitext(name)[1].lower() in allowed:
                    add_file(prefix + name, os.path.join(folder, name))

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
    return candidates, links, skipped


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
    folder = None if follow_links else _linked_folder(root, rel)
    if folder is not None:
        return f"lies behind {folder}, a symbolic link to a folder ({FOLLOW_HINT})"
    path = root / rel
    if os.path.islink(path):
        return _link_refusal(path, root.resolve(), follow_links)
    return None


FOLLOW_HINT = "set input.follow_links: true to read it"


def _linked_folder(root: Path, rel: str) -> str | None:
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


def _detect_layout(candidates: list[str], split_mode: bool, names: set[str]) -> str:
    depth = 2 if split_mode else 1
    for rel in candidates:
        parts = rel.split("/")
        if split_mode and parts[0] not in names:
            continue
        if len(parts) > depth:
            return "imagefolder"
    return "flat"
