"""The lines a manifest's sorter takes in path order, kept on disk in the form they are written in.

A rerun's kept lines reach the sorter (:class:`~augtool.manifest.writer.LineSorter`) in path
order. As long as they do, each chunk goes to four temp files: the manifest's lines as they
are, SHA256SUMS' lines (a blank line for a record that has none), the sort keys, and each
owner's run of lines with their length in bytes. When every line came in order, the manifest
and SHA256SUMS are those files copied a block at a time and the stat cache's index is one
entry per owner's run: no line is formatted, parsed or encoded again. When later lines did not
come in order, these lines are read back as one sorted run of the merge.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

#: (key, manifest line, SHA256SUMS line, owner): writer.OwnedLine
_Owned = tuple[str, str, str, str]


class Block(NamedTuple):
    """The lines of one owner that are together in path order, as an earlier manifest and
    SHA256SUMS hold them: a rerun copies a kept source's lines without reading them. Every
    line is a file's, so each has its line in SHA256SUMS."""

    keys: tuple[str, ...]  # each line's path, in order
    body: bytes  # the manifest's lines
    sums: bytes  # their SHA256SUMS lines
    owner: str

    def lines(self) -> Iterator[_Owned]:
        """The lines one at a time, as the sorter takes them."""
        texts = self.body.decode("utf-8").split("\n")
        sums = self.sums.decode("utf-8").split("\n")
        for key, text, line in zip(self.keys, texts, sums, strict=False):
            yield (key, f"{text}\n", f"{line}\n", self.owner)


#: Bytes copied at once (a whole number of lines: a block is read up to its line's end).
_BLOCK = 1 << 20


class Straight:
    """The lines taken in path order (see the module's docstring), in temp files made by
    ``new_file`` (the sorter removes them)."""

    def __init__(self, new_file: Callable[[], Path]) -> None:
        self._body, self._sums, self._keys, self._owners = (
            open(new_file(), "w+b")  # noqa: SIM115  (closed by close)
            for _ in range(4)
        )
        #: the owner of the last lines taken, how many they are, their bytes and their
        #: SHA256SUMS lines' bytes
        self._run: _Run | None = None

    def write(self, chunk: list[_Owned | Block]) -> None:
        """Lines (and blocks of lines) that sort after every line written before them."""
        body: list[bytes] = []
        sums: list[bytes] = []
        keys: list[str] = []
        runs, run = [], self._run
        for item in chunk:
            if type(item) is Block:
                body.append(item.body)
                sums.append(item.sums)
                keys.extend(item.keys)
                owner, count = item.owner, len(item.keys)
                size, sums_size = len(item.body), len(item.sums)
            else:
                key, text, line, owner = item
                data, summed = text.encode("utf-8"), line.encode("utf-8")
                body.append(data)
                sums.append(summed or b"\n")
                keys.append(key)
                count, size, sums_size = 1, len(data), len(summed)
            if run is not None and run[0] == owner:
                run = (owner, run[1] + count, run[2] + size, run[3] + sums_size)
            else:
                if run is not None:
                    runs.append(run)
                run = (owner, count, size, sums_size)
        self._body.write(b"".join(body))
        self._sums.write(b"".join(sums))
        self._keys.write(_joined(keys))
        self._run = run
        self._owners.write(_joined_runs(runs))

    def _finish(self) -> None:
        """Write the last owner's run and go back to the start of every file."""
        if self._run is not None:
            self._owners.write(_joined_runs([self._run]))
            self._run = None
        for handle in (self._body, self._sums, self._keys, self._owners):
            handle.flush()
            handle.seek(0)

    def copy_into(
        self,
        manifest: IO[bytes],
        sums: IO[bytes],
        digest: Any,
        offset: int,
        placed: Callable[[int, int, str, int, int], None] | None,
    ) -> int:
        """Every line into the manifest (and ``digest``) and SHA256SUMS; ``placed`` is told
        the offset and length of each owner's run, the manifest's lines starting at
        ``offset``, and of its lines in SHA256SUMS. Returns the bytes written to SHA256SUMS."""
        self._finish()
        while block := self._body.read(_BLOCK):
            digest.update(block)
            manifest.write(block)
        written = 0
        while block := self._sums.read(_BLOCK):
            data = _without_blank_lines(block + self._sums.readline())
            sums.write(data)
            written += len(data)
        if placed is not None:
            sums_at = 0
            for owner, _, size, sums_size in _runs(self._owners):
                placed(offset, size, owner, sums_at, sums_size)
                offset += size
                sums_at += sums_size
        return written

    def lines(self) -> Iterator[_Owned]:
        """Every line, in order (a run of the merge)."""
        self._finish()
        owners = (owner for owner, count, _, _ in _runs(self._owners) for _ in range(count))
        for key, text, sums, owner in zip(self._keys, self._body, self._sums, owners, strict=True):
            name = key[:-1].decode("utf-8")
            yield (
                json.loads(name) if name.startswith('"') else name,
                text.decode("utf-8"),
                "" if sums == b"\n" else sums.decode("utf-8"),
                owner,
            )

    def close(self) -> None:
        for handle in (self._body, self._sums, self._keys, self._owners):
            handle.close()


def _without_blank_lines(block: bytes) -> bytes:
    """Whole lines without the blank ones (SHA256SUMS' line is never empty: a blank line stands
    for a record without one)."""
    block = block.lstrip(b"\n")
    while b"\n\n" in block:
        block = block.replace(b"\n\n", b"\n")
    return block


def _joined(keys: list[str]) -> bytes:
    """One key a line: as it is when the chunk's keys are all plain (one check for the lot),
    else each in JSON where it is not."""
    text = "".join(keys)
    if text.isprintable() and "\\" not in text and '"' not in text:
        return ("\n".join(keys) + "\n").encode("utf-8")
    return "".join(f"{_field(key)}\n" for key in keys).encode("utf-8")


#: An owner's run of lines: the owner, their count, their bytes and their SHA256SUMS bytes.
_Run = tuple[str, int, int, int]


def _joined_runs(runs: Iterable[_Run]) -> bytes:
    """Owner runs a line each: their line count, bytes, SHA256SUMS bytes and owner,
    tab-separated."""
    return "".join(
        f"{count}\t{size}\t{sums}\t{_field(owner)}\n" for owner, count, size, sums in runs
    ).encode("utf-8")


def _runs(handle: IO[bytes]) -> Iterator[_Run]:
    for line in handle:
        count, size, sums, owner = line[:-1].decode("utf-8").split("\t", 3)
        name = json.loads(owner) if owner.startswith('"') else owner
        yield (name, int(count), int(size), int(sums))


def _field(text: str) -> str:
    """``text`` as it is when it cannot be taken for JSON or break a line, else in JSON."""
    plain = text.isprintable() and "\\" not in text and not text.startswith('"')
    return text if plain else json.dumps(text)
