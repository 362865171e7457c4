"""The ``coco`` layout: a JSON per split, one JSON for all, or Roboflow's per-split folders
(the shapes: :mod:`augtool.layouts.coco_shapes`; the file format itself:
:mod:`augtool.layouts.coco_format`).

A source's task carries its image entry and annotations (the payload); each output image's line
records its moved annotations (``coco``, with ``from``: the payload's hash) and the ids of the
annotations dropped. Each split's JSON is derived from the image lines after the run, and again
by ``validate --recompute``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from augtool.errors import InputError
from augtool.layouts import class_counts as counters
from augtool.layouts.base import (
    AnnotationError,
    LabelRules,
    Layout,
    Moved,
    Record,
    SourceLabels,
    partners,
    split_augmented,
)
from augtool.layouts.coco_format import (
    CocoDataset,
    CocoSplit,
    annotation_problem,
    categories_of,
    from_targets,
    image_task,
    keypoint_swaps,
    read_coco_dataset,
    split_json,
    to_targets,
)
from augtool.layouts.coco_licences import coco_licences
from augtool.layouts.coco_shapes import ANNOTATIONS_FOLDER, has_coco_files
from augtool.layouts.discovery import Dataset, Skip, Source, Walk, sorted_skips
from augtool.media.image.targets import Targets


class CocoLayout(Layout):
    name = "coco"
    detect_order = 20
    labelled = True
    record_fields = ("coco", "dropped")
    object_labels = True
    # A moved box under a pixel wide or high labels nothing a detector can use.
    min_box_side = 1.0
    recorded_words = ("the source's COCO JSON", "COCO annotations (or dropped ids)")
    takes_partners = True
    outlines = True

    def class_counts(self, data: bytes, where: str) -> dict[str, int] | None:
        return counters.coco(data, where)

    def detect(self, root: Path, candidates: list[str], split_names: set[str]) -> bool:
        return has_coco_files(root)

    def discover(
        self,
        root: Path,
        walk: Walk,
        split_names: set[str],
        augmented: set[str],
        follow_links: bool,
    ) -> Dataset:
        """The images its JSONs list; each names its JSON as its labels. A split is augmented
        when ``splits.augment`` names it, or names it less a year (COCO's ``train2017``)."""
        try:
            coco = read_coco_dataset(root)
        except AnnotationError as exc:
            raise InputError(str(exc)) from None
        skipped = list(walk.skipped)
        on_disk = set(walk.candidates)
        sources: list[Source] = []
        for rel in walk.candidates:
            listed = coco.images.get(rel)
            if listed is None:
                skipped.append(Skip(rel, f"not listed in {_json_names(coco)}"))
                continue
            if rel in coco.refused:  # an annotation that cannot be moved with its image
                skipped.append(Skip(rel, coco.refused[rel]))
                continue
            split = listed[0]
            annotation = coco.splits[split].json_path
            augment = split_augmented(split, augmented)
            sources.append(Source(rel, split, None, augment, rel in walk.links, annotation))
        for rel, (split, _, _) in coco.images.items():
            if rel not in on_disk:
                where = coco.splits[split].json_path
                skipped.append(Skip(rel, f"listed in {where} but not a readable image file here"))
        return Dataset(
            root=root,
            layout=self.name,
            splits=tuple(sorted({s.split for s in sources if s.split is not None})),
            sources=tuple(sources),
            skipped=sorted_skips(skipped),
            state=coco,
            split_folders=_shared_folders(coco),
        )

    def payload(self, state: CocoDataset | None, path: str) -> Any:
        """The source's image entry (less what the output JSON sets) and its annotations."""
        found = None if state is None else state.images.get(path)
        return None if found is None else image_task(*found[1:])

    def vocabulary(self, dataset: Dataset) -> tuple[Any, ...]:
        return () if dataset.state is None else tuple(categories_of(dataset.state))

    def known_names(self, vocabulary: tuple[Any, ...]) -> set[str]:
        known: set[str] = set()
        for category in vocabulary:
            known.add(category.get("name"))
            known.update(category.get("keypoints") or [])
        return known

    def read(self, labels: SourceLabels, rules: LabelRules, size: tuple[int, int]) -> Targets:
        return to_targets(labels.payload[1], size, labels.where)

    def with_partners(
        self, labels: SourceLabels, partners: dict[int, tuple[SourceLabels, Targets]]
    ) -> tuple[SourceLabels, dict[int, Targets]]:
        """The partners' annotations follow the source's (a dropped one is named by its
        partner's slot and id, ``"p0:17"``); each partner's targets point at them."""
        count = len(labels.payload[1]) + len(labels.extra)
        extra, relabelled = list(labels.extra), {}
        for slot, (theirs, targets) in sorted(partners.items()):
            anns = [] if theirs.payload is None else theirs.payload[1]
            extra += [{**ann, "id": f"p{slot}:{ann.get('id')}"} for ann in anns]
            relabelled[slot] = targets.replace(
                box_labels=[{"ann": count + lab["ann"]} for lab in targets.box_labels],
                polygon_labels=[{"ann": count + lab["ann"]} for lab in targets.polygon_labels],
            )
            count += len(anns)
        return replace(labels, extra=tuple(extra)), relabelled

    def moved(
        self,
        labels: SourceLabels,
        kept: Targets,
        dropped: list[Any],
        rules: LabelRules,
        flipped: bool,
    ) -> Moved:
        """The annotations moved: keypoints reordered and left/right categories swapped on a
        mirror; the targets are read back from the annotations written."""
        extra, anns = labels.payload
        anns = [*anns, *labels.extra]
        categories = list(rules.vocabulary)
        swap = keypoint_swaps(categories, list(rules.flip_pairs)) if flipped else None
        out = from_targets(anns, kept, swap)
        if flipped:
            ids = {c.get("name"): c.get("id") for c in categories}
            partner = partners(rules.flip_pairs, ids)
            for ann in out:
                ann["category_id"] = partner.get(ann.get("category_id"), ann.get("category_id"))
        gone = sorted(label["ann"] for label in dropped)
        try:
            written = to_targets(out, kept.size, labels.where)
        except AnnotationError:
            written = kept
        coco = {"image": extra, "annotations": out, "from": labels.payload_sha256}
        return Moved(
            written, image_fields={"coco": coco, "dropped": [anns[i].get("id") for i in gone]}
        )

    def original_fields(self, labels: SourceLabels | None, size: tuple[int, int]) -> Record:
        """An original's size and its annotations, less the ids the output's JSON assigns."""
        if labels is None or labels.payload is None:
            return {}
        entry, anns = labels.payload
        kept = [{k: v for k, v in a.items() if k not in ("id", "image_id")} for a in anns]
        coco = {"image": entry, "annotations": kept, "from": labels.payload_sha256}
        return {"image_size": list(size), "coco": coco}

    def source_licences(self, state: CocoDataset | None) -> dict[str, tuple[str, str | None]]:
        return coco_licences(state)

    def derived_names(self, state: CocoDataset | None) -> list[str]:
        if state is None:
            return []
        return sorted(split.json_path for split in state.splits.values())

    def derived_file(
        self, state: CocoDataset | None, name: str, images: dict[str, list[Record]]
    ) -> bytes | None:
        """The split's JSON, from its image lines: ids from 1, in path order."""
        for split_name, split in (state.splits if state is not None else {}).items():
            if split.json_path == name:
                return split_json(split, images.get(str(split_name), []))
        return None

    def source_rules(self, source_root: Path) -> tuple[tuple[Any, ...], Any]:
        dataset = read_coco_dataset(source_root)
        return tuple(categories_of(dataset)), dataset


def _shared_folders(coco: CocoDataset) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each split's image folder, when one is not named after its split (splits sharing one
    ``images/`` folder): the manifest header records them, and validate checks paths by them."""
    folders = {name: split.image_folder for name, split in coco.splits.items() if name}
    if all(folder in (name, f"images/{name}") for name, folder in folders.items()):
        return ()
    return tuple((name, (folder,)) for name, folder in sorted(folders.items()))


def _json_names(coco: CocoDataset) -> str:
    paths = sorted(split.json_path for split in coco.splits.values())
    return paths[0] if len(paths) == 1 else f"any of {', '.join(paths)}"


__all__ = [
    "ANNOTATIONS_FOLDER",
    "CocoDataset",
    "CocoLayout",
    "CocoSplit",
    "annotation_problem",
    "categories_of",
    "from_targets",
    "image_task",
    "keypoint_swaps",
    "read_coco_dataset",
    "split_json",
    "to_targets",
]
