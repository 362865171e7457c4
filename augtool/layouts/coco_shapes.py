"""Where a COCO dataset keeps its JSONs: which split each one is, and where its images lie.

The ``coco`` layout reads the shapes that tools export (``input.layout: coco`` takes any of
them; ``auto`` finds them all):

- **one JSON per split** under ``annotations/``: ``instances_<split>.json`` (COCO's own
  ``instances_train2017.json``) or ``<split>.json``, the split's images in ``<split>/`` or
  ``images/<split>/``, or all splits' in one shared ``images/`` folder. A lone JSON is a
  split's when a folder of its name holds images; of several JSONs, each is a split's.
- **one JSON for all** under ``annotations/`` (``instances.json``, CVAT's
  ``instances_default.json``, or any lone JSON whose name is no folder's): a dataset without
  splits, augmented as a whole; its images in ``images/`` (CVAT: ``images/default/``) or beside
  the ``annotations`` folder.
- **Roboflow's export**: each split folder (``train/``, ``valid/``, ``test/``) holds
  ``_annotations.coco.json`` beside its images; a lone ``_annotations.coco.json`` at the root
  is a dataset without splits.

A JSON's ``file_name`` entries are relative to its image folder: its split's folder, or for a
dataset without splits the first candidate in which they are found (a tool that writes
``images/x.jpg`` relative to the root is read too). Shapes that cannot be told apart safely
are refused, never guessed: both an ``annotations/`` folder and Roboflow JSONs, two JSONs of
one split, a JSON of a dataset without splits beside others, or split JSONs sharing the root
as their image folder (no split could be checked for leakage there).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from augtool.layouts.base import AnnotationError

ANNOTATIONS_FOLDER = "annotations"
#: The JSON in each split folder of a Roboflow COCO export.
ROBOFLOW_JSON = "_annotations.coco.json"
#: The JSON names (less ``instances_``) of a dataset without splits: ``instances.json`` and
#: CVAT's ``instances_default.json`` (its task without subsets is the subset "default").
UNSPLIT_NAMES = ("instances", "default")
#: Folder names that are never a split's, whatever a JSON is called.
NOT_SPLITS = (ANNOTATIONS_FOLDER, "images")


@dataclass(frozen=True)
class CocoFile:
    """One annotation JSON: its path (relative to the root), its split (None: the dataset has
    no splits) and the folders its ``file_name`` entries may be relative to, in order."""

    json_path: str
    split: str | None
    folders: tuple[str, ...]


def has_coco_files(root: Path) -> bool:
    """Whether ``root`` holds COCO JSONs in one of the shapes above (nothing is parsed)."""
    folder = root / ANNOTATIONS_FOLDER
    if folder.is_dir() and any(folder.glob("*.json")):
        return True
    return bool(_roboflow_files(root))


def coco_files(root: Path) -> list[CocoFile]:
    """The dataset's JSONs in path order, each with its split and image folders. Raises
    :class:`AnnotationError` when there are none, or when the shape is ambiguous."""
    folder = root / ANNOTATIONS_FOLDER
    listed = sorted(folder.glob("*.json")) if folder.is_dir() else []
    roboflow = _roboflow_files(root)
    if listed and roboflow:
        raise AnnotationError(
            f"{root}: both {ANNOTATIONS_FOLDER}/*.json and Roboflow's {roboflow[0].json_path}: "
            "two COCO datasets in one folder; keep one of them"
        )
    if roboflow:
        return roboflow
    if not listed:
        raise AnnotationError(
            f"{root}: no {ANNOTATIONS_FOLDER}/*.json and no <split>/{ROBOFLOW_JSON} "
            "(a COCO dataset's labels)"
        )
    files = [_annotations_file(root, path) for path in listed]
    if len(files) == 1 and files[0].split is None:
        return files
    files = [_shared_split(root, file, files) for file in files]
    seen: dict[str | None, str] = {}
    for file in files:
        if file.split in seen:
            raise AnnotationError(
                f"{root}: {seen[file.split]} and {file.json_path} are both the JSON of split "
                f"{file.split!r}; keep one JSON per split"
            )
        seen[file.split] = file.json_path
    return files


def _shared_split(root: Path, file: CocoFile, files: list[CocoFile]) -> CocoFile:
    """One of several JSONs: a split's even without a folder of its own, its images then in
    the one ``images/`` folder all such splits share. Refuses a JSON of a dataset without
    splits beside others, and split JSONs whose images lie at the root (where no split could
    be checked for leakage)."""
    if file.split is not None:
        return file
    names = ", ".join(f.json_path for f in files)
    name = _split_name(Path(file.json_path).stem)
    if not name or name in UNSPLIT_NAMES or name in NOT_SPLITS:
        raise AnnotationError(
            f"{root}: {file.json_path} is the JSON of a dataset without splits, beside others "
            f"({names}); keep it alone, or name each JSON after its split"
        )
    if not (root / "images").is_dir():
        raise AnnotationError(
            f"{root}: several COCO JSONs ({names}) and no split folder ({name}/ or "
            f"images/{name}/) nor images/ folder holding their images; put them in images/ or "
            "each split's in the folder named after its JSON"
        )
    return CocoFile(file.json_path, name, ("images",))


def _annotations_file(root: Path, path: Path) -> CocoFile:
    """A JSON under ``annotations/``: a split's when a folder of its name exists."""
    rel = f"{ANNOTATIONS_FOLDER}/{path.name}"
    name = _split_name(path.stem)
    own = tuple(f for f in (name, f"images/{name}") if _is_split_folder(root, name, f))
    if own:
        return CocoFile(rel, name, own)
    return CocoFile(rel, None, ("images/default", "images", ""))


def _split_name(stem: str) -> str:
    return "" if stem == "instances" else stem.removeprefix("instances_")


def _is_split_folder(root: Path, name: str, folder: str) -> bool:
    if not name or name in UNSPLIT_NAMES or name in NOT_SPLITS:
        return False
    return (root / folder).is_dir()


def _roboflow_files(root: Path) -> list[CocoFile]:
    """Roboflow's JSONs: one in each top-level folder that holds one (that folder is the
    split), or one at the root (no splits)."""
    if (root / ROBOFLOW_JSON).is_file():
        return [CocoFile(ROBOFLOW_JSON, None, ("",))]
    try:
        folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return []
    return [
        CocoFile(f"{name}/{ROBOFLOW_JSON}", name, (name,))
        for name in folders
        if (root / name / ROBOFLOW_JSON).is_file()
    ]


def image_folder(root: Path, file: CocoFile, names: list[str]) -> str:
    """The folder ``file``'s image names are relative to: the first candidate in which one of
    its first names is found, else the first that exists (else the root)."""
    probe = names[:32]
    existing = [f for f in file.folders if not f or (root / f).is_dir()]
    for folder in existing:
        base = root / folder if folder else root
        if any((base / name).is_file() for name in probe):
            return folder
    return existing[0] if existing else ""
