"""The recipe's sections as fields: each key's kind, default and help, and the constants
they name (the layouts, output formats, file endings). :mod:`augtool.recipe.model` checks a
recipe against them."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from augtool.errors import ParamError
from augtool.layouts import registry
from augtool.media.params import Bool, Choice, Float, Int, Param
from augtool.recipe.licences import LICENCE_FIELDS

RECIPE_VERSION = 1
# Every registered layout is a valid ``input.layout``: adding one needs no edit here.
LAYOUTS = ("auto", *registry.LAYOUTS)
OUTPUT_FORMATS = ("same", "jpeg", "png", "webp", "tiff")
DEFAULT_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
# No "MPO": Pillow opens MPO files through its JPEG plugin and has no "MPO" open format.
DEFAULT_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")
#: A recipe's ``seed:`` and ``--seed``: numpy seeds a generator from any of these.
SEED = Int(0, 2**63 - 1)


@dataclass(frozen=True)
class StrList:
    """A non-empty list of distinct names (strings)."""

    lower: bool = False
    upper: bool = False

    @property
    def form(self) -> str:
        return "a non-empty list of names"

    def __call__(self, value: Any) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ParamError(f"expected {self.form}, got {value!r}")
        items = [v.lower() if self.lower else v.upper() if self.upper else v for v in value]
        if len(set(items)) != len(items):
            raise ParamError(f"names must be distinct, got {value!r}")
        return items


@dataclass(frozen=True)
class FormatList(StrList):
    """Pillow format names it can open; an unknown one would crash ``Image.open`` mid-run."""

    def __call__(self, value: Any) -> list[str]:
        items = super().__call__(value)
        from PIL import Image  # here, not at import: `--help` never needs Pillow

        Image.init()
        unknown = [name for name in items if name not in Image.OPEN]
        if unknown:
            close = difflib.get_close_matches(unknown[0], DEFAULT_FORMATS, n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ParamError(
                f"{unknown[0]!r} is not an image format Pillow can read; "
                f"expected names such as {', '.join(DEFAULT_FORMATS)}{hint}"
            )
        return items


@dataclass(frozen=True)
class PathText:
    @property
    def form(self) -> str:
        return "a folder path"

    def __call__(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ParamError(f"expected {self.form}, got {value!r}")
        return value


INPUT_FIELDS = (
    Param(
        "path",
        PathText(),
        None,
        "the dataset folder (a relative path is from the recipe file's folder)",
    ),
    Param(
        "layout",
        Choice(LAYOUTS),
        "auto",
        "auto, flat (images anywhere), imagefolder (class subfolders), yolo, coco, masks, "
        "table (text), voc, labelme or imagelist (metadata.csv/jsonl)",
    ),
    Param("extensions", StrList(lower=True), list(DEFAULT_EXTENSIONS), "file endings to read"),
    Param("formats", FormatList(upper=True), list(DEFAULT_FORMATS), "Pillow formats accepted"),
    Param(
        "max_pixels",
        Int(1, None),
        89_478_485,
        "larger images are refused as decompression bombs (Pillow's default limit)",
    ),
    Param(
        "follow_links",
        Bool(),
        False,
        "read symbolic links that point outside the input folder (links to files inside it are "
        "read) and descend into linked folders",
    ),
    *LICENCE_FIELDS,
)


@dataclass(frozen=True)
class BitDepth:
    """``output.bit_depth``: ``8`` (every output 8 bits per sample) or ``source`` (a 16-bit
    source keeps its 16 bits)."""

    @property
    def json_schema(self) -> dict[str, Any]:
        """Its part of the recipe's JSON Schema (``augtool.recipe.schema``)."""
        return {"enum": [8, "source"]}

    @property
    def form(self) -> str:
        return "8 or source"

    def __call__(self, value: Any) -> int | str:
        if value == 8 and not isinstance(value, bool):
            return 8
        if value == "source":
            return "source"
        raise ParamError(f"expected {self.form}, got {value!r}")


@dataclass(frozen=True)
class StripMetadata:
    """``output.strip_metadata``: ``true``, ``false`` or ``originals_too``."""

    @property
    def json_schema(self) -> dict[str, Any]:
        """Its part of the recipe's JSON Schema (``augtool.recipe.schema``)."""
        return {"enum": [True, False, "originals_too"]}

    @property
    def form(self) -> str:
        return "true, false or originals_too"

    def __call__(self, value: Any) -> bool | str:
        if isinstance(value, bool) or value == "originals_too":
            return value
        raise ParamError(f"expected {self.form}, got {value!r}")


