"""``output.hf_metadata: true``: a ``metadata.jsonl`` in each split folder of a classification
output, so that Hugging Face's folder loaders (``datasets.load_dataset`` of image or audio
folders, ``data_dir=OUT``) load each file's label and provenance.

The loader's rules decide the shape: a metadata file describes the files in its folder and
below, ``file_name`` is relative to that folder, and once a metadata file exists the loader no
longer takes labels from folder names, so the label is a column here. Every split's file must
have the same columns with the same types, so a row never holds a null (Arrow types a column
that is null throughout as null, which would differ from a split that has numbers): an
original's ``variant`` is ``-1``. Each metadata file is listed in the manifest as a file of
the dataset (role ``dataset``, kind ``dataset``), so fixity covers it; croissant.json
describes media files only and leaves it out.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from augtool.canonical import canonical_json
from augtool.errors import InputError
from augtool.layouts import registry
from augtool.layouts.discovery import Dataset, split_parts
from augtool.manifest import RecordDict
from augtool.run.incremental import Previous, write_dataset_file
from augtool.run.journal import TaskResult

#: the name the loaders look for (``metadata.csv`` and ``.parquet`` are the others)
HF_METADATA_NAME = "metadata.jsonl"
#: ``variant`` of an original (the column must not be null, see the module's docstring)
ORIGINAL_VARIANT = -1


#: the media Hugging Face's folder loaders read
HF_MEDIA = ("image", "audio")


def check_layout(dataset: Dataset, medium: str, wanted: bool) -> None:
    """Refuse ``hf_metadata`` for a medium no folder loader reads, or a layout whose labels
    are not class folders."""
    if wanted and medium not in HF_MEDIA:
        raise InputError(
            f"{dataset.root}: output.hf_metadata: Hugging Face has no folder loader for "
            f"{medium} files (only {', '.join(HF_MEDIA)})"
        )
    if wanted and not registry.get(dataset.layout).class_folders:
        raise InputError(
            f"{dataset.root}: output.hf_metadata needs class folders (a layout whose labels "
            f"are the folders, as the loaders read them), this input is {dataset.layout}"
        )


def metadata_names(dataset: Dataset, wanted: bool) -> list[str]:
    """The metadata files a run writes: one in each split folder (at the root when the dataset
    has no splits), in path order; none unless ``wanted``."""
    if not wanted:
        return []
    folders = {_split_folder(s.path, set(dataset.splits)) for s in dataset.sources}
    return sorted(_in(folder, HF_METADATA_NAME) for folder in folders)


def _split_folder(path: str, splits: set[str]) -> str:
    """The split folder ``path`` lies in ("" for the root of an unsplit dataset)."""
    split, below = split_parts(path, splits)
    if split is None:
        return ""
    return path[: len(path) - len("/".join(below)) - 1]


def _in(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def metadata_row(record: RecordDict, folder: str, recipe_sha256: str) -> str:
    """The canonical JSON line (with its newline) describing one output file to the loader."""
    source = record["source"]
    variant = record.get("variant")
    row = {
        "file_name": record["path"][len(folder) + 1 :] if folder else record["path"],
        "label": record["label"],
        "role": record["role"],
        "source_path": source["path"],
        "source_sha256": source["sha256"],
        "variant": ORIGINAL_VARIANT if variant is None else variant,
        "recipe_sha256": recipe_sha256,
    }
    return canonical_json(row) + "\n"


def metadata_place(record: RecordDict, splits: set[str]) -> tuple[str, str] | None:
    """The metadata file an output line goes into and the folder it is relative to: every
    original and augmented media file, in the metadata file of its split folder (None for
    any other line)."""
    if record.get("type") != "file" or record.get("kind") is not None:
        return None
    if record.get("role") not in ("original", "augmented"):
        return None
    folder = _split_folder(record["path"], splits)
    return _in(folder, HF_METADATA_NAME), folder


class MetadataRows:
    """Each metadata file's rows, taken from the output lines in any order (the lines of a
    rerun's kept sources come before those it makes), written in path order."""

    def __init__(self, names: list[str], splits: set[str], recipe_sha256: str) -> None:
        self._splits = splits
        self._recipe_sha256 = recipe_sha256
        #: each file's rows, with the path of the output line each describes
        self._rows: dict[str, list[tuple[str, str]]] = {name: [] for name in names}

    def take(self, record: RecordDict) -> None:
        place = metadata_place(record, self._splits)
        if place is not None and place[0] in self._rows:
            row = metadata_row(record, place[1], self._recipe_sha256)
            self._rows[place[0]].append((record["path"], row))

    def files(self) -> dict[str, bytes]:
        """Each metadata file's bytes."""
        return {
            name: "".join(row for _, row in sorted(rows)).encode("utf-8")
            for name, rows in self._rows.items()
        }


def write_metadata_files(
    output_root: Path, files: dict[str, bytes], previous: Previous
) -> list[TaskResult]:
    """Write the metadata files as files of the dataset (listed in the manifest and
    SHA256SUMS; each its own source, being made from the manifest's lines alone)."""
    results = []
    for name, data in sorted(files.items()):
        sha = hashlib.sha256(data).hexdigest()
        results.append(write_dataset_file(output_root, name, data, sha, previous, "dataset"))
    return results
