"""With ``--source``: every recorded source still hashes as recorded, read by the link rules
expand read it by."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augtool.run.executors.hashing import hash_files
from augtool.validate.checks import mapping
from augtool.validate.checks.leakage import SeenSource
from augtool.validate.report import Findings


@dataclass
class CheckedSources:
    """What hashing the sources found: how many hash as recorded, each good source's file (its
    links resolved: what is re-derived from), and the sources already reported."""

    checked: int = 0
    files: dict[str, str] = field(default_factory=dict)
    bad: set[str] = field(default_factory=set)


def check_sources(
    found: Findings,
    header: dict[str, Any],
    seen: dict[str, SeenSource],
    source_root: Path,
    jobs: int,
) -> CheckedSources:
    follow_links = mapping(mapping(header.get("recipe")).get("input")).get("follow_links")
    result = CheckedSources()
    paths: list[str] = []
    sizes: list[int] = []
    wanted: list[tuple[str, str, str]] = []
    for rel, source in seen.items():
        full = os.path.join(source_root, rel)
        problem, size, real = _source_problem(source_root, rel, follow_links is True)
        if problem is not None:
            found.add("source", full, problem)
            result.bad.add(rel)
            continue
        result.files[rel] = real
        paths.append(real)
        sizes.append(size)
        wanted.append((rel, full, source.sha256))
    for (rel, full, expected), (digest, error) in zip(
        wanted, hash_files(paths, sizes, jobs), strict=True
    ):
        if error is not None:
            found.add("source", full, f"FAILED open or read ({error})")
            result.bad.add(rel)
        elif digest != expected:
            found.add("source", full, f"FAILED source sha256 expected={expected} found={digest}")
            result.bad.add(rel)
        else:
            result.checked += 1
    return result


def check_resources(found: Findings, header: dict[str, Any], source_root: Path) -> int:
    """The files the run's steps read besides the sources (the header's ``resources``, found
    from ``source_root``) still hash as recorded; how many do."""
    from augtool.run.resources import ResourceError, from_header

    resources = from_header(header.get("resources"), source_root)
    if resources is None:
        return 0
    checked = 0
    for name in resources.files:
        try:
            resources.read(name)
        except ResourceError as exc:
            path, _, reason = str(exc).partition(": ")
            found.add("source", path, f"FAILED resource: {reason}")
        else:
            checked += 1
    return checked


def _source_problem(source_root: Path, rel: str, follow_links: bool) -> tuple[str | None, int, str]:
    """Why a source file cannot be hashed (``None``: it can), its size and the file to read:
    its real path, its links resolved. A link is followed only where expand follows it (the
    recipe's ``input.follow_links``); links are resolved by name (lstat, readlink), never
    opened, and the real path is then opened without following a link."""
    from augtool.layouts.discovery import read_refusal

    full = os.path.join(source_root, rel)
    try:
        os.lstat(full)
    except FileNotFoundError:
        return "source listed in the manifest but missing", 0, full
    except OSError as exc:
        return f"FAILED open or read ({exc.strerror or exc})", 0, full
    refusal = read_refusal(source_root, rel, follow_links)
    if refusal is not None:
        return f"{refusal}; not followed (expand does not read it)", 0, full
    real = os.path.realpath(full)
    try:
        info = os.lstat(real)
    except OSError as exc:
        return f"FAILED open or read ({exc.strerror or exc})", 0, full
    if not stat.S_ISREG(info.st_mode):
        return "source is not a regular file", 0, full
    return None, info.st_size, real
