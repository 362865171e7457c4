"""Sampling and replaying the steps of every row of a text source, with the quality rails.

A variant file holds ``variants`` variants of each source row, row by row. Each (row,
variant) draws from its own generator, seeded from the file's seed (the core's seed of the
source's variant file), the row's number and the variant's index, so a row's variants depend on
its identity alone. Its record (``{"row", "variant", "seed", "steps": {column: [...]}}``, plus
``dropped``) is one entry of the file's row table, which the file's manifest line holds.

The rails decide which variants are written: one equal to its source row is ``unchanged``; one
equal to any source row of the file, or to a variant written before it, is a ``duplicate``; one
whose token edit distance to its source, over the source's token count, exceeds
``max_token_distance`` is ``over-augmented``. Replaying re-applies the recorded parameters and
the rails, and refuses a record whose recorded drop is not the one the rails decide.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from augtool.media.text.codecs import Row, Table
from augtool.media.text.tokens import Tokens, detokenise, distance, tokenise
from augtool.media.text.transforms import REGISTRY

Record = dict[str, Any]
Written = tuple[Row, int, tuple[str, ...]]


@dataclass(frozen=True)
class Rails:
    protect: tuple[re.Pattern[str], ...] = ()
    max_distance: float = 1.0
    drop: bool = True  # False for a one-example file, which must hold its one variant


def row_seed(file_seed: int, row: int, variant: int) -> int:
    """A 63-bit seed from the file's seed, the row's number and the variant's index."""
    return RowSeeds(file_seed)(row, variant)


class RowSeeds:
    """:func:`row_seed` of one file: the hash of the file's part is taken once."""

    def __init__(self, file_seed: int) -> None:
        self.head = hashlib.sha256(f"augtool-row\0{file_seed}\0".encode())

    def __call__(self, row: int, variant: int) -> int:
        digest = self.head.copy()
        digest.update(f"{row}\0{variant}".encode())
        return int.from_bytes(digest.digest()[:8], "big") >> 1


class RowGenerators:
    """The generator of each (row, variant): PCG64 with state ``seed`` and increment
    ``2 * seed + 1``, one stream per seed. One generator is set to each seed in turn: setting
    a state costs a tenth of making a generator, and a run makes one per row and variant."""

    def __init__(self) -> None:
        self.bits = np.random.PCG64(0)
        self.rng = np.random.Generator(self.bits)

    def at(self, seed: int) -> np.random.Generator:
        self.bits.state = {
            "bit_generator": "PCG64",
            "state": {"state": seed, "inc": 2 * seed + 1},
            "has_uint32": 0,
            "uinteger": 0,
        }
        return self.rng


def augment_text(steps: Sequence[Any], text: str, rng: np.random.Generator, rails: Rails) -> Any:
    """``text`` through ``steps`` (each fires with its p) from ``rng``: the new text and the
    records of the steps that changed it."""
    lead, tokens = tokenise(text, rails.protect)
    return augment_tokens(steps, lead, tokens, rng)


def augment_tokens(
    steps: Sequence[Any], lead: str, tokens: Tokens, rng: np.random.Generator
) -> tuple[str, list[Record]]:
    """:func:`augment_text` of a text already tokenised (a row's variants share its tokens:
    steps never change the list they are given)."""
    records = []
    for step in steps:
        if rng.random() >= step.p:
            continue
        params = step.sample(rng, tokens)
        changed = step.apply(tokens, params)
        if changed != tokens:  # a step that changed nothing is not recorded: replay needs it not
            records.append({"name": step.name, "params": params})
        tokens = changed
    return detokenise(lead, tokens), records


def replay_text(records: list[Record], text: str, rails: Rails) -> str:
    """``text`` with the recorded steps of one of its variants applied again."""
    lead, tokens = tokenise(text, rails.protect)
    for record in records:
        tokens = REGISTRY[record["name"]].apply(tokens, record["params"])
    return detokenise(lead, tokens)


def texts_hash(texts: Sequence[str]) -> int:
    """A 63-bit hash of a row's texts (each length-prefixed, so no two tuples share a text)."""
    digest = hashlib.blake2b(digest_size=8)
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return int.from_bytes(digest.digest(), "big") >> 1


class Seen:
    """The texts seen in one file, as hashes only (8 bytes each once merged): the newest in a
    set, the rest in a sorted array, so that memory does not grow with the texts' length."""

    MERGE = 1 << 16  # hashes held in the set before they join the array

    def __init__(self, hashes: Iterable[int] = ()) -> None:
        self.sorted = np.zeros(0, dtype=np.int64)
        self.recent: set[int] = set()
        for value in hashes:
            self.add(value)

    def __contains__(self, value: int) -> bool:
        if value in self.recent:
            return True
        at = int(self.sorted.searchsorted(value))
        return at < len(self.sorted) and int(self.sorted[at]) == value

    def add(self, value: int) -> None:
        self.recent.add(value)
        if len(self.recent) >= self.MERGE:
            new = np.sort(np.fromiter(self.recent, dtype=np.int64, count=len(self.recent)))
            self.sorted = np.insert(self.sorted, self.sorted.searchsorted(new), new)
            self.recent = set()


