"""Where a YOLO dataset's splits are: its ``data.yaml``, or, without one, its folders.

``data.yaml`` (or ``dataset.yaml``), as Ultralytics reads it:

- ``train``, ``val``, ``test`` (and ``minival``): a folder, or a list of folders, of images,
  relative to the dataset root. ``path:`` is where that root lies on the machine that trains; the
  input folder is the root here, so ``path`` only counts when it names a folder inside it.
- Roboflow writes ``train: ../train/images``. Ultralytics takes a ``../X`` that does not exist as
  ``X`` below the root, and so does augtool (a ``../X`` whose ``X`` is not there is refused: it
  points outside the dataset; but for ``test`` and ``minival``, which Roboflow names even when
  it exports no such folder, it is ``X``, a split with no images).
- ``names``: a list, or a mapping of class id to name; without it, ``nc`` names the classes
  ``class_0``... as Ultralytics does.

Without ``data.yaml``, the folders say it: ``images/<split>/`` with ``labels/<split>/``
(Ultralytics), ``<split>/images/`` with ``<split>/labels/`` (Roboflow), or one ``images/`` with
``labels/`` beside it (no splits: augmented as one).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from augtool.layouts.base import AnnotationError

#: The keys of ``data.yaml`` that name split folders (``minival``: Ultralytics' COCO files).
SPLIT_KEYS = ("train", "val", "test", "minival")
#: The split keys Ultralytics does not need a folder for while training.
OPTIONAL_KEYS = ("test", "minival")
YAML_NAMES = ("data.yaml", "dataset.yaml")
IMAGES, LABELS = "images", "labels"


@dataclass(frozen=True)
class YoloSplits:
    """What a YOLO dataset says of itself: its ``data.yaml`` (None without one), the class
    names and each split's image folders (relative to the root, in the order given)."""

    yaml_name: str | None
    names: dict[int, str] = field(default_factory=dict)
    folders: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: each split given as a list file (``train: train.txt``): the file, written again with
    #: every output image of the split
    lists: dict[str, str] = field(default_factory=dict)
    #: the images the list files name: image -> split
    listed: dict[str, str] = field(default_factory=dict)


def find_yaml(root: Path) -> str | None:
    for name in YAML_NAMES:
        if (root / name).is_file():
            return name
    return None


def has_label_folders(root: Path, split_names: set[str]) -> bool:
    """A ``labels`` folder holding a ``.txt`` beside an ``images`` one, at the root or in a split
    folder (``train/images`` + ``train/labels``)."""
    bases = [root, *(root / name for name in sorted(split_names))]
    for base in bases:
        labels = base / LABELS
        usable = (base / IMAGES).is_dir() and labels.is_dir() and not labels.is_symlink()
        if usable and next(iter(labels.rglob("*.txt")), None) is not None:
            return True
    return False


def folder_splits(root: Path, split_names: set[str]) -> YoloSplits:
    """The splits of a dataset without ``data.yaml``: ``images/<split>`` and ``<split>/images``
    folders named like a split; none when there are none (one unsplit ``images/``)."""
    folders: dict[str, tuple[str, ...]] = {}
    for split in sorted(split_names):
        found = tuple(
            folder
            for folder in (f"{IMAGES}/{split}", f"{split}/{IMAGES}")
            if (root / folder).is_dir()
        )
        if found:
            folders[split] = found
    return YoloSplits(None, {}, folders, {})


def read_data_yaml(root: Path) -> tuple[str, dict[int, str], dict[str, tuple[str, ...]]]:
    """``data.yaml`` (or ``dataset.yaml``): its file name, the class names and each split's
    image folders (relative to the dataset root). Paths that leave the dataset are refused."""
    splits = yaml_splits(root)
    assert splits.yaml_name is not None
    return splits.yaml_name, splits.names, splits.folders


def yaml_splits(root: Path) -> YoloSplits:
    """What ``data.yaml`` says; a split given as a list file (``train: train.txt``, as CVAT
    exports) has the file in ``lists`` and its images in ``listed``."""
    name = find_yaml(root)
    if name is None:
        raise AnnotationError(f"{root}: no data.yaml (a YOLO dataset names its splits there)")
    path = root / name
    data = _load(path)
    if not isinstance(data, dict):
        raise AnnotationError(f"{path}: expected a mapping with names and train/val paths")
    if "kpt_shape" in data:
        # Keypoint lines would parse as polygons and move wrongly: refused, not misread.
        raise AnnotationError(
            f"{path}: kpt_shape: YOLO pose labels (keypoints) are not supported; convert them "
            "to COCO keypoints (input.layout: coco)"
        )
    names = _names(data.get("names"), data.get("nc"), path)
    base = _base(root, data.get("path"))
    splits: dict[str, tuple[str, ...]] = {}
    lists: dict[str, str] = {}
    listed: dict[str, str] = {}
    for key in SPLIT_KEYS:
        value = data.get(key)
        if value is None or value == []:
            continue
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) and v for v in values):
            raise AnnotationError(f"{path}: {key}: expected a folder path, got {value!r}")
        places: list[str] = []
        for folder in (_folder(root, base, v, path, key) for v in values):
            if not (root / folder).is_file():
                places.append(folder)
            elif key in lists:
                raise AnnotationError(f"{path}: {key}: name one list file, not several")
            else:
                lists[key] = folder
                for image in _listed(root, folder, path, key):
                    listed.setdefault(image, key)
        splits[key] = tuple(places)
    if not splits:
        raise AnnotationError(f"{path}: names no split folder (train:, val:, test:)")
    return YoloSplits(name, names, splits, lists, listed)


