"""``croissant.json``: the output described in MLCommons Croissant 1.0, for loaders and catalogues.

Croissant (JSON-LD) says what a dataset holds and where: here the manifest and SHA256SUMS as
FileObjects with their sha256, one FileSet of images per split (and per format), a RecordSet
``files`` whose fields (file, split, label, role, source, …) are read from the manifest's lines,
and a RecordSet per FileSet with each image and its path.

It sits beside the manifest and SHA256SUMS and is listed in neither: it holds their sha256, so
it cannot be listed in them. It is written from the manifest just written (one more streaming
read, no line held) and from nothing else, so it is as deterministic as the manifest: no time,
host or output folder name.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from augtool.atomic import write_atomic
from augtool.manifest.names import CROISSANT_NAME, MANIFEST_NAME, SUMS_NAME

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
#: The Croissant 1.0 JSON-LD context, as the reference library (mlcroissant) writes it.
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
#: The ``files`` record set's fields: name, data type, JSON path in a manifest line, meaning.
MANIFEST_FIELDS = (
    ("file", "sc:Text", "$.path", "the file's path in this folder"),
    ("split", "sc:Text", "$.split", "its split (train, val, ...), empty when there are none"),
    ("label", "sc:Text", "$.label", "its class label (imagefolder), empty otherwise"),
    ("role", "sc:Text", "$.role", "original (copied), augmented (a variant) or dataset"),
    ("source", "sc:Text", "$.source.path", "the input file it was made from"),
    ("source_sha256", "sc:Text", "$.source.sha256", "that input file's sha256"),
    ("sha256", "sc:Text", "$.sha256", "the file's sha256"),
    ("variant", "sc:Integer", "$.variant", "the variant index of an augmented file"),
)
_MEDIA_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".tif": "image/tiff"}


def media_type(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    found = _MEDIA_TYPES.get(suffix) or mimetypes.types_map.get(suffix)
    return found or "application/octet-stream"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _lines(manifest: Path) -> Iterator[dict[str, Any]]:
    with open(manifest, encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def _glob(path: str, split: str | None) -> str:
    """The folder pattern a content file falls under: everything up to its split's folder
    (``images/train/**``), else its top folder, then its file ending."""
    parts = PurePosixPath(path).parts
    folders = parts[:-1]
    if split is not None and split in folders:
        folders = folders[: folders.index(split) + 1]
    else:
        folders = folders[:1]
    suffix = PurePosixPath(path).suffix
    return "/".join([*folders, f"**/*{suffix}"]) if folders else f"*{suffix}"


class ContentFiles:
    """The patterns of the content files (images: not labels, not dataset files) by (split,
    media type), taken line by line as a manifest is written or read. A file's pattern and
    type depend only on its folder, ending and split, so each is worked out once a folder."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], set[str]] = {}
        self._known: set[tuple[str, str, Any]] = set()  # (folder, ending, split) seen

    def take(self, record: dict[str, Any]) -> None:
        if record.get("type") != "file" or "kind" in record:
            return
        self.take_paths((record["path"],), record.get("split"))

    def take_paths(self, paths: Iterable[str], split: str | None) -> None:
        """Content files of one split."""
        known, groups = self._known, self.groups
        for path in paths:
            slash, dot = path.rfind("/"), path.rfind(".")
            # The folder and the ending (as pathlib's suffix: not a leading or trailing dot).
            ending = path[dot:] if slash + 1 < dot < len(path) - 1 else ""
            key = (path[:slash] if slash > 0 else "", ending, split)
            if key not in known:
                known.add(key)
                groups.setdefault((split or "", media_type(path)), set()).add(_glob(path, split))


def _content_files(manifest: Path) -> tuple[dict[str, Any], dict[tuple[str, str], set[str]]]:
    """The header, and the patterns of the content files by (split, media type)."""
    header: dict[str, Any] = {}
    contents = ContentFiles()
    for line in _lines(manifest):
        if line.get("type") == "header":
            header = line
        contents.take(line)
    return header, contents.groups


def _header(manifest: Path) -> dict[str, Any]:
    with open(manifest, encoding="utf-8") as handle:
        header: dict[str, Any] = json.loads(handle.readline())
    return header


def _file_object(name: str, path: Path, kind: str, description: str) -> dict[str, Any]:
    return {
        "@type": "cr:FileObject",
        "@id": name,
        "name": name,
        "description": description,
        "contentUrl": name,
        "encodingFormat": kind,
        "sha256": _sha256(path),
    }


def _file_set(identity: str, kind: str, patterns: set[str], split: str) -> dict[str, Any]:
    where = f"the {split} split" if split else "the dataset"
    return {
        "@type": "cr:FileSet",
        "@id": identity,
        "name": identity,
        "description": f"the {kind} files of {where}, originals and augmented variants",
        "encodingFormat": kind,
        "includes": sorted(patterns),
    }


def _manifest_records() -> dict[str, Any]:
    return {
        "@type": "cr:RecordSet",
        "@id": "files",
        "name": "files",
        "description": "one record per line of manifest.jsonl: each file written, with its "
        "provenance (lines of other types leave these fields empty)",
        "field": [
            {
                "@type": "cr:Field",
                "@id": f"files/{name}",
                "name": name,
                "description": description,
                "dataType": data_type,
                "source": _manifest_source(path),
            }
            for name, data_type, path, description in MANIFEST_FIELDS
        ],
    }


def _manifest_source(path: str) -> dict[str, Any]:
    """Where a field is in a manifest line: a top-level key is a column of the JSON Lines
    table; a nested one (``source.path``) that column's value, taken apart by a JSON path."""
    column, _, inner = path.removeprefix("$.").partition(".")
    source: dict[str, Any] = {"fileObject": {"@id": MANIFEST_NAME}, "extract": {"column": column}}
    if inner:
        source["transform"] = {"jsonPath": inner}
    return source


def _content_records(identity: str, kind: str) -> dict[str, Any]:
    # Croissant's content types: an image, a sound, or else the file's text (a CSV of rows).
    data_type = {"image": "sc:ImageObject", "audio": "sc:AudioObject"}.get(
        kind.partition("/")[0], "sc:Text"
    )
    source = {"fileSet": {"@id": identity}}
    return {
        "@type": "cr:RecordSet",
        "@id": f"{identity}-content",
        "name": f"{identity}-content",
        "description": f"each file of the {identity} file set and its name",
        "field": [
            {
                "@type": "cr:Field",
                "@id": f"{identity}-content/content",
                "name": "content",
                "dataType": data_type,
                "source": {**source, "extract": {"fileProperty": "content"}},
            },
            {
                "@type": "cr:Field",
                "@id": f"{identity}-content/filename",
                "name": "filename",
                "dataType": "sc:Text",
                "source": {**source, "extract": {"fileProperty": "filename"}},
            },
        ],
    }


def croissant(out_dir: Path, contents: ContentFiles | None = None) -> dict[str, Any]:
    """The Croissant description of the output in ``out_dir``, from its manifest and sums
    (``contents``: its content files, when they were taken as the manifest was written)."""
    if contents is None:
        header, groups = _content_files(out_dir / MANIFEST_NAME)
    else:
        header, groups = _header(out_dir / MANIFEST_NAME), contents.groups
    counts = header.get("counts", {})
    recipe_sha256 = str(header.get("recipe_sha256", ""))
    distribution = [
        _file_object(
            MANIFEST_NAME,
            out_dir / MANIFEST_NAME,
            "application/jsonlines",
            "augtool's manifest: every file's source, sha256 and sampled parameters",
        ),
        _file_object(
            SUMS_NAME, out_dir / SUMS_NAME, "text/plain", "sha256sum -c list of every file"
        ),
    ]
    record_sets = [_manifest_records()]
    splits: dict[str, list[str]] = {}
    for split, kind in sorted(groups):
        splits.setdefault(split, []).append(kind)
    for split, kinds in splits.items():
        for kind in kinds:
            identity = split or "files-all"
            if len(kinds) > 1:
                identity += "-" + kind.rpartition("/")[2]
            distribution.append(_file_set(identity, kind, groups[(split, kind)], split))
            record_sets.append(_content_records(identity, kind))
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": f"augtool-{header.get('layout', 'dataset')}-{recipe_sha256[:12]}",
        "description": (
            f"A dataset expanded by {header.get('tool', 'augtool')} from a recipe "
            f"(sha256 {recipe_sha256}, seed {header.get('seed')}): "
            f"{counts.get('original', 0)} original and {counts.get('augmented', 0)} augmented "
            f"files. {MANIFEST_NAME} ties each file to its source, its sha256 and the "
            "parameters sampled for it."
        ),
        "conformsTo": CONFORMS_TO,
        "url": "./",
        "distribution": distribution,
        "recordSet": record_sets,
    }


def write_croissant(out_dir: Path, contents: ContentFiles | None = None) -> None:
    """Write ``croissant.json`` beside the manifest (atomically, after it)."""
    text = json.dumps(croissant(out_dir, contents), indent=2, ensure_ascii=False) + "\n"
    write_atomic(out_dir / CROISSANT_NAME, text.encode("utf-8"))
