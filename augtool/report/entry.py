"""The checks :func:`augtool.api.report` makes before any file is read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from augtool.errors import AugtoolError, InputError, UsageError
from augtool.report import DatasetReport, build_report
from augtool.report.collect import Progress

INSTALL_HINT = "pip install 'augtool[report]'"


class MissingExtra(AugtoolError):
    """A library of the ``report`` extra is not installed."""


def run_report(
    paths: list[Path],
    *,
    source: Path | None,
    verify: bool,
    jobs: int,
    cache: Any,
    quality: dict[str, Any] | None,
    progress: Progress | None,
) -> DatasetReport:
    if not 1 <= len(paths) <= 2:
        raise UsageError("{paths}: expected a manifest, a folder, or two folders")
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
    if len(paths) == 2 and not all(p.is_dir() for p in paths):
        raise UsageError("{paths}: two datasets to compare must both be folders")
    if source is not None and not (len(paths) == 1 and paths[0].is_file()):
        raise UsageError("{source} goes with a manifest: the sources of its expansion")
    try:
        import scipy  # noqa: F401
    except ImportError:
        raise MissingExtra(f"augtool report needs scipy and matplotlib: {INSTALL_HINT}") from None
    return build_report(
        paths,
        source=source,
        verify=verify,
        jobs=jobs,
        cache_path=_cache_path(cache),
        thresholds=quality,
        progress=progress,
    )


def _cache_path(cache: Any) -> Path | None:
    from augtool.report.cache import default_path

    if cache is True:
        return default_path()
    if cache is False or cache is None:
        return None
    if isinstance(cache, str | os.PathLike):
        return Path(cache)
    raise UsageError("{cache} {value!r}: expected a file, True or False", value=cache)


def cli_report(
    paths: list[Path],
    output: Path | None,
    fail_on: str | None,
    source: Path | None,
    verify: bool,
    quality: list[str],
    cache: Any,
    jobs: int | None,
    progress: Progress | None,
) -> tuple[DatasetReport, list[str]]:
    """What ``augtool report`` runs: the report, its HTML page when asked, and what trips
    ``--fail-on``."""
    from augtool import api
    from augtool.report import FAIL_ON
    from augtool.report.thresholds import parse_overrides

    wanted = {w.strip() for w in (fail_on or "").split(",") if w.strip()}
    unknown = sorted(wanted - set(FAIL_ON))
    if unknown:
        raise UsageError(
            "{fail_on} {value!r}: expected some of {choices}",
            value=",".join(unknown),
            choices=", ".join(FAIL_ON),
        )
    if output is not None and output.suffix.lower() not in (".html", ".htm"):
        raise UsageError("{output} {value}: expected a file ending in .html", value=str(output))
    found = api.make_report(
        paths,
        source=source,
        verify=verify,
        jobs=jobs,
        cache=cache,
        quality=parse_overrides(quality),
        progress=progress,
    )
    if output is not None:
        from augtool.report.html import write_html

        write_html(found, output)
    return found, found.failures(wanted)
