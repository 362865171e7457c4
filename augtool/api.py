"""augtool as a library: the operations the command line runs, as plain functions.

Each function checks its arguments before doing any work and raises a named error from
:mod:`augtool.errors` (:class:`~augtool.errors.UsageError` for an argument, a
:class:`~augtool.errors.RecipeError` naming the file, line and column, ...); the command line
only parses, calls these and formats what they return. The results are typed objects with an
``as_json()`` giving the plain-JSON form the command line prints under ``--json``.

Heavy modules (numpy, Pillow, joblib) are imported inside the functions, so that ``import
augtool`` stays cheap. See ``docs/api.md`` for the reference and an example.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from augtool.errors import UsageError

if TYPE_CHECKING:
    from typing import TypeAlias

    from augtool.preview import Preview
    from augtool.recipe import Recipe
    from augtool.report import DatasetReport
    from augtool.run.summary import Summary
    from augtool.validate import Report

    PathLike: TypeAlias = str | os.PathLike[str]
    #: A recipe file, or a recipe already loaded by :func:`load_recipe`.
    RecipeLike: TypeAlias = PathLike | Recipe

__all__ = [
    "describe_transforms",
    "expand",
    "load_recipe",
    "make_report",
    "merge",
    "preview_recipe",
    "validate_manifest",
    "validate_recipe",
]

#: Called as ``progress(done, total)`` with the number of sources finished so far.
Progress = Callable[[int, int], None]


def load_recipe(path: PathLike) -> Recipe:
    """Read and check the YAML recipe at ``path``: the normalised, hashed :class:`Recipe`.

    Raises :class:`~augtool.errors.RecipeError` naming the file, line and column of the first
    problem (an unknown transform or parameter comes with the closest valid name)."""
    from augtool.recipe import load_recipe as load

    return load(path)


def validate_recipe(path: PathLike) -> Recipe:
    """``augtool validate recipe``: the same checks as :func:`load_recipe` (nothing is run or
    written); returns the recipe, whose ``steps`` and ``sha256`` the command prints."""
    return load_recipe(path)


def expand(
    recipe: RecipeLike,
    input: PathLike | None = None,
    output: PathLike | None = None,
    *,
    jobs: int | None = None,
    seed: int | None = None,
    backend: str = "loky",
    resume: bool = False,
    force: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    shard: str | None = None,
) -> Summary:
    """Expand the dataset at ``input`` into ``output`` (each defaults to the recipe's
    ``input.path`` / ``output.path``): what ``augtool expand`` does.

    ``shard`` (``"K/N"``) makes only the K-th of N deterministic slices of the sources, with a
    partial manifest; :func:`merge` combines the N outputs.

    ``jobs`` worker processes (default: all cores); ``seed`` overrides the recipe's; ``backend``
    is ``loky``, ``threading``, ``sequential`` or ``dask``. A rerun into the same output is
    incremental; ``resume`` insists on finishing an interrupted run, ``force`` rebuilds the
    output from scratch (not both). ``dry_run`` checks and plans, writing nothing.

    Returns the run's :class:`Summary`. Raises :class:`~augtool.errors.UsageError` for a bad
    argument, :class:`~augtool.errors.RecipeError`, :class:`~augtool.errors.InputError` or
    :class:`~augtool.errors.OutputError` before anything is written, and
    :class:`~augtool.errors.WriteError` when writing fails (the output stays resumable)."""
    if resume and force:
        raise UsageError(
            "{resume} and {force} are alternatives: {resume} finishes the run in {output}, "
            "{force} rebuilds {output} from scratch"
        )
    workers = _jobs(jobs)
    _check_backend(backend)
    seed = _seed(seed)
    if progress is not None and not callable(progress):
        raise UsageError(
            "{progress}: expected a function of (done, total), got {value!r}", value=progress
        )
    from augtool.run.engine import expand as run_expand
    from augtool.run.shards import Shard

    sliced = None if shard is None else Shard.parse(shard)
    loaded, input_root, output_root = _job(recipe, seed, input, output)
    return run_expand(
        loaded,
        input_root,
        output_root,
        jobs=workers,
        backend=backend,
        force=force,
        resume=resume,
        dry_run=dry_run,
        progress=progress,
        shard=sliced,
    )


def merge(
    recipe: RecipeLike,
    parts: list[PathLike],
    input: PathLike | None = None,
    output: PathLike | None = None,
    *,
    jobs: int | None = None,
    seed: int | None = None,
    backend: str = "loky",
    progress: Progress | None = None,
) -> Summary:
    """Merge the outputs of ``expand(..., shard="K/N")`` for K = 1..N (``parts``, in any order)
    into ``output``: what ``augtool merge`` does. The result, manifest included, is what one
    unsharded run writes, byte for byte. Each part's files are hard-linked into ``output`` (copied
    across file systems); the parts are left as they are.

    Raises :class:`~augtool.errors.OutputError` before writing anything when a shard is missing
    or given twice, or a part was made by another recipe or other library versions."""
    workers = _jobs(jobs)
    _check_backend(backend)
    seed = _seed(seed)
    from augtool.run.engine import expand as run_expand
    from augtool.run.shards import read_parts
    from augtool.run.worker import library_versions

    loaded, input_root, output_root = _job(recipe, seed, input, output)
    libraries = library_versions(loaded.kernels, loaded.medium)
    roots = [Path(os.fspath(part)) for part in parts]
    checked = read_parts(roots, loaded.sha256, libraries)
    for part in checked:
        if part.root.resolve() == output_root.resolve():
            raise UsageError(
                "{output} {value}: is one of the parts; merge into another folder",
                value=str(output_root),
            )
    return run_expand(
        loaded,
        input_root,
        output_root,
        jobs=workers,
        backend=backend,
        progress=progress,
        parts=checked,
    )


def validate_manifest(
    manifest: PathLike,
    *,
    source: PathLike | None = None,
    recompute: int | Literal["all"] | str | None = None,
    jobs: int | None = None,
    content: bool = False,
) -> Report:
    """Check an expanded dataset against its ``manifest.jsonl``: digests, completeness, leakage,
    the recipe hash; with ``source``, the sources still hash as recorded; with ``recompute`` (a
    count, or ``"all"``; needs ``source``), re-derived outputs match byte for byte; with
    ``content``, each image output's pHash is near its source's (it decodes every output).

    Returns the :class:`Report` (``report.ok``; ``report.problems``): a failed check is a result,
    not an exception. Raises :class:`~augtool.errors.UsageError` for a bad argument and
    :class:`~augtool.errors.ManifestError` when the file is not an augtool manifest at all."""
    from augtool.validate import parse_recompute, validate

    count: int | Literal["all"] | None
    if isinstance(recompute, str):
        count = parse_recompute(recompute)
    elif recompute is None or (_is_int(recompute) and recompute >= 0):
        count = recompute
    else:
        raise UsageError(
            "{recompute} {value!r}: expected a number of outputs or 'all'", value=recompute
        )
    workers = _jobs(jobs)
    folder = None if source is None else Path(source)
    return validate(Path(manifest), source=folder, recompute=count, jobs=workers, content=content)


def preview_recipe(
    recipe: RecipeLike,
    input: PathLike | None = None,
    *,
    output: PathLike | None = None,
    sources: int = 4,
    variants: int = 4,
    seed: int | None = None,
    sweep: bool = False,
    tile: int = 192,
    palette: bool = False,
) -> Preview:
    """Draw the contact sheet ``augtool preview`` draws: ``sources`` rows of an original and
    ``variants`` of its variants (each exactly the image expand writes for it), or with
    ``sweep`` a row per step at the low, middle and high end of its ranges.

    Returns the :class:`Preview`: ``png()`` gives the sheet's bytes, ``table()`` what each tile
    shows, ``as_json()`` the plan. With ``output`` the PNG is also written there (``palette``:
    256 colours, a smaller file); the path must end in ``.png`` and lie outside the dataset and
    the recipe's output. Raises :class:`~augtool.errors.UsageError` for a bad argument and
    :class:`~augtool.errors.InputError` when there is nothing to show."""
    seed = _seed(seed)
    _at_least("sources", sources, 1)
    _at_least("variants", variants, 0)
    _at_least("tile", tile, 48, 1024)
    from augtool.preview import check_output_path, preview_paths, render_preview

    loaded = _recipe(recipe, seed)
    input_root, expand_output = preview_paths(loaded, _text(input))
    own = _medium_preview(loaded)
    if own is not None:
        return own(loaded, input_root, expand_output, output, sources, variants, sweep)
    sheet = None if output is None else Path(output)
    if sheet is not None:
        check_output_path(sheet, input_root, expand_output)
    made = render_preview(loaded, input_root, sources, variants, sweep=sweep, tile=tile)
    if sheet is not None:
        made.write(sheet, palette=palette)
    return replace(made, input=str(input_root))


def make_report(
    paths: PathLike | list[PathLike],
    *,
    source: PathLike | None = None,
    verify: bool = True,
    jobs: int | None = None,
    cache: PathLike | bool = True,
    quality: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> DatasetReport:
    """``augtool report``: an expansion against its sources (``paths`` is its manifest), two
    datasets against each other (two folders: drift), or one folder.

    ``source`` is the sources' folder of a manifest whose output holds no originals;
    ``verify=False`` reports on a manifest that fails its footer digest (refused otherwise);
    ``cache`` is the statistics cache's file (True: the user cache folder, False: none);
    ``quality`` overrides thresholds by name (see ``docs/report.md``). Returns the
    :class:`~augtool.report.DatasetReport`; raises :class:`~augtool.errors.UsageError`,
    :class:`~augtool.errors.InputError` or :class:`~augtool.errors.ManifestError`."""
    from augtool.report.entry import run_report

    listed = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    return run_report(
        [Path(p) for p in listed],
        source=None if source is None else Path(source),
        verify=verify,
        jobs=_jobs(jobs),
        cache=cache,
        quality=quality,
        progress=progress,
    )


def _medium_preview(recipe: Recipe) -> Any:
    """The preview of a medium that draws its own (text: a table and an HTML page), or None."""
    from augtool.media import registry

    return getattr(registry.get(recipe.medium), "preview", None)


def describe_transforms(name: str | None = None, target: str | None = None) -> str:
    """What ``augtool transforms [NAME] [--target KIND]`` prints: every transform and block
    grouped by family and the targets table (only the transforms that handle labels of kind
    ``target``, when given), or one in full (parameters, defaults, targets, a recipe snippet).
    An unknown name raises an :class:`~augtool.errors.AugtoolError` suggesting the closest
    one; a name and a target together are refused."""
    from augtool.docs import describe, listing

    if name and target:
        raise UsageError("{target} filters the list: give a transform name or it, not both")
    return describe(name) if name else listing(target)


def _job(
    recipe: RecipeLike, seed: int | None, input: PathLike | None, output: PathLike | None
) -> tuple[Recipe, Path, Path]:
    """The loaded recipe and the input and output folders a run of it uses."""
    from augtool.recipe.paths import input_folder, output_folder

    loaded = _recipe(recipe, seed)
    return loaded, input_folder(loaded, _text(input)), output_folder(loaded, _text(output))


def _recipe(recipe: RecipeLike, seed: int | None) -> Recipe:
    """The recipe, loaded if given as a path, with ``seed`` in place of its own when given
    (recorded in the normalised recipe and its hash, as if the file said so)."""
    from augtool.recipe import Recipe, recipe_sha256

    loaded = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    if seed is None:
        return loaded
    normalised = {**loaded.normalised, "seed": seed}
    return replace(loaded, seed=seed, normalised=normalised, sha256=recipe_sha256(normalised))


def _seed(seed: Any) -> int | None:
    """A seed in the range a recipe's seed must be in, refused the same way."""
    from augtool.errors import ParamError
    from augtool.recipe.fields import SEED

    if seed is None:
        return None
    if not _is_int(seed):
        raise UsageError("{seed}: expected a whole number, got {value!r}", value=seed)
    try:
        return SEED(seed)
    except ParamError as exc:
        raise UsageError("{seed}: {problem}", problem=exc) from None


def _jobs(jobs: Any) -> int:
    """Worker processes: ``None`` means all cores."""
    if jobs is None:
        return os.cpu_count() or 1
    _at_least("jobs", jobs, 1)
    return int(jobs)


def _at_least(name: str, value: Any, lo: int, hi: int | None = None) -> None:
    if not _is_int(value) or value < lo or (hi is not None and value > hi):
        upper = f" and at most {hi}" if hi is not None else ""
        raise UsageError(
            "{" + name + "} {value!r}: expected a whole number of at least {lo}{upper}",
            value=value,
            lo=lo,
            upper=upper,
        )


def _check_backend(backend: Any) -> None:
    from augtool.run.engine import BACKENDS

    if backend not in BACKENDS:
        raise UsageError(
            "{backend} {value!r}: expected one of {choices}",
            value=backend,
            choices=", ".join(BACKENDS),
        )
    if backend == "dask":
        from augtool.run.executors import cluster as dask_cluster

        if not dask_cluster.available():
            raise UsageError(
                "{backend} dask needs Dask's distributed scheduler: {hint}",
                hint=dask_cluster.INSTALL_HINT,
            )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(path: PathLike | None) -> str | None:
    return None if path is None else os.fspath(path)