class Judge:
    """The rails over one file: the texts seen (every source row's, from the start, and each
    variant's kept so far), and why a variant is left out."""

    def __init__(self, rails: Rails, seen: Seen) -> None:
        self.rails = rails
        self.seen = seen

    def verdict(self, row: Row, texts: tuple[str, ...]) -> str | None:
        if texts == row.texts:
            return "unchanged"
        key = texts_hash(texts)
        if key in self.seen:
            return "duplicate"
        if self.rails.max_distance < 1.0:
            before = [t for text in row.texts for t in _words(text)]
            after = [t for text in texts for t in _words(text)]
            share = distance(before, after) / max(len(before), 1)
            if share > self.rails.max_distance:
                return f"over-augmented (distance {share:.2f} > {self.rails.max_distance:g})"
        self.seen.add(key)
        return None


def _words(text: str) -> list[str]:
    return [token[0] for token in tokenise(text)[1]]


class Deriver:
    """Every (row, variant) of one file sampled and judged, a row at a time."""

    def __init__(
        self, steps: Sequence[Any], table: Table, seed: int, variants: int, judge: Judge
    ) -> None:
        self.steps, self.table, self.variants, self.judge = steps, table, variants, judge
        self.generators = RowGenerators()
        self.seeds = RowSeeds(seed)
        self.augment = table.options.get("augment", ())

    def row(self, row: Row) -> list[tuple[Record, tuple[str, ...] | None]]:
        """Each variant's row-table entry, and its texts when it is written."""
        if row.split is not None and row.split not in self.augment:
            return []  # a row of a split the recipe does not augment (a split column)
        rails = self.judge.rails
        tokenised = [tokenise(text, rails.protect) for text in row.texts]
        out = []
        for variant in range(self.variants):
            own = self.seeds(row.number, variant)
            rng = self.generators.at(own)
            texts, done = [], {}
            for column, (lead, tokens) in zip(self.table.text_columns, tokenised, strict=True):
                new, done[column] = augment_tokens(self.steps, lead, tokens, rng)
                texts.append(new)
            entry: Record = {"row": row.number, "variant": variant, "seed": own, "steps": done}
            out.append((entry, _judged(self.judge, row, tuple(texts), entry)))
        return out


def run_rows(
    steps: Sequence[Any], table: Table, seed: int, variants: int, rails: Rails
) -> tuple[list[Written], list[Record]]:
    """Every row's variants sampled and judged: (the rows written, the row table)."""
    judge = Judge(rails, Seen(texts_hash(row.texts) for row in table.rows))
    deriver = Deriver(steps, table, seed, variants, judge)
    written: list[Written] = []
    entries: list[Record] = []
    for row in table.rows:
        for entry, texts in deriver.row(row):
            if texts is not None:
                written.append((row, entry["variant"], texts))
            entries.append(entry)
    return written, entries


def _judged(judge: Judge, row: Row, texts: tuple[str, ...], entry: Record) -> Any:
    """``texts`` when they are written (the rails' verdict noted in ``entry``), else None."""
    verdict = judge.verdict(row, texts)
    if verdict is not None:
        entry["dropped" if judge.rails.drop else "flagged"] = verdict
    return texts if verdict is None or not judge.rails.drop else None


def replay_rows(records: Iterable[Record], table: Table, rails: Rails) -> list[Written]:
    """The rows a recorded row table writes (its entries without a seed, a streamed file's
    source rows, are passed over). Raises ``ValueError`` for a record that names an unknown
    row or step, or whose recorded drop is not the rails' verdict."""
    judge = Judge(rails, Seen(texts_hash(row.texts) for row in table.rows))
    rows = {row.number: row for row in table.rows}
    written: list[Written] = []
    for entry in records:
        if "seed" not in entry:
            continue
        row = rows.get(entry.get("row"))  # type: ignore[arg-type]
        if row is None:
            raise ValueError(f"the row table names row {entry.get('row')!r}, not in the source")
        kept = replay_entry(judge, table.text_columns, row, entry)
        if kept is not None:
            written.append((row, int(entry.get("variant", 0)), kept))
    return written


def replay_entry(
    judge: Judge, columns: Sequence[str], row: Row, entry: Record
) -> tuple[str, ...] | None:
    """The texts one row-table entry of ``row`` writes (None: the rails drop them). Raises
    ``ValueError`` when its recorded drop is not the rails' verdict."""
    done = entry.get("steps") or {}
    texts = tuple(
        replay_text(done.get(column, []), text, judge.rails)
        for column, text in zip(columns, row.texts, strict=True)
    )
    replayed: Record = {}
    kept = _judged(judge, row, texts, replayed)
    for key in ("dropped", "flagged"):
        if replayed.get(key) != entry.get(key):
            raise ValueError(
                f"row {row.number} variant {entry.get('variant')}: recorded {key} "
                f"{entry.get(key)!r}, but the rails say {replayed.get(key)!r}"
            )
    return kept


__all__ = [
    "Deriver",
    "Judge",
    "Rails",
    "RowGenerators",
    "RowSeeds",
    "Seen",
    "augment_text",
    "augment_tokens",
    "replay_entry",
    "replay_rows",
    "replay_text",
    "row_seed",
    "run_rows",
    "texts_hash",
]
