"""Fixity: each listed file's size, then its sha256 (in chunks; across processes when the bytes
pay for a pool); and SHA256SUMS, which plain shells trust, says what the manifest says."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from augtool.manifest import SUMS_NAME, sums_line
from augtool.run.executors.hashing import CHUNK, hash_files
from augtool.validate.report import Findings


class Fixity:
    """Sizes as each file is located, then every sha256 in one pass over the files."""

    def __init__(self, found: Findings) -> None:
        self.found = found
        self.bytes = 0
        self.to_hash: list[tuple[str, int, str]] = []

    def take(self, path: str, listed: int, size: int, sha: str) -> None:
        """A listed file the walk found at ``size`` bytes; hashed later if the size is right."""
        if size != listed:
            self.found.add("size", path, f"FAILED size expected={listed} found={size}")
        else:
            self.to_hash.append((path, listed, sha.lower()))

    def run(self, root: Path, jobs: int) -> None:
        files = [os.path.join(root, path) for path, _, _ in self.to_hash]
        sizes = [size for _, size, _ in self.to_hash]
        for (path, size, expected), (digest, error) in zip(
            self.to_hash, hash_files(files, sizes, jobs), strict=True
        ):
            if error is not None:
                self.found.add("unreadable", path, f"FAILED open or read ({error})")
            elif digest != expected:
                message = f"FAILED sha256 expected={expected} found={digest}"
                self.found.add("sha256", path, message)
            else:
                self.bytes += size
        self.to_hash = []


class SumsFile:
    """SHA256SUMS is derived from the manifest: what it must hash to, line by line."""

    def __init__(self, found: Findings) -> None:
        self.found = found
        self._sums = hashlib.sha256()

    def take(self, record: dict[str, Any]) -> None:
        path = record.get("path")
        sha = record.get("sha256")
        if record.get("type") == "file" and isinstance(path, str) and isinstance(sha, str):
            self._sums.update(sums_line(sha.lower(), path).encode("utf-8"))

    def check(self, root: Path) -> None:
        sums = root / SUMS_NAME
        if sums.is_symlink() or not sums.is_file():
            self.found.add("sums", SUMS_NAME, "missing (or not a regular file)")
            return
        digest = hashlib.sha256()
        with open(sums, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != self._sums.hexdigest():
            self.found.add("sums", SUMS_NAME, "FAILED: does not list exactly the manifest's files")
