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
from augtool.media.image.transforms.kernels import CHOICES as KERNEL_CHOICES
from augtool.media.image.transforms.kernels import DEFAULT as DEFAULT_KERNELS
from augtool.media.image.transforms.kernels import INSTALL_HINT, opencv_installed
from augtool.media.params import Choice, Int, Param
from augtool.recipe.balance import parse_balance
from augtool.recipe.by_medium import fields_of, named_medium
from augtool.recipe.fields import (
    INPUT_FIELDS,
    OPT_IN,
    OUTPUT_FIELDS,
    RECIPE_VERSION,
    SEED,
    SPLIT_FIELDS,
    TARGET_FIELDS,
    TOP_FIELDS,
)
from augtool.recipe.licences import DEFAULTS as LICENCE_DEFAULTS
from augtool.recipe.yaml_source import Located, load


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
    kernels = _kernels(doc, top, medium)
    _check_sections(doc, medium, splits, output, kernels, steps)
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
    try:
        core_input, core_output = to_core(input_, output)
    except ParamError as exc:  # a combination of the medium's fields it refuses
        raise doc.error(("output",), str(exc)) from None
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


def _check_sections(
    doc: Located,
    medium: str,
    splits: dict[str, Any],
    output: dict[str, Any],
    kernels: str,
    steps: list[Any],
) -> None:
    """Refuse the combinations of sections that each field alone cannot see."""
    unknown_splits = [s for s in splits["augment"] if s not in splits["names"]]
    if unknown_splits:
        raise doc.error(
            ("splits", "augment"),
            f"split {unknown_splits[0]!r} is not among splits.names {splits['names']}",
        )
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
    from augtool.media.transform import BadParam, UnknownParam

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
    if name in BLOCKS and isinstance(config, list):
        # Albumentations' A.OneOf([...]) takes the list itself: say where it goes here.
        raise doc.error(
            name_path,
            f"{name}: expected its steps under 'transforms:' (with p beside it), got a list; "
            f"write '{name}: {{p: 0.5, transforms: [...]}}'",
        )
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
