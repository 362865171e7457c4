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
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any

from augtool.atomic import TEMP_PREFIX
from augtool.endings import split_ending
from augtool.errors import InputError
from augtool.layouts.spill import Paths, Spill, merged
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


class StreamedSources(Collection[Source]):
    """A dataset's sources in path order, made again from the walk's spill at each loop (a
    dataset of a million images holds none of them): ``make`` turns a walked file into its
    source, or None when it is not one; ``count`` is how many are."""

    def __init__(
        self, files: Spill, make: Callable[[str, bool], Source | None], count: int
    ) -> None:
        self._files, self._make, self._count = files, make, count

    def __iter__(self) -> Iterator[Source]:
        for rel, link in self._files:
            source = self._make(rel, link)
            if source is not None:
                yield source

    def __len__(self) -> int:
        return self._count

    def __contains__(self, item: object) -> bool:
        return any(source == item for source in self)

    def where(self, keep: Callable[[Source], bool]) -> StreamedSources:
        """The sources ``keep`` keeps, streamed alike (counted in one pass)."""

        def make(rel: str, link: bool) -> Source | None:
            source = self._make(rel, link)
            return source if source is not None and keep(source) else None

        return StreamedSources(self._files, make, sum(1 for s in self if keep(s)))


def kept_sources(sources: Collection[Source], keep: Callable[[Source], bool]) -> Collection[Source]:
    """The sources ``keep`` keeps, in path order: streamed when ``sources`` are."""
    if isinstance(sources, StreamedSources):
        return sources.where(keep)
    return tuple(source for source in sources if keep(source))


