"""The ``voc`` layout (Pascal VOC): ``JPEGImages/<id>.jpg`` with ``Annotations/<id>.xml``, and
the split lists ``ImageSets/Main/<split>.txt`` (one id a line) when the dataset has splits.

Each image's XML is its label file (the format: :mod:`augtool.layouts.voc_format`): an
original's is copied as it is, a variant's is written moved, naming its image. An image
without its XML is skipped (VOC readers open the XML of every listed id). With split lists,
an image's split is the list naming its id, and an image no list names is skipped; without
them the dataset is one unsplit set, augmented. Each split list is then derived from the image
lines (every output's id, sorted), as is ``trainval.txt`` (train and val together) when the
input has one and ``trainval`` is not a split of its own. Other files under ``ImageSets/``
(per-class lists, segmentation lists) are not written: they would list the originals only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from augtool.errors import InputError
from augtool.layouts import class_counts as counters
from augtool.layouts import voc_format
from augtool.layouts.base import (
    EveryName,
    LabelRules,
    Layout,
    Moved,
    Record,
    SourceLabels,
)
from augtool.layouts.discovery import Dataset, Skip, Source, Walk, sorted_skips
from augtool.layouts.labelfiles import _label_file
from augtool.media.image.targets import Targets

IMAGES = "JPEGImages"
ANNOTATIONS = "Annotations"
LISTS = "ImageSets/Main"
#: VOC's segmentation PNGs, which this layout does not move: skipped with that reason.
MASK_FOLDERS = ("SegmentationClass", "SegmentationObject")


@dataclass(frozen=True)
class VocLists:
    """The split lists of a VOC dataset: each split's list file, and ``trainval.txt`` when it
    is derived from train and val."""

    lists: dict[str, str] = field(default_factory=dict)
    trainval: str | None = None


class VocLayout(Layout):
    name = "voc"
    detect_order = 15
    labelled = True
    label_files = True
    object_labels = True
    # A moved box under a pixel wide or high labels nothing a detector can use.
    min_box_side = 1.0
    takes_partners = True

    def class_counts(self, data: bytes, where: str) -> dict[str, int] | None:
        # the ImageSets lists are the layout's files too, and name no classes
        return counters.voc(data, where) if where.lower().endswith(".xml") else None

    def detect(self, root: Path, candidates: list[str], split_names: set[str]) -> bool:
        return (root / IMAGES).is_dir() and (root / ANNOTATIONS).is_dir()

    def discover(
        self,
        root: Path,
        walk: Walk,
        split_names: set[str],
        augmented: set[str],
        follow_links: bool,
    ) -> Dataset:
        if not (root / IMAGES).is_dir() or not (root / ANNOTATIONS).is_dir():
            raise InputError(f"{root}: no {IMAGES}/ and {ANNOTATIONS}/ folders (a VOC dataset)")
        state, membership = read_lists(root, split_names)
        skipped = list(walk.skipped)
        sources: list[Source] = []
        seen: set[str] = set()
        for rel in walk.candidates:
            top = rel.split("/", 1)[0]
            if top != IMAGES:
                reason = (
                    f"a VOC segmentation PNG ({top}/), which the voc layout does not move"
                    if top in MASK_FOLDERS
                    else f"outside {IMAGES}/"
                )
                skipped.append(Skip(rel, reason))
                continue
            image_id = image_id_of(rel)
            seen.add(image_id)
            annotation = str(self.label_path(rel))
            has_label, refusal = _label_file(root, annotation, follow_links)
            if refusal is None and not has_label:
                refusal = f"no annotation {annotation}"
            split: str | None = None
            if refusal is None and state.lists:
                named = membership.get(image_id, [])
                if not named:
                    refusal = f"not listed in {_list_names(state)}"
                elif len(named) > 1:
                    refusal = f"listed in more than one split list ({', '.join(named)})"
                else:
                    split = named[0]
            if refusal is not None:
                skipped.append(Skip(rel, refusal))
                continue
            augment = split is None or split in augmented
            sources.append(Source(rel, split, None, augment, rel in walk.links, annotation))
        for image_id, named in sorted(membership.items()):
            if image_id not in seen:
                where = state.lists[named[0]]
                skipped.append(Skip(f"{IMAGES}/{image_id}", f"listed in {where}, no image here"))
        return Dataset(
            root=root,
            layout=self.name,
            splits=tuple(sorted({s.split for s in sources if s.split is not None})),
            sources=tuple(sources),
            skipped=sorted_skips(skipped),
            state=state if state.lists else None,
        )

    def label_path(self, image_path: str) -> str | None:
        """``JPEGImages/x.jpg`` -> ``Annotations/x.xml``."""
        if not image_path.startswith(IMAGES + "/"):
            return None
        return f"{ANNOTATIONS}/{image_id_of(image_path)}.xml"

    def vocabulary(self, dataset: Dataset) -> tuple[Any, ...]:
        return ()

    def known_names(self, vocabulary: tuple[Any, ...]) -> set[str]:
        return EveryName()

    def read(self, labels: SourceLabels, rules: LabelRules, size: tuple[int, int]) -> Targets:
        assert labels.data is not None
        return voc_format.read(labels.data, labels.where, size)

    def with_partners(
        self, labels: SourceLabels, partners: dict[int, tuple[SourceLabels, Targets]]
    ) -> tuple[SourceLabels, dict[int, Targets]]:
        """The partners' objects follow the source's in the written XML (copied from their
        XMLs); each partner's boxes are labelled with its slot (``"partner": 0``)."""
        extra = list(labels.extra)
        relabelled = {}
        for slot, (theirs, targets) in sorted(partners.items()):
            assert theirs.data is not None
            extra.append(voc_format.PartnerXML(slot, theirs.data, theirs.where))
            relabelled[slot] = targets.replace(
                box_labels=[{**label, "partner": slot} for label in targets.box_labels]
            )
        return replace(labels, extra=tuple(extra)), relabelled

    def moved(
        self,
        labels: SourceLabels,
        kept: Targets,
        dropped: list[Any],
        rules: LabelRules,
        flipped: bool,
    ) -> Moved:
        assert labels.data is not None
        swap = rules.swapped_names(flipped)
        said: Record = {"dropped": sorted(dropped, key=voc_format.label_order)}
        data, swapped = voc_format.write(labels.data, labels.where, kept, swap, labels.extra)
        if swapped:
            said["flipped_labels"] = swapped
        return Moved(kept, label=data, said=said)

    def label_for(self, label: bytes, image_path: str) -> bytes:
        return voc_format.named(label, image_path, PurePosixPath(image_path).name)

    def derived_line(self, record: Record) -> Record | None:
        """Every image line of a split under ``JPEGImages/``: its path is its id."""
        path = record.get("path")
        if record.get("kind") is not None or record.get("split") is None:
            return None
        if not isinstance(path, str) or not path.startswith(IMAGES + "/"):
            return None
        return {"path": path}

    def derived_names(self, state: VocLists | None) -> list[str]:
        if state is None:
            return []
        names = [state.lists[split] for split in sorted(state.lists)]
        return names + ([state.trainval] if state.trainval else [])

    def derived_file(
        self, state: VocLists | None, name: str, images: dict[str, list[Record]]
    ) -> bytes | None:
        """A split list: the id of every output of the split (of train and val for a
        ``trainval.txt`` that is not a split's), sorted."""
        if state is None or name not in (*state.lists.values(), state.trainval):
            return None
        split = PurePosixPath(name).stem
        splits = ["train", "val"] if split == "trainval" and split not in images else [split]
        ids = sorted({image_id_of(r["path"]) for s in splits for r in images.get(s, [])})
        return "".join(f"{image_id}\n" for image_id in ids).encode("utf-8")

    def in_split(self, path: str, split: Any) -> bool:
        """Any path: the split lists, not folders, hold the splits."""
        return True

    def source_rules(self, source_root: Path) -> tuple[tuple[Any, ...], Any]:
        """Every list file of the source: validate asks for the ones the manifest records."""
        folder = source_root / LISTS
        found = sorted(p.stem for p in folder.glob("*.txt")) if folder.is_dir() else []
        state = VocLists({stem: f"{LISTS}/{stem}.txt" for stem in found})
        return (), state if state.lists else None


