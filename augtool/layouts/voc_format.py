"""The Pascal VOC annotation file: one XML per image (``Annotations/<id>.xml``).

Read (safely: :mod:`augtool.layouts.safexml` refuses any DOCTYPE, so no entity is expanded):
each ``object``'s ``bndbox`` (``xmin ymin xmax ymax``) is a box, and so is each of its
``part``'s (VOC's person layout: head, hands, feet). Coordinates are taken as pixel edges, as
CVAT, LabelImg and Albumentations' ``pascal_voc`` take them (the VOC devkit's own files count
from 1, a pixel's shift that no tool corrects). A box that reaches outside the image is clipped
to it on reading, with the fraction left in view as its visibility: it is then dropped like a box
a step moved out (the manifest's ``dropped``), or written clipped with ``truncated`` set to 1.

Written: the same XML, every element and comment carried, with ``size`` set to the output's,
each kept box moved (integers when the file's coordinates were all integers, else two
decimals), ``truncated`` set to 1 on a box that was clipped, the objects and parts that were
dropped removed, ``segmented`` set to 0 (a variant has no segmentation PNG), and, through
:func:`named`, ``filename`` (and ``path``, when there is one) naming the output image. With
``targets.flip_pairs``, a mirror swaps the pairs' names in each object's ``name`` and ``pose``
(``[Left, Right]`` turns VOC's poses).
"""

from __future__ import annotations

import copy
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from augtool.layouts import safexml
from augtool.layouts.base import AnnotationError
from augtool.media.image.targets import Targets, box_areas

CORNERS = ("xmin", "ymin", "xmax", "ymax")


def _document(data: bytes, where: str) -> safexml.Document:
    try:
        document = safexml.parse(data)
    except safexml.UnsafeXML as exc:
        raise AnnotationError(f"{where}: {exc}") from None
    if document.root.tag != "annotation":
        raise AnnotationError(
            f"{where}: the root element is <{document.root.tag}>, not <annotation>"
        )
    name = document.root.findtext("filename")
    if name is not None and _leaves(name.strip()):
        raise AnnotationError(
            f"{where}: filename {name.strip()!r} points outside the dataset; use a name inside it"
        )
    return document


def _leaves(name: str) -> bool:
    pure = PurePosixPath(name.replace("\\", "/"))
    return pure.is_absolute() or name.startswith("~") or ".." in pure.parts or ":" in name[:2]


def _corners(box: ET.Element | None, where: str) -> list[float]:
    if box is None:
        raise AnnotationError(f"{where}: no <bndbox>")
    values = []
    for corner in CORNERS:
        text = box.findtext(corner)
        try:
            value = float(str(text).strip())
        except ValueError:
            raise AnnotationError(f"{where}: <{corner}> is {text!r}, not a number") from None
        if not math.isfinite(value):
            raise AnnotationError(f"{where}: <{corner}> is {text!r}, not a finite number")
        values.append(value)
    if values[0] > values[2] or values[1] > values[3]:
        raise AnnotationError(f"{where}: the box {values} has xmin > xmax or ymin > ymax")
    return values


def _boxes(root: ET.Element, where: str) -> tuple[list[list[float]], list[dict[str, Any]]]:
    """Every box of the file with its label: ``{"object": i, "name": ...}`` for an object's,
    with ``"part": j`` for its ``j``-th part's."""
    boxes, labels = [], []
    for index, obj in enumerate(root.findall("object")):
        name = (obj.findtext("name") or "").strip()
        boxes.append(_corners(obj.find("bndbox"), f"{where}: object {index} ({name})"))
        labels.append({"object": index, "name": name})
        for part_index, part in enumerate(obj.findall("part")):
            part_where = f"{where}: object {index} ({name}), part {part_index}"
            boxes.append(_corners(part.find("bndbox"), part_where))
            labels.append({"object": index, "name": name, "part": part_index})
    return boxes, labels


def read(data: bytes, where: str, size: tuple[int, int]) -> Targets:
    """The boxes of a VOC XML for an image of ``size`` (height, width), clipped to it, each
    with the fraction of it left in view. Raises :class:`AnnotationError` naming ``where``."""
    document = _document(data, where)
    boxes, labels = _boxes(document.root, where)
    height, width = size
    array = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    clipped = np.clip(array, 0.0, [width, height, width, height])
    before, after = box_areas(array), box_areas(clipped)
    with np.errstate(divide="ignore", invalid="ignore"):
        visible = np.where(
            before > 0, after / before, np.all(clipped == array, axis=1).astype(float)
        )
    return Targets(size, boxes=clipped, box_labels=labels, box_visibility=visible)


@dataclass(frozen=True)
class PartnerXML:
    """The XML of a partner whose objects a synthesis step brought in, by its ``slot``."""

    slot: int
    data: bytes
    where: str