@dataclass(frozen=True)
class Dataset:
    root: Path
    layout: str
    splits: tuple[str, ...]  # the split folders found, in name order; empty when unsplit
    #: in path order; a tuple, or streamed from the walk (:class:`StreamedSources`)
    sources: Collection[Source]
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
    """What the common walk found: candidate files in path order (with whether each is a link
    to a file), and the files skipped outright."""

    files: Spill
    skipped: list[Skip]
    #: files named like labels (``.txt``, ``.xml``, ``.json``), which no image ending matches:
    #: a layout that does not read them leaves them out of the output, which the run says
    label_like: list[str] = field(default_factory=list)

    @property
    def candidates(self) -> Paths:
        """The candidate paths, in path order (read again at each loop, never held)."""
        return self.files.paths

    @cached_property
    def links(self) -> set[str]:
        """The candidates that are links to files (for the layouts that hold their sources)."""
        return {path for path, link in self.files if link}


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
    walk = _walk(root, allowed, follow_links)
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
    (``train/cat/x.jpg``). Its sources are streamed from the walk (two passes find the splits
    and count the sources); nothing is held per source."""
    skipped = list(walk.skipped)
    found_splits = found_split_folders(walk.candidates, names)
    make = partial(_split_source, names, frozenset(found_splits), frozenset(augmented), classes)
    shown = (n for n in names if n not in VAL_ALIASES or n in found_splits)
    outside = f"outside the split folders ({', '.join(sorted(shown))})"
    count = 0
    for rel, link in walk.files:
        if make(rel, link) is None:
            skipped.append(Skip(rel, outside))
        else:
            count += 1
    return Dataset(
        root=root,
        layout=layout,
        splits=tuple(found_splits),
        sources=StreamedSources(walk.files, make, count),
        skipped=sorted_skips(skipped),
    )


def _split_source(
    names: set[str],
    found_splits: frozenset[str],
    augmented: frozenset[str],
    classes: bool,
    rel: str,
    link: bool,
) -> Source | None:
    """The source at ``rel`` of a dataset of split (and class) folders, or None when it lies
    outside the split folders the dataset has."""
    split, parts = split_parts(rel, names)
    if found_splits and split is None:
        return None
    label = parts[0] if classes and len(parts) > 1 else None
    return Source(rel, split, label, split is None or split in augmented, link)


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


def found_split_folders(candidates: Iterable[str], names: set[str]) -> list[str]:
    """The split folders holding candidates (:func:`split_parts`), in name order."""
    return sorted({split for rel in candidates if (split := split_parts(rel, names)[0])})


def sorted_skips(skipped: list[Skip]) -> tuple[Skip, ...]:
    return tuple(sorted(skipped, key=lambda s: s.path))


def _walk(root: Path, allowed: set[str], follow_links: bool) -> Walk:
    """Candidate files in path order (spilled, :mod:`augtool.layouts.spill`), the files skipped
    outright, and the files named like labels (:data:`LABEL_ENDINGS`).

    Each folder's entries are sorted, a folder's by its name and a ``/``, so that a depth-first
    walk meets the files in the order of their paths as strings: the candidates are never
    sorted as a whole, nor held.

    The input's own folders are walked first, never through a link. A link to a folder is
    skipped with a reason; with ``follow_links`` it is walked after them instead, links in path
    order (a heap: the same choice whatever the file system's order), each real folder once: a
    link to a folder already walked, or to one that holds the input (a loop), is skipped with a
    reason; each linked folder's files are spilled apart and merged in. A link to a file is read
    when its target is a regular file inside the input, or anywhere with ``follow_links``.
    """
    return _Walker(root, allowed, follow_links).run()


class _Walker:
    """One walk of the input (:func:`_walk`): what it has met so far."""

    def __init__(self, root: Path, allowed: set[str], follow_links: bool) -> None:
        self.root = root
        self.allowed = allowed
        self.follow_links = follow_links
        self.real_root = root.resolve()
        self.skipped: list[Skip] = []
        self.label_like: list[str] = []
        self.walked: dict[Path, str] = {}  # the real path of each folder walked: where it was read
        self.linked: list[str] = []  # folder links met, to walk next (with follow_links)

    def run(self) -> Walk:
        spills = [self.walk("", self.real_root)]
        while self.linked:
            rel = heapq.heappop(self.linked)
            try:
                real = (self.root / rel).resolve(strict=True)
            except (OSError, RuntimeError):
                self.skipped.append(Skip(rel, "a broken symbolic link (or a link loop)"))
                continue
            if real == self.real_root or real in self.real_root.parents:
                why = "a symbolic link to a folder that holds the input (a loop)"
                self.skipped.append(Skip(rel, why))
            elif real in self.walked:
                self.skipped.append(
                    Skip(rel, f"the same folder as {self.walked[real]}, already read")
                )
            else:
                spills.append(self.walk(rel, real))
        return Walk(merged(spills), self.skipped, sorted(self.label_like))

    def entries(self, rel_folder: str) -> list[tuple[str, os.DirEntry[str]]]:
        """A folder's entries by path order (a folder's name sorts with its ``/``)."""
        try:
            with os.scandir(self.root / rel_folder if rel_folder else self.root) as listing:
                found = [(e.name + "/" if _is_dir(e) else e.name, e) for e in listing]
        except OSError as error:
            # A folder that cannot be listed: its files are not silently left out.
            why = f"a folder that cannot be listed: {error.strerror or error}"
            self.skipped.append(Skip(rel_folder or ".", why))
            return []
        return sorted(found, key=lambda pair: pair[0])

    def walk(self, top: str, real_top: Path) -> Spill:
        """The files below one folder, depth first in path order."""
        spill = Spill()
        self.walked[real_top] = top or "."
        stack = [(top, real_top, iter(self.entries(top)))]
        while stack:
            rel_folder, real_folder, listing = stack[-1]
            item = next(listing, None)
            if item is None:
                stack.pop()
                continue
            key, entry = item
            rel = f"{rel_folder}/{entry.name}" if rel_folder else entry.name
            if key.endswith("/"):
                if self.folder_kept(rel, entry, real_folder / entry.name):
                    self.walked[real_folder / entry.name] = rel
                    stack.append((rel, real_folder / entry.name, iter(self.entries(rel))))
                continue
            ending = split_ending(entry.name)[1].lower()
            if ending in self.allowed:
                self.add_file(spill, rel, entry)
            elif ending in LABEL_ENDINGS and _name_refusal(rel) is None:
                self.label_like.append(rel)
        return spill

    def folder_kept(self, rel: str, entry: os.DirEntry[str], real: Path) -> bool:
        """Whether to walk a folder met in a listing (a link is walked later, or skipped)."""
        if entry.is_symlink():
            refusal = _name_refusal(rel)
            if refusal is not None:
                self.skipped.append(refusal)
            elif self.follow_links:
                heapq.heappush(self.linked, rel)
            else:
                self.skipped.append(Skip(rel, f"a symbolic link to a folder ({FOLLOW_HINT})"))
            return False
        if real in self.walked:
            # Only below a linked folder: its target overlaps a folder already walked.
            self.skipped.append(Skip(rel, f"the same folder as {self.walked[real]}, already read"))
            return False
        return True

    def add_file(self, spill: Spill, rel: str, entry: os.DirEntry[str]) -> None:
        """Add a file met in a listing to the candidates, or skip it with a reason."""
        refusal = _name_refusal(rel)
        if refusal is not None:
            self.skipped.append(refusal)
            return
        # The listing's file types (an lstat only where the file system gives none).
        link = entry.is_symlink()
        if link:
            reason = _link_refusal(Path(entry.path), self.real_root, self.follow_links)
            if reason:
                self.skipped.append(Skip(rel, reason))
                return
        elif not entry.is_file(follow_symlinks=False):
            self.skipped.append(Skip(rel, "not a regular file (FIFO, socket or device)"))
            return
        spill.add(rel, link)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """Whether an entry is a folder or a link to one (as ``os.walk`` tells them)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _name_refusal(rel: str) -> Skip | None:
    """A file (or linked folder) skipped for its name alone, or None."""
    if not _is_utf8(rel):
        # The manifest is UTF-8 JSON: such a name cannot be recorded as it is on disk.
        shown = os.fsencode(rel).decode("utf-8", "backslashreplace")
        return Skip(shown, "the file name is not valid UTF-8; rename it")
    top = rel.split("/", 1)[0]
    if top in RESERVED:
        return Skip(rel, f"inside {top!r}, a name augtool keeps for its own files")
    if rel.rpartition("/")[2].startswith(TEMP_PREFIX):
        # Its outputs would bear the prefix too, and every run removes such files.
        why = f"named like augtool's temp files ({TEMP_PREFIX!r}), which a run removes; rename it"
        return Skip(rel, why)
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
