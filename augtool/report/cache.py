"""The statistics cache: each file's statistics and SSIM thumbnail, keyed by its sha256.

A report reads every file's bytes (to hash them) but decodes only files whose sha256 the cache
does not hold, so a re-report of an unchanged dataset decodes nothing. The cache is one SQLite
file, by default in the user's cache folder (:func:`default_path`), shared by every dataset: a
file copied from one dataset to another is decoded once. Workers open it read-only; only the
process that runs the report writes to it. It is not part of any output: deleting it only
costs time.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from augtool.report.stats import STATS_VERSION

#: The file name inside the cache folder.
CACHE_NAME = "report-stats.sqlite"


def default_path() -> Path:
    """``$XDG_CACHE_HOME/augtool/report-stats.sqlite`` (``~/.cache/augtool/...`` without it)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "augtool" / CACHE_NAME


Entry = tuple[dict[str, Any], bytes]


def open_writer(path: Path) -> sqlite3.Connection:
    """The connection the report writes through (the file and its folder made when missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")  # readers (the workers) never block on it
    # A lost entry is only decoded again: no fsync per commit (WAL syncs at checkpoints).
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS stats (sha256 TEXT NOT NULL, version INTEGER NOT NULL, "
        "stats TEXT NOT NULL, thumb BLOB NOT NULL, PRIMARY KEY (sha256, version))"
    )
    connection.commit()
    return connection


def lookup(path: Path | None, shas: Iterable[str]) -> dict[str, Entry]:
    """The cached entries of ``shas`` (those the cache holds), read-only."""
    wanted = list(dict.fromkeys(shas))
    if path is None or not wanted or not path.exists():
        return {}
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return {}
    try:
        marks = ",".join("?" * len(wanted))
        rows = connection.execute(
            f"SELECT sha256, stats, thumb FROM stats WHERE version = ? AND sha256 IN ({marks})",
            [STATS_VERSION, *wanted],
        ).fetchall()
    except sqlite3.Error:  # a cache another version laid out, or damaged: decode again
        return {}
    finally:
        connection.close()
    return {sha: (json.loads(stats), bytes(thumb)) for sha, stats, thumb in rows}


def store(connection: sqlite3.Connection, entries: dict[str, Entry]) -> None:
    """Add ``entries`` (sha256 -> statistics, thumbnail)."""
    if not entries:
        return
    connection.executemany(
        "INSERT OR REPLACE INTO stats VALUES (?, ?, ?, ?)",
        [
            (sha, STATS_VERSION, json.dumps(stats, sort_keys=True), thumb)
            for sha, (stats, thumb) in entries.items()
        ],
    )
    connection.commit()