def write(
    data: bytes,
    where: str,
    targets: Targets,
    swap: dict[str, str],
    partners: Sequence[PartnerXML] = (),
) -> tuple[bytes, list[str]]:
    """The source XML ``data`` with the kept, moved ``targets`` (of :func:`read`'s labels):
    dropped objects and parts removed, boxes and ``size`` set, ``truncated`` set on a box that
    was clipped, ``name`` and ``pose`` swapped by ``swap``; and the names it swapped. The kept
    objects of ``partners`` (labelled with their ``"partner"`` slot) follow the source's,
    copied from their XMLs and written the same way."""
    swapped: set[str] = set()
    document = _document(data, where)
    root = document.root
    theirs = [(p.slot, _document(p.data, p.where).root) for p in partners]
    integers = _all_integers(root) and all(_all_integers(r) for _, r in theirs)
    kept = {_key(label): i for i, label in enumerate(targets.box_labels)}
    for obj in _moved_objects(root, -1, kept, targets, integers):
        swapped |= _swap(obj, swap)
    for slot, their_root in theirs:
        for obj in _moved_objects(their_root, slot, kept, targets, integers):
            brought = copy.deepcopy(obj)
            _append(root, brought)
            swapped |= _swap(brought, swap)
    height, width = targets.size
    size = _child(root, "size", before="object")
    _child(size, "width").text = str(width)
    _child(size, "height").text = str(height)
    segmented = root.find("segmented")
    if segmented is not None:
        segmented.text = "0"
    return safexml.to_bytes(document), sorted(swapped)


def named(data: bytes, where: str, image_name: str) -> bytes:
    """The XML ``data`` with ``filename`` set to ``image_name`` (and ``path``'s last part)."""
    document = _document(data, where)
    root = document.root
    _child(root, "filename", before="size").text = image_name
    path = root.find("path")
    if path is not None and path.text:
        cut = max(path.text.rfind("/"), path.text.rfind("\\"))
        path.text = path.text[: cut + 1] + image_name
    return safexml.to_bytes(document)


def _moved_objects(
    root: ET.Element, slot: int, kept: dict[Any, int], targets: Targets, integers: bool
) -> list[ET.Element]:
    """The objects of ``root`` (the source's, slot -1, or a partner's) that are kept, with
    their boxes set and their dropped parts removed; the dropped objects removed from it."""
    found = []
    for index, obj in enumerate(root.findall("object")):
        box = kept.get((slot, index, None))
        if box is None:
            _remove(root, obj)
            continue
        _set_box(obj, targets, box, integers)
        for part_index, part in enumerate(obj.findall("part")):
            part_box = kept.get((slot, index, part_index))
            if part_box is None:
                _remove(obj, part)
            else:
                _set_box(part, targets, part_box, integers)
        found.append(obj)
    return found


def _swap(obj: ET.Element, swap: dict[str, str]) -> set[str]:
    """Swap the object's ``name`` and ``pose`` by ``swap``; the names swapped."""
    swapped = set()
    for field in ("name", "pose"):
        element = obj.find(field)
        if element is not None and element.text and element.text.strip() in swap:
            swapped.add(element.text.strip())
            element.text = swap[element.text.strip()]
    return swapped


def label_order(label: dict[str, Any]) -> tuple[int, int, int]:
    """A box's place in a written file: the source's objects, then each partner's."""
    return int(label.get("partner", -1)), int(label["object"]), int(label.get("part", -1))


def _key(label: dict[str, Any]) -> tuple[int, int, int | None]:
    return int(label.get("partner", -1)), int(label["object"]), label.get("part")


def _append(parent: ET.Element, child: ET.Element) -> None:
    """Add ``child`` after ``parent``'s last object (at the end when it has none), indented
    like its siblings."""
    children = list(parent)
    objects = [i for i, c in enumerate(children) if c.tag == "object"]
    at = objects[-1] + 1 if objects else len(children)
    if at > 0:
        before = children[at - 1]
        child.tail = before.tail
        if at == len(children):
            before.tail = children[at - 2].tail if at > 1 else parent.text
    else:
        child.tail = parent.text
    parent.insert(at, child)


def _all_integers(root: ET.Element) -> bool:
    """Whether every coordinate the file holds is written as an integer."""
    for box in root.iter("bndbox"):
        for corner in CORNERS:
            text = (box.findtext(corner) or "").strip()
            if not text.lstrip("-").isdigit():
                return False
    return True


def _number(value: float, integers: bool) -> str:
    if integers:
        return str(math.floor(value + 0.5))
    text = f"{value:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _set_box(owner: ET.Element, targets: Targets, index: int, integers: bool) -> None:
    box = owner.find("bndbox")
    assert box is not None  # read() refused a box without one
    for corner, value in zip(CORNERS, targets.boxes[index], strict=True):
        _child(box, corner).text = _number(float(value), integers)
    if targets.box_visibility[index] < 1.0 and owner.tag == "object":
        _child(owner, "truncated", before="bndbox").text = "1"


def _child(parent: ET.Element, tag: str, before: str | None = None) -> ET.Element:
    """``parent``'s first ``tag`` element, made (indented like its siblings, ahead of the first
    ``before`` element) when it has none."""
    found = parent.find(tag)
    if found is not None:
        return found
    children = list(parent)
    index = next((i for i, c in enumerate(children) if c.tag == before), len(children))
    element = ET.Element(tag)
    if children and index < len(children):
        element.tail = children[index - 1].tail if index > 0 else parent.text
    elif children:
        element.tail = children[-1].tail
        children[-1].tail = children[-2].tail if len(children) > 1 else parent.text
    parent.insert(index, element)
    return element


def _remove(parent: ET.Element, child: ET.Element) -> None:
    """Remove ``child``, keeping the indentation of what follows it."""
    children = list(parent)
    index = children.index(child)
    if index == len(children) - 1 and index > 0:
        children[index - 1].tail = child.tail
    parent.remove(child)


__all__ = ["CORNERS", "PartnerXML", "label_order", "named", "read", "write"]