OUTPUT_FIELDS = (
    Param(
        "path",
        PathText(),
        None,
        "where the expanded dataset goes (a relative path is from the recipe file's folder)",
    ),
    Param(
        "format", Choice(OUTPUT_FORMATS), "same", "same (as the source), jpeg, png, webp or tiff"
    ),
    Param("quality", Int(1, 100), 92, "JPEG/WebP quality of augmented images"),
    Param(
        "originals",
        Choice(("copy", "link", "skip", "normalize")),
        "copy",
        "what to do with the sources (normalize: re-encoded upright in L, RGB or RGBA, in "
        "their own format)",
    ),
    Param(
        "strip_metadata",
        StripMetadata(),
        True,
        "drop EXIF (GPS, maker notes), XMP, IPTC and PNG text from augmented images "
        "(originals_too: from the originals too, which are then re-encoded as by "
        "originals: normalize)",
    ),
    Param(
        "hf_metadata",
        Bool(),
        False,
        "a metadata.jsonl in each split folder of a class-folder output (label, source path "
        "and sha256, variant, recipe sha256) for Hugging Face imagefolder/audiofolder",
    ),
    Param(
        "provenance_tag",
        Bool(),
        False,
        "each variant's own metadata (PNG/JPEG/WebP XMP, WAV LIST/INFO) says it is derived, "
        "with its source's sha256, the recipe's sha256 and the tool version",
    ),
    Param(
        "class_counts",
        Bool(),
        False,
        "record how many objects of each class every label file (YOLO, VOC, LabelMe) and COCO "
        "JSON holds; validate manifest counts each again and names one that differs",
    ),
    Param(
        "bit_depth",
        BitDepth(),
        8,
        "bits per sample of the outputs (source: a 16-bit source gives 16-bit PNG or TIFF "
        "variants; needs kernels: opencv)",
    ),
)
#: output keys written into the normalised recipe only when set
OPT_IN = ("hf_metadata", "provenance_tag", "class_counts")
SPLIT_FIELDS = (
    Param("augment", StrList(), ["train"], "splits that are augmented; others are copied"),
    Param("names", StrList(), ["train", "val", "test"], "folder names recognised as splits"),
    Param(
        "on_leak",
        Choice(("warn", "fail", "drop_from_train", "ignore")),
        "warn",
        "an image source near-duplicating one in another split: warn, fail (exit 1, before "
        "anything is written), drop_from_train (leave the train copy out) or ignore (no check: it "
        "decodes every source once more); when named, the manifest records each source's hash",
    ),
)


@dataclass(frozen=True)
class BoxRules:
    """``{min_visibility: v, min_area: a}``: an object with less of its box left in the image,
    or a smaller area in pixels (its polygon's when it has one), is dropped, and the manifest
    records the drop."""

    @property
    def form(self) -> str:
        return "a mapping {min_visibility: 0-1, min_area: pixels >= 0}"

    def __call__(self, value: Any) -> dict[str, float]:
        if value is None:
            value = {}
        if not isinstance(value, dict) or set(value) - {"min_visibility", "min_area"}:
            raise ParamError(f"expected {self.form}, got {value!r}")
        return {
            "min_visibility": Float(0.0, 1.0)(value.get("min_visibility", 0.0)),
            "min_area": Float(0.0, None)(value.get("min_area", 0.0)),
        }


@dataclass(frozen=True)
class FlipPairs:
    """``[[left_name, right_name], ...]``: class names swapped when an image is mirrored."""

    @property
    def form(self) -> str:
        return "a list of [left, right] class-name pairs"

    def __call__(self, value: Any) -> list[list[str]]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(n, str) for n in pair)
            for pair in value
        ):
            raise ParamError(f"expected {self.form}, got {value!r}")
        return [list(pair) for pair in value]


TARGET_FIELDS = (
    Param("bbox", BoxRules(), {}, "when a moved object is dropped: min_visibility, min_area"),
    Param("flip_pairs", FlipPairs(), [], "class names swapped on a horizontal flip"),
)
TOP_FIELDS = (
    "version", "seed", "input", "output", "splits", "variants", "targets", "kernels", "pipeline",
    "quality", "balance",
)  # fmt: skip