def _listed(root: Path, rel: str, path: Path, key: str) -> list[str]:
    """The images a list file names, each relative to the list's folder (Ultralytics reads a
    ``./x`` line so; CVAT writes ``images/train/x.jpg`` beside ``data.yaml``)."""
    try:
        text = (root / rel).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"{path}: {key}: cannot read {rel}: {exc}") from None
    folder = posixpath.dirname(rel)
    images = []
    for line in text.splitlines():
        entry = line.strip()
        if not entry:
            continue
        try:
            images.append(_inside(posixpath.join(folder, entry.removeprefix("./"))))
        except ValueError:
            raise AnnotationError(
                f"{path}: {key}: {rel} lists {entry!r}, outside the dataset; list paths "
                "relative to the list file"
            ) from None
    return images


def list_text(list_path: str, images: list[str], dotted: bool) -> bytes:
    """A split's list file naming ``images`` (relative to the root), relative to the list's
    folder, with ``./`` when the source's lines had it."""
    folder = posixpath.dirname(list_path)
    lines = [posixpath.relpath(image, folder) if folder else image for image in images]
    return "".join(("./" if dotted else "") + line + "\n" for line in lines).encode("utf-8")


def dotted(root: Path, list_path: str) -> bool:
    """Whether the source's list file writes its lines as ``./x``."""
    for line in (root / list_path).read_text(encoding="utf-8-sig").splitlines():
        if line.strip():
            return line.strip().startswith("./")
    return False


def _load(path: Path) -> Any:
    # Here, not at the top: workers import the layouts and never read YAML.
    import yaml

    from augtool.recipe.yaml_source import yaml_problem

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"{path}: cannot read: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem, line, column = yaml_problem(exc, text)
        where = path if line is None else f"{path}:{line}:{column}"
        raise AnnotationError(f"{where}: invalid YAML: {problem}") from None


def _names(value: Any, count: Any, path: Path) -> dict[int, str]:
    if value is None and isinstance(count, int) and not isinstance(count, bool) and count > 0:
        return {i: f"class_{i}" for i in range(count)}
    if isinstance(value, list):
        names = {i: str(v) for i, v in enumerate(value)}
    elif isinstance(value, dict) and all(
        isinstance(k, int) and not isinstance(k, bool) for k in value
    ):
        names = {int(k): str(v) for k, v in value.items()}
    else:
        raise AnnotationError(f"{path}: names: expected a list or a mapping of class id to name")
    if count is not None and count != len(names):
        raise AnnotationError(f"{path}: nc is {count!r} but names has {len(names)} classes")
    return names


def _base(root: Path, value: Any) -> str:
    """The folder the split paths are relative to: ``path`` when it is a folder inside the input
    (``path: .``), else the input itself (``path: /content/datasets/x``, ``path: ../datasets/x``
    name where the dataset lay when it was made)."""
    if not isinstance(value, str) or not value.strip():
        return ""
    try:
        inside = _inside(value)
    except ValueError:
        return ""
    return inside if inside and (root / inside).is_dir() else ""


def _inside(value: str) -> str:
    """``value`` as a normalised relative path inside the root ("" for the root itself); raises
    ValueError when it is absolute or leaves the root."""
    text = value.replace("\\", "/")
    if text.startswith(("/", "~")) or (len(text) > 1 and text[1] == ":"):
        raise ValueError(value)
    normal = posixpath.normpath(text)
    if normal == ".":
        return ""
    if normal == ".." or normal.startswith("../"):
        raise ValueError(value)
    return str(PurePosixPath(normal))


def _folder(root: Path, base: str, value: str, path: Path, key: str) -> str:
    refusal = AnnotationError(
        f"{path}: {key}: {value!r} points outside the dataset; use a path inside it"
    )
    joined = posixpath.join(base, value.replace("\\", "/")) if base else value
    try:
        return _inside(joined).rstrip("/")
    except ValueError:
        pass
    if value.startswith("../"):
        # Ultralytics' rule for Roboflow's exports: a missing ../X is X below the root.
        try:
            stripped = _inside(posixpath.join(base, value[3:]) if base else value[3:])
        except ValueError:
            raise refusal from None
        if stripped and (root / stripped).is_dir():
            return stripped
        if stripped and key in OPTIONAL_KEYS:
            # Roboflow writes ``test: ../test/images`` for a version without test images and
            # no ``test/`` folder; Ultralytics maps it to ``test/images`` and never opens it
            # while training: a split with no images here, not a path out of the dataset.
            return stripped
    raise refusal