def image_id_of(image_path: str) -> str:
    """``JPEGImages/x.jpg`` -> ``x`` (the id the split lists and the XML's name use)."""
    inside = image_path.split("/", 1)[1] if "/" in image_path else image_path
    return str(PurePosixPath(inside).with_suffix(""))


def _list_names(state: VocLists) -> str:
    return ", ".join(state.lists[split] for split in sorted(state.lists))


def read_lists(root: Path, split_names: set[str]) -> tuple[VocLists, dict[str, list[str]]]:
    """The split lists found among ``split_names``, and the splits naming each id. Raises
    ``InputError`` for a list that cannot be read or names an id outside ``JPEGImages/``."""
    lists: dict[str, str] = {}
    membership: dict[str, list[str]] = {}
    for split in sorted(split_names):
        rel = f"{LISTS}/{split}.txt"
        path = root / rel
        if not path.is_file() or path.is_symlink():
            continue
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{rel}: cannot read: {exc}") from None
        lists[split] = rel
        for number, line in enumerate(text.splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            pure = PurePosixPath(parts[0])
            if pure.is_absolute() or ".." in pure.parts or ":" in parts[0]:
                raise InputError(
                    f"{rel}:{number}: {parts[0]!r} points outside {IMAGES}/; list image ids"
                )
            membership.setdefault(parts[0], []).append(split)
    trainval = f"{LISTS}/trainval.txt"
    derived = (
        trainval
        if "trainval" not in lists and {"train", "val"} & set(lists) and (root / trainval).is_file()
        else None
    )
    return VocLists(lists, derived), membership


__all__ = ["VocLayout", "VocLists", "image_id_of", "read_lists"]
