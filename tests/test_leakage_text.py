"""Leakage by content for text (docs/governance.md, "Text"): an example and its light edit
(case, punctuation, a word or two) in two splits are found by expand and validate through the
text medium's per-example fingerprint; the bundled sample's distinct messages do not pair."""

from __future__ import annotations

import csv
import io
import json
import random
import re
from pathlib import Path

import pytest
from conftest import ROOT, invoke

from augtool.media import registry
from augtool.media.text.fingerprint import fingerprint

TEXT = ROOT / "samples" / "text"
MEDIUM = registry.get("text")
BITS: int = MEDIUM.fingerprint_bits  # type: ignore[attr-defined]
WORDS = ["parcel", "invoice", "screen", "password", "yesterday", "refund", "again", "broken"]


def sample_texts(name: str) -> list[str]:
    with (TEXT / name).open(encoding="utf-8", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


def light_edits(text: str, rng: random.Random) -> dict[str, str]:
    """The text in upper case; without punctuation, in lower case; with one, and two, words
    replaced (of ``WORDS``)."""
    words = text.split(" ")
    one, two = list(words), list(words)
    for changed, count in ((one, 1), (two, 2)):
        for place in rng.sample(range(len(words)), min(count, len(words))):
            changed[place] = rng.choice(WORDS)
    return {
        "upper": text.upper(),
        "punctuation": re.sub(r"[,.!?:;]", "", text).lower(),
        "one word": " ".join(one),
        "two words": " ".join(two),
    }


def distance(a: str, b: str) -> int:
    first, second = fingerprint((a,)), fingerprint((b,))
    assert first is not None and second is not None
    return (first ^ second).bit_count()


def test_light_edits_of_the_bundled_messages_are_near_and_distinct_ones_are_not() -> None:
    rng = random.Random(19)
    train, val = sample_texts("train.csv"), sample_texts("val.csv")
    caught: dict[tuple[str, int], list[bool]] = {}
    for text in train + val:
        length = len(text.split(" "))
        words = 8 if length >= 8 else 5 if length >= 5 else 1
        for kind, edited in light_edits(text, rng).items():
            caught.setdefault((kind, words), []).append(distance(text, edited) <= BITS)
    for kind in ("upper", "punctuation"):
        assert all(all(caught[kind, words]) for words in (1, 5, 8)), kind
    # one word of eight or more is always caught, of five to seven most often; of fewer (a
    # Japanese message is one "word") it is no longer a light edit, nor are two of fewer than 8
    assert all(caught["one word", 8])
    for kind, words in (("one word", 5), ("two words", 8)):
        found = caught[kind, words]
        assert sum(found) >= 0.9 * len(found) and len(found) > 10, (kind, words)
    # the bundled validation messages were written apart from the training ones
    assert min(distance(a, b) for a in train for b in val) > BITS


def test_no_letters_means_no_fingerprint_and_normalising_removes_case_and_marks() -> None:
    assert fingerprint(("!!! ... 🙂",)) is None
    assert fingerprint(("Hello, World!",)) == fingerprint(("hello world",))
    assert fingerprint(("ｆｕｌｌ width",)) == fingerprint(("full width",))


def _csv(path: Path, rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _recipe(tmp_path: Path, on_leak: str, split_column: bool = False) -> Path:
    section = {"layout": "table", "text": ["text"], "label": "label"}
    if split_column:
        section["split"] = "split"
    text = {
        "version": 1,
        "seed": 3,
        "input": section,
        "splits": {"names": ["train", "val"], "augment": ["train"], "on_leak": on_leak},
        "variants": 1,
        "pipeline": [{"random_swap": {"rate": [0.1, 0.2]}}],
    }
    path = tmp_path / f"recipe-{on_leak}.yaml"
    path.write_text(json.dumps(text), encoding="utf-8")
    return path


def planted(tmp_path: Path) -> Path:
    """The bundled sample with a light edit of train row 4 as val row 3 (the labels left
    out: the check reads only the text)."""
    train = sample_texts("train.csv")
    copy = "Hello!! my PROFILE page shows somebody else's name"  # row 4: "Hello! My profile …"
    assert train[3] == "Hello! My profile page shows somebody else's name."
    val = [(f"v{i}", t, "x") for i, t in enumerate(sample_texts("val.csv"), start=1)]
    val.insert(2, ("planted", copy, "account"))
    source = tmp_path / "text"
    header = ("id", "text", "label")
    _csv(source / "train.csv", [(f"t{i}", t, "x") for i, t in enumerate(train, 1)], header)
    _csv(source / "val.csv", val, header)
    return source


def test_expand_and_validate_name_the_planted_row(tmp_path: Path) -> None:
    source, out = planted(tmp_path), tmp_path / "out"
    named = "val.csv row 3 (split 'val') is a near-duplicate of train.csv row 4 (split 'train')"
    failed = invoke("expand", _recipe(tmp_path, "fail"), source, "-o", out)
    assert failed.exit_code == 1, failed.output
    assert named in failed.output and "256-bit text MinHashes" in failed.output
    # train row 16 is the same message without the greeting: the copy pairs with it too
    assert "2 near-duplicate pair(s)" in failed.output and "train.csv row 16" in failed.output
    assert not out.exists()  # before anything is written
    dropped = invoke("expand", _recipe(tmp_path, "drop_from_train"), source, "-o", out)
    assert dropped.exit_code == 0 and named in dropped.output
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    # a row is not a file: the table it is in is kept (and augmented), the pair only warned of
    assert any(r.get("path") == "train__v00.csv" for r in lines)
    checked = invoke("validate", "manifest", out / "manifest.jsonl", "--source", source)
    assert checked.exit_code == 1 and f"val.csv: {named}" in checked.output
    # without --source, the copied originals are read instead
    copies = invoke("validate", "manifest", out / "manifest.jsonl")
    assert copies.exit_code == 1 and f"val.csv: {named}" in copies.output
    clean = invoke("expand", _recipe(tmp_path, "fail"), TEXT, "-o", tmp_path / "clean")
    assert clean.exit_code == 0, clean.output
    again = invoke("validate", "manifest", tmp_path / "clean/manifest.jsonl", "--source", TEXT)
    assert again.exit_code == 0, again.output


def test_rows_of_one_file_in_two_splits_pair(tmp_path: Path) -> None:
    rows = [
        ("1", "The courier threw my parcel over the fence.", "shipping", "train"),
        ("2", "My invoice shows the wrong company address.", "billing", "train"),
        ("3", "the courier threw my PARCEL over the gate", "shipping", "val"),
        ("4", "The courier threw my parcel over the fence again.", "shipping", "train"),
    ]
    source = tmp_path / "data"
    _csv(source / "all.csv", rows, ("id", "text", "label", "split"))
    out = tmp_path / "out"
    result = invoke("expand", _recipe(tmp_path, "warn", True), source, "-o", out)
    assert result.exit_code == 0, result.output
    assert "2 near-duplicate pair(s)" in result.output
    assert "all.csv row 3 (split 'val') is a near-duplicate of all.csv row 1" in result.output
    assert "all.csv row 4 (split 'train') is a near-duplicate of all.csv row 3" in result.output
    checked = invoke("validate", "manifest", out / "manifest.jsonl", "--source", source)
    assert checked.exit_code == 1 and "leakage 2" in checked.output


def test_a_one_example_file_is_dropped_from_train_as_an_image_is(tmp_path: Path) -> None:
    source = tmp_path / "docs"
    text = "Please refund the second charge on my card from last Tuesday."
    for path, body in {
        "train/billing/a.txt": text.lower().replace("second", "2nd"),
        "train/billing/b.txt": "The app logs me out every five minutes.",
        "val/billing/c.txt": text,
    }.items():
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        (source / path).write_text(body, encoding="utf-8")
    recipe = json.loads(_recipe(tmp_path, "drop_from_train").read_text())
    recipe["input"] = {"layout": "imagefolder", "extensions": [".txt"]}
    path = tmp_path / "docs.yaml"
    path.write_text(json.dumps(recipe), encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("expand", path, source, "-o", out)
    assert result.exit_code == 0, result.output
    assert "train/billing/a.txt (split 'train') is a near-duplicate" not in result.output
    assert "val/billing/c.txt (split 'val') is a near-duplicate of train/billing/a.txt" in (
        result.output
    )
    written = {p.relative_to(out).as_posix() for p in out.rglob("*.txt")}
    assert "train/billing/a.txt" not in written and "train/billing/b.txt" in written


def test_a_dataset_of_one_split_is_not_fingerprinted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []
    real = MEDIUM.example_fingerprints  # type: ignore[attr-defined]

    def noted(path: Path, settings: str) -> object:
        read.append(path.name)
        return real(path, settings)

    monkeypatch.setattr(MEDIUM, "example_fingerprints", noted)
    source, header = tmp_path / "data", ("id", "text", "label")
    _csv(source / "train.csv", [("1", "The courier threw my parcel over the fence.", "s")], header)
    recipe = _recipe(tmp_path, "warn")
    assert invoke("expand", recipe, source, "-o", tmp_path / "one", "--dry-run").exit_code == 0
    assert read == []  # nothing to compare it with: no row is read for the check
    _csv(source / "val.csv", [("2", "My invoice shows the wrong company address.", "b")], header)
    assert invoke("expand", recipe, source, "-o", tmp_path / "two", "--dry-run").exit_code == 0
    assert sorted(read) == ["train.csv", "val.csv"]
