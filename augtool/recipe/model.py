"""The recipe: checked, normalised and hashed before anything is read or written.

The normalised recipe is the recipe with every default filled in and every value in its canonical
form; its sha256 (over canonical JSON) identifies the job. Input and output paths are left out of
it: they say where a job runs, not what it does, and the manifest holds no absolute path.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augtool.canonical import canonical_sha256
from augtool.errors import ParamError, RecipeError
from augtool.layouts import registry
from augtool.media.image.transforms.kernels import CHOICES as KERNEL_CHOICES
from augtool.media.image.transforms.kernels import DEFAULT as DEFAULT_KERNELS
from augtool.media.image.transforms.kernels import INSTALL_HINT, opencv_installed
from augtool.media.image.transforms.params import Bool, Choice, Float, Int, Param
from augtool.recipe.balance import parse_balance
from augtool.recipe.by_medium import fields_of, named_medium
from augtool.recipe.licences import DEFAULTS as LICENCE_DEFAULTS
from augtool.recipe.licences import LICENCE_FIELDS
from augtool.recipe.yaml_source import Located, load

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
        "bit_depth",
        BitDepth(),
        8,
        "bits per sample of the outputs (source: a 16-bit source gives 16-bit PNG or TIFF "
        "variants; needs kernels: opencv)",
    ),
)
#: output keys written into the normalised recipe only when set
OPT_IN = ("hf_metadata", "provenance_tag")
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


@dataclass(frozen=True)
class Recipe:
    """A checked recipe. ``steps`` are configured transforms and blocks, ready to run."""

    file: str
    seed: int
    variants: int
    input: dict[str, Any]
    output: dict[str, Any]
    splits: dict[str, Any]
    targets: dict[str, Any]
    steps: list[Any]
    #: which library resamples the warps (augtool.media.image.transforms.kernels): pillow or
    #: opencv (what ``auto`` picked)
    kernels: str
    normalised: dict[str, Any]
    sha256: str
    #: the medium its steps belong to (augtool.media.registry); not part of the normalised
    #: recipe, which it is read from
    medium: str = "image"
    #: per-class variant counts in place of ``variants`` (augtool.recipe.balance); None: none
    balance: dict[str, Any] | None = None

    @property
    def base_dir(self) -> Path:
        return Path(self.file).parent


def load_recipe(path: str | Path) -> Recipe:
    """Read and check the recipe file at ``path``; raise :class:`RecipeError` on any problem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(file, "no such recipe file") from None
    except IsADirectoryError:
        raise RecipeError(file, "is a folder, expected a YAML recipe file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(file, f"cannot read the recipe: {exc}") from None
    return parse_recipe(load(text, file))


def parse_recipe(doc: Located) -> Recipe:
    top = doc.value
    if not isinstance(top, dict):
        raise doc.error((), "expected a mapping with 'version: 1', 'pipeline: [...]', ...")
    _refuse_unknown(doc, (), top, (*TOP_FIELDS, *_medium_sections()), "recipe key")
    if "version" not in top:
        raise doc.error((), f"missing 'version: {RECIPE_VERSION}' (the recipe format version)")
    if top["version"] != RECIPE_VERSION or isinstance(top["version"], bool):
        raise doc.error(("version",), f"unsupported recipe version {top['version']!r}; expected 1")
    seed = _field(doc, ("seed",), top.get("seed", 0), SEED)
    variants = _field(doc, ("variants",), top.get("variants", 4), Int(0, 10_000))
    pipeline = top.get("pipeline", [])
    if not isinstance(pipeline, list):
        raise doc.error(("pipeline",), "expected a list of steps, e.g. '- hflip: {p: 0.5}'")
    steps, normalised_steps = _steps(doc, ("pipeline",), pipeline, named_medium(pipeline))
    medium = _medium(doc, normalised_steps)
    input_fields, output_fields, to_core = fields_of(medium, INPUT_FIELDS, OUTPUT_FIELDS)
    input_ = _section(doc, "input", top.get("input"), input_fields)
    output = _section(doc, "output", top.get("output"), output_fields)
    splits = _section(doc, "splits", top.get("splits"), SPLIT_FIELDS)
    targets = _section(doc, "targets", top.get("targets"), TARGET_FIELDS)
    unknown_splits = [s for s in splits["augment"] if s not in splits["names"]]
    if unknown_splits:
        raise doc.error(
            ("splits", "augment"),
            f"split {unknown_splits[0]!r} is not among splits.names {splits['names']}",
        )
    kernels = _kernels(doc, top, medium)
    if output.get("bit_depth", 8) != 8:
        _check_bit_depth(doc, output, kernels, steps)
    if output["originals"] == "normalize" and not _normalizes(medium):
        raise doc.error(
            ("output", "originals"),
            f"output.originals: normalize: a {medium} recipe's originals cannot be re-encoded; "
            "use copy, link or skip",
        )
    if output.get("provenance_tag") and medium not in ("image", "audio"):
        raise doc.error(
            ("output", "provenance_tag"),
            f"output.provenance_tag: a {medium} file has no metadata to carry the tag",
        )
    normalised = {
        "version": RECIPE_VERSION,
        "seed": seed,
        "variants": variants,
        # the licence keys only when set, so that other recipes keep their sha256
        "input": {
            k: v
            for k, v in input_.items()
            if k != "path" and not (k in LICENCE_DEFAULTS and v == LICENCE_DEFAULTS[k])
        },
        # bit_depth and the opt-in flags only when chosen: recipes written before the keys
        # existed keep their sha256.
        "output": {
            k: v
            for k, v in output.items()
            if k != "path" and not (k == "bit_depth" and v == 8) and not (k in OPT_IN and not v)
        },
        # on_leak only when named: recipes written before the key existed keep their sha256.
        "splits": {k: v for k, v in splits.items() if k != "on_leak" or _named(top, "splits", k)},
        "targets": targets,
        "pipeline": normalised_steps,
    }
    if kernels != _default_kernels(medium) or top.get("kernels") == "auto":
        # Only when chosen: recipes written before the key existed keep their sha256. What
        # ``auto`` picked is written even when Pillow: the bytes depend on the pick.
        normalised["kernels"] = kernels
    normalised.update(_medium_section(doc, top, medium))
    quality = _quality(doc, top.get("quality"))
    if quality:
        # Only when given (for the same reason); augtool report reads it from the manifest.
        normalised["quality"] = quality
    balance = parse_balance(doc, top.get("balance"))
    if balance is not None:
        normalised["balance"] = balance  # only when given, for the same reason
    core_input, core_output = to_core(input_, output)
    if output.get("strip_metadata") == "originals_too":
        _strip_originals(doc, output, medium)
    return Recipe(
        file=doc.file,
        seed=seed,
        variants=variants,
        input={**input_, **core_input},
        output={**output, **core_output},
        splits=splits,
        targets=targets,
        steps=steps,
        kernels=kernels,
        normalised=normalised,
        sha256=recipe_sha256(normalised),
        medium=medium,
        balance=balance,
    )


def _strip_originals(doc: Located, output: dict[str, Any], medium: str) -> None:
    """``strip_metadata: originals_too``: the originals a run copies or links are re-encoded
    (``normalize``), without their metadata; the normalised recipe keeps what was written."""
    if not _normalizes(medium):
        raise doc.error(
            ("output", "strip_metadata"),
            f"strip_metadata: originals_too: a {medium} recipe's originals cannot be re-encoded",
        )
    output["strip_metadata"] = True
    if output["originals"] in ("copy", "link"):
        output["originals"] = "normalize"


def _named(top: dict[str, Any], section: str, key: str) -> bool:
    """Whether the recipe file itself sets ``section.key``."""
    value = top.get(section)
    return isinstance(value, dict) and key in value


def _medium_sections() -> tuple[str, ...]:
    """The top-level sections media add (a medium with ``recipe_section`` params adds one
    named after it)."""
    from augtool.media import registry

    return tuple(n for n in registry.BUILTIN if getattr(registry.get(n), "recipe_section", None))


def _medium_section(doc: Located, top: dict[str, Any], medium: str) -> dict[str, Any]:
    """The recipe's section of its medium, checked by the medium's params (only when given, so
    other recipes keep their hash); a section of another medium is refused."""
    from augtool.media import registry

    for name in _medium_sections():
        if name in top and name != medium:
            raise doc.error((name,), f"a {name!r} section in a {medium} recipe")
    if medium not in top:
        return {}
    fields = getattr(registry.get(medium), "recipe_section", ())
    return {medium: _section(doc, medium, top[medium], fields)}


def _normalizes(medium: str) -> bool:
    """Whether ``medium`` can write originals re-encoded (``original_encoder``)."""
    if medium == "image":
        return True
    from augtool.media import registry

    return hasattr(registry.get(medium), "original_encoder")


def _check_bit_depth(doc: Located, output: dict[str, Any], kernels: str, steps: list[Any]) -> None:
    """``bit_depth: source`` needs a format that holds 16 bits, OpenCV (which reads and writes
    16-bit colour and warps 16-bit samples) and steps that work at 16 bits."""
    where = ("output", "bit_depth")
    if output["format"] in ("jpeg", "webp"):
        raise doc.error(
            where,
            f"output.bit_depth: source cannot be written as {output['format']}, which holds 8 "
            "bits per sample only: use format: png, tiff or same",
        )
    if kernels != "opencv":
        raise doc.error(
            where,
            "output.bit_depth: source needs kernels: opencv (OpenCV reads and writes 16-bit "
            f"colour and warps 16-bit samples; {INSTALL_HINT})",
        )
    narrow = sorted(set(_eight_bit_steps(steps)))
    if narrow:
        raise doc.error(
            where,
            f"output.bit_depth: source: {', '.join(narrow)} work(s) on 8-bit samples only "
            "and would crush 16-bit sources; remove them or use bit_depth: 8",
        )


def _eight_bit_steps(steps: list[Any]) -> list[str]:
    """The names of the transforms among ``steps`` (blocks opened) that do not keep 16 bits."""
    found: list[str] = []
    for step in steps:
        children = getattr(step, "children", None)
        if children is not None:
            found.extend(_eight_bit_steps(children))
        elif not getattr(step, "sixteen_bits", False):
            found.append(str(step.name))
    return found


def _default_kernels(medium: str) -> str:
    if medium == "image":
        return DEFAULT_KERNELS  # known without loading the medium (an empty recipe's case)
    from augtool.media import registry

    return registry.get(medium).default_kernels


def _kernels(doc: Located, top: dict[str, Any], medium: str) -> str:
    """The recipe's ``kernels``: one its medium knows, whose library is installed."""
    if medium == "image":
        names, missing = KERNEL_CHOICES, None
        if top.get("kernels") == "opencv" and not opencv_installed():
            missing = ("OpenCV", INSTALL_HINT)
    else:
        from augtool.media import registry

        found = registry.get(medium)
        names = found.kernel_names
        missing = found.kernels_missing(str(top.get("kernels")))
    kernels = _field(doc, ("kernels",), top.get("kernels", _default_kernels(medium)), Choice(names))
    if missing is not None and "kernels" in top:
        library, hint = missing
        raise doc.error(("kernels",), f"{kernels} needs {library}, not installed ({hint})")
    if kernels == "auto":
        return "opencv" if opencv_installed() else "pillow"
    return str(kernels)


def _medium(doc: Located, normalised_steps: list[dict[str, Any]]) -> str:
    """The one medium the steps belong to (one recipe is one medium)."""
    from augtool.media import registry

    try:
        return registry.medium_of(normalised_steps)
    except ValueError as exc:
        raise doc.error(("pipeline",), str(exc)) from None


def recipe_sha256(normalised: dict[str, Any]) -> str:
    return canonical_sha256(normalised)


def _field(doc: Located, path: tuple[Any, ...], value: Any, kind: Any) -> Any:
    try:
        return kind(value)
    except ParamError as exc:
        raise doc.error(path, f"{'.'.join(map(str, path))}: {exc}") from None


def _quality(doc: Located, value: Any) -> dict[str, float]:
    """The ``quality:`` thresholds of ``augtool report`` (docs/report.md): names it knows,
    each a number of at least 0."""
    from augtool.report.thresholds import threshold_names

    if value is None:
        return {}
    known = threshold_names()
    if not isinstance(value, dict):
        raise doc.error(("quality",), f"quality: expected a mapping of {', '.join(known)}")
    _refuse_unknown(doc, ("quality",), value, known, "quality threshold")
    for key, number in value.items():
        if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
            raise doc.error(("quality", key), f"quality.{key}: expected a number >= 0")
    return {key: value[key] for key in sorted(value)}


def _section(doc: Located, name: str, value: Any, fields: tuple[Param, ...]) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise doc.error(
            (name,), f"{name}: expected a mapping of {', '.join(f.name for f in fields)}"
        )
    _refuse_unknown(doc, (name,), value, tuple(f.name for f in fields), f"{name} key")
    return {
        f.name: _field(doc, (name, f.name), value.get(f.name, f.default), f.kind) for f in fields
    }


def _refuse_unknown(
    doc: Located, path: tuple[Any, ...], mapping: dict[str, Any], known: tuple[str, ...], what: str
) -> None:
    for key in mapping:
        if key not in known:
            raise doc.error((*path, key), f"unknown {what} {key!r}{_suggest(key, known)}", True)


def _suggest(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; expected one of: {', '.join(sorted(known))}"


def _steps(
    doc: Located, path: tuple[Any, ...], items: list[Any], medium: str
) -> tuple[list[Any], list[dict[str, Any]]]:
    steps, normalised = [], []
    for index, item in enumerate(items):
        step, norm = _step(doc, (*path, index), item, medium)
        steps.append(step)
        normalised.append(norm)
    return steps, normalised


def _step(
    doc: Located, path: tuple[Any, ...], item: Any, medium: str
) -> tuple[Any, dict[str, Any]]:
    # Imported here: the transform families pull in Pillow and numpy, which `--help` never needs.
    from augtool.media.image.transforms.base import BadParam, UnknownParam

    REGISTRY, BLOCKS = _known_steps(medium)

    where = "step " + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    if isinstance(item, str):
        name, config, name_path = item, {}, path
        at_key = False
    elif isinstance(item, dict) and len(item) == 1:
        name, config = next(iter(item.items()))
        name_path = (*path, name)
        at_key = True
        config = {} if config is None else config
    else:
        raise doc.error(
            path,
            f"{where}: expected one transform name with its parameters, e.g. '- hflip: {{p: 0.5}}'",
        )
    known = sorted([*REGISTRY, *BLOCKS])
    if name not in REGISTRY and name not in BLOCKS:
        raise doc.error(name_path, f"unknown transform {name!r}{_suggest(name, known)}", at_key)
    if not isinstance(config, dict):
        raise doc.error(name_path, f"{name}: expected a mapping of parameters, got {config!r}")
    if name in BLOCKS:
        return _block(doc, name_path, name, config, medium)
    try:
        transform = REGISTRY[name](**config)
    except UnknownParam as exc:
        raise doc.error(
            (*name_path, exc.name),
            f"{name}: unknown parameter {exc.name!r}{_suggest(exc.name, exc.known)}",
            True,
        ) from None
    except BadParam as exc:
        raise doc.error((*name_path, exc.name), f"{name}: {exc}") from None
    except ParamError as exc:
        raise doc.error(name_path, f"{name}: {exc}") from None
    return transform, {name: transform.config}


def _known_steps(preferred: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every registered medium's transforms and blocks by name (the ``preferred`` medium's
    wins a name two share, then the first registered)."""
    from augtool.media import registry

    transforms: dict[str, Any] = {}
    blocks: dict[str, Any] = {}
    ordered = sorted(registry.media(), key=lambda m: m.name != preferred)
    for medium in reversed(ordered):
        transforms.update(medium.transforms())
        blocks.update(medium.blocks())
    return transforms, blocks


def _block(
    doc: Located, path: tuple[Any, ...], name: str, config: dict[str, Any], medium: str
) -> tuple[Any, dict[str, Any]]:
    from augtool.media import registry

    owner = registry.get(registry.owners(name)[0])
    spec = owner.blocks()[name]
    known = tuple(p.name for p in spec.params)
    _refuse_unknown(doc, path, config, known, f"{name} parameter")
    children = config.get("transforms")
    if not isinstance(children, list) or not children:
        raise doc.error(path, f"{name}: expected 'transforms:' with a non-empty list of steps")
    steps, normalised = _steps(doc, (*path, "transforms"), children, medium)
    synthesis = [str(step.name) for step in steps if getattr(step, "partner_count", 0)]
    if synthesis:
        # A variant's partners are planned per pipeline step, before any block picks a child.
        raise doc.error(
            (*path, "transforms"),
            f"{name}: {synthesis[0]} takes partner images and must be a step of the pipeline "
            "itself, not of a block (give it its own p instead)",
        )
    values: dict[str, Any] = {}
    for param in spec.params:
        if param.name == "transforms":
            continue
        values[param.name] = _field(
            doc, (*path, param.name), config.get(param.name, param.default), param.kind
        )
    n = values.get("n")
    if n is not None and n[1] > len(steps):
        raise doc.error((*path, "n"), f"{name}: n {n} asks for more than the {len(steps)} steps")
    weighted = sum(1 for step in steps if step.p > 0)
    if name != "sequence" and weighted == 0:
        # A child is picked with its p as weight: with every weight 0 nothing can be picked, and
        # a p 0 child must never fire.
        raise doc.error(
            (*path, "transforms"),
            f"{name}: every child has p 0, so none can ever be picked; "
            "give at least one child a p above 0",
        )
    if n is not None and weighted < n[1]:
        # Children are picked with their p as weights: one of p 0 is never picked (unless all
        # are), so n could not be met and fewer would be applied without a word.
        raise doc.error(
            (*path, "n"),
            f"{name}: n {n} asks for up to {n[1]} steps, but only {weighted} can be picked "
            "(the others have p 0)",
        )
    block = owner.make_block(name, values["p"], steps, n, values)
    return block, {name: {**values, "transforms": normalised}}
