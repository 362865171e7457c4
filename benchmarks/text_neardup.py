"""Measure the text near-duplicate check (docs/governance.md, "Text"): how often a light edit of
an example is caught (false negatives) and how often distinct examples pair (false positives), at
the text medium's threshold and around it, and what fingerprinting and pairing cost.

- Generated texts: ``--texts`` sentences of 5-25 words drawn (Zipf-weighted, so common words
  repeat as in real text) from the words of the bundled sample and the shipped synonym table;
  no two are alike by construction. Each gets six light edits: upper case; punctuation removed
  and lower case; one word replaced; two words replaced; one word deleted; one word inserted.
- The bundled sample (``samples/text``): the same edits of every message; the cross-split pairs
  of ``val.csv`` against ``train.csv``; and, with ``--old-val FILE`` (the first validation set:
  ``git show 1dfdde8:samples/text/val.csv``), that set's pairs, judged against the word edit
  distance of the two messages (normalised words; 3 or fewer: a near-copy).

Costs are CPU seconds (user + sys of this process), so they hold on a loaded machine.

    python benchmarks/text_neardup.py
    git show 1dfdde8:samples/text/val.csv > /tmp/val_old.csv
    python benchmarks/text_neardup.py --old-val /tmp/val_old.csv --pairing-rows 10000 100000
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
import re
import time
from pathlib import Path

from augtool.media import registry
from augtool.media.text.fingerprint import fingerprint, normalise
from augtool.neardup import Hashed, cross_split_pairs

ROOT = Path(__file__).resolve().parent.parent
TEXT = ROOT / "samples" / "text"
SYNONYMS = ROOT / "augtool" / "media" / "text" / "data" / "synonyms_en.tsv"
MEDIUM = registry.get("text")
BITS: int = MEDIUM.fingerprint_bits  # type: ignore[attr-defined]
WIDTH: int = MEDIUM.fingerprint_width  # type: ignore[attr-defined]
EDITS = ("upper", "punctuation", "replace1", "replace2", "delete1", "insert1")
LENGTHS = ((1, 4), (5, 7), (8, 11), (12, 17), (18, 40))


def cpu() -> float:
    return time.process_time()


def rows_of(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


def vocabulary() -> list[str]:
    words = set()
    for path in (TEXT / "train.csv", TEXT / "val.csv"):
        for text in rows_of(path):
            words.update(w for w in re.findall(r"[A-Za-z']+", text))
    for line in SYNONYMS.read_text(encoding="utf-8").splitlines():
        if "\t" in line and not line.startswith("#"):
            word, _, rest = line.partition("\t")
            words.update([word, *(s.strip() for s in rest.split(","))])
    return sorted(w for w in words if w)


def edited(text: str, kind: str, rng: random.Random, words: list[str]) -> str:
    tokens = text.split(" ")
    if kind == "upper":
        return text.upper()
    if kind == "punctuation":
        return re.sub(r"[,.!?:;]", "", text).lower()
    if kind.startswith("replace"):
        for place in rng.sample(range(len(tokens)), int(kind[-1])):
            tokens[place] = rng.choice(words)
    elif kind == "delete1":
        del tokens[rng.randrange(len(tokens))]
    elif kind == "insert1":
        tokens.insert(rng.randrange(len(tokens) + 1), rng.choice(words))
    return " ".join(tokens)


def distance(a: str, b: str) -> int | None:
    first, second = fingerprint((a,)), fingerprint((b,))
    return None if first is None or second is None else (first ^ second).bit_count()


def generated(count: int, rng: random.Random, words: list[str]) -> list[str]:
    weights = [1.0 / (rank + 1) for rank in range(len(words))]
    ranked = rng.sample(words, len(words))
    texts: set[str] = set()
    while len(texts) < count:
        length = rng.randint(5, 25)
        chosen = rng.choices(ranked, weights, k=length)
        texts.add(" ".join(chosen).capitalize() + rng.choice([".", "?", "!"]))
    return sorted(texts)


def edit_rates(texts: list[str], rng: random.Random, words: list[str]) -> dict[str, object]:
    """Per edit kind and length bucket: the share of edits within the threshold."""
    caught: dict[str, dict[str, list[int]]] = {k: {} for k in EDITS}
    for text in texts:
        length = len(text.split(" "))
        bucket = next((f"{lo}-{hi}" for lo, hi in LENGTHS if lo <= length <= hi), "other")
        for kind in EDITS:
            if kind == "replace2" and length < 2:
                continue
            gap = distance(text, edited(text, kind, rng, words))
            if gap is not None:
                caught[kind].setdefault(bucket, []).append(int(gap <= BITS))
    return {
        kind: {b: round(sum(v) / len(v), 3) for b, v in sorted(buckets.items())}
        for kind, buckets in caught.items()
    }


def pair_counts(first: list[str], second: list[str]) -> dict[str, object]:
    prints_a = [fingerprint((t,)) for t in first]
    prints_b = [fingerprint((t,)) for t in second]
    cross = [
        (a ^ b).bit_count() for a in prints_a for b in prints_b if a is not None and b is not None
    ]
    everything = [p for p in prints_a + prints_b if p is not None]
    within = [(a ^ b).bit_count() for a, b in itertools.combinations(everything, 2)]
    return {
        "cross_pairs": len(cross),
        "cross_within": {str(t): sum(d <= t for d in cross) for t in (BITS - 8, BITS, BITS + 8)},
        "all_pairs": len(within),
        "all_within": sum(d <= BITS for d in within),
        "closest_bits": min(within),
        "closest_cross_bits": min(cross),
    }


def word_edits(a: list[str], b: list[str]) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def old_val(path: Path) -> dict[str, object]:
    """The first validation set against train: pairs found, and how they were judged."""
    train, val = rows_of(TEXT / "train.csv"), rows_of(path)
    found = missed = false = 0
    for a in train:
        for b in val:
            edits = word_edits(normalise((a,)).split(), normalise((b,)).split())
            near = (distance(a, b) or 0) <= BITS
            found += near
            false += near and edits > 3
            missed += (not near) and edits <= 2
    rows = sum(any((distance(a, b) or 0) <= BITS for a in train) for b in val)
    return {"pairs": found, "val_rows_paired": rows, "val_rows": len(val),
            "pairs_over_3_word_edits": false, "missed_within_2_word_edits": missed}  # fmt: skip


def pairing_cost(rows: int, rng: random.Random) -> dict[str, float]:
    """CPU seconds to pair ``rows`` random fingerprints, 80 % train and 20 % val."""
    items = [
        Hashed("t.csv", "train" if i < rows * 4 // 5 else "val", rng.getrandbits(WIDTH), i)
        for i in range(rows)
    ]
    start = cpu()
    cross_split_pairs(items, BITS, WIDTH)
    return {"rows": rows, "pairing_cpu_s": round(cpu() - start, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--old-val", type=Path)
    parser.add_argument("--pairing-rows", type=int, nargs="*", default=[10000])
    args = parser.parse_args()
    rng = random.Random(args.seed)
    words = vocabulary()
    texts = generated(args.texts, rng, words)
    start = cpu()
    for text in texts:
        fingerprint((text,))
    per_1000 = (cpu() - start) * 1000 / len(texts)
    half = len(texts) // 2
    print(json.dumps({"set": "generated", "texts": len(texts), "threshold": BITS,
                      "fingerprint_cpu_s_per_1000": round(per_1000, 3),
                      **pair_counts(texts[:half], texts[half:])}))  # fmt: skip
    print(json.dumps({"set": "generated edits caught", **edit_rates(texts, rng, words)}))
    train, val = rows_of(TEXT / "train.csv"), rows_of(TEXT / "val.csv")
    print(json.dumps({"set": "bundled", **pair_counts(train, val)}))
    print(json.dumps({"set": "bundled edits caught", **edit_rates(train + val, rng, words)}))
    if args.old_val:
        print(json.dumps({"set": "first val.csv", **old_val(args.old_val)}))
    for rows in args.pairing_rows:
        print(json.dumps({"set": "pairing", **pairing_cost(rows, rng)}))


if __name__ == "__main__":
    main()
