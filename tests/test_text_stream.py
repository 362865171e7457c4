"""A table source streamed through expand (docs/text.md, "Memory"): peak memory that does not
follow the file's size, the row table written beside the variant file and re-derived from by
``validate --recompute``, and each kind of bad input reported with its line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import augtool_peak_mib, invoke

RECIPE = """\
version: 1
seed: 3
input: {layout: table, extensions: [.csv], text: [text], label: label}
variants: 2
pipeline:
  - random_swap: {rate: 0.001}
"""


def _table(path: Path, rows: int, words: int) -> None:
    """``rows`` rows of ``words`` words each, every row distinct."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("text,label\n")
        for i in range(rows):
            handle.write(" ".join(f"w{i}x{j}" for j in range(words)) + ",a\n")


@pytest.fixture(scope="module")
def expanded_peaks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A table of 20 rows and one of 1,000 (55 MB), each expanded in a process of its own:
    their folders and expand's peak memory (MiB)."""
    # Rows of ~60 KB: a file read whole (its bytes, its text, its rows, their variants and the
    # encoded variant file) would add several times the file's 55 MB to the small run's peak.
    root = tmp_path_factory.mktemp("peaks")
    recipe = root / "recipe.yaml"
    recipe.write_text(RECIPE, encoding="utf-8")
    small, large = root / "small", root / "large"
    _table(small / "train.csv", 20, 6000)
    _table(large / "train.csv", 1000, 6000)
    assert (large / "train.csv").stat().st_size > 50 * 2**20
    peaks = {}
    for data in (small, large):
        out = root / f"out-{data.name}"
        peaks[data.name] = augtool_peak_mib("expand", recipe, data, "-o", out, "--jobs", "1", "-q")
    assert (root / "out-large" / "train__v00.csv").stat().st_size > 100 * 2**20
    return {"root": root, "peaks": peaks}


@pytest.mark.slow
def test_peak_memory_does_not_follow_the_table_size(expanded_peaks: dict[str, Any]) -> None:
    peaks = expanded_peaks["peaks"]
    assert peaks["large"] < peaks["small"] + 40, peaks


@pytest.mark.slow
def test_recompute_streams_the_table_within_expands_memory(expanded_peaks: dict[str, Any]) -> None:
    # Re-deriving the 55 MB table whole (as images are) would hold its bytes, text and rows and
    # the 110 MB variant file it makes: hundreds of MiB over the small table's peak.
    root, peaks = expanded_peaks["root"], dict(expanded_peaks["peaks"])
    for name in ("small", "large"):
        manifest = root / f"out-{name}" / "manifest.jsonl"
        peaks[f"validate-{name}"] = augtool_peak_mib(
            "validate", "manifest", manifest, "--source", root / name, "--recompute", "all",
            "--jobs", "1", "-q",
        )  # fmt: skip
    assert peaks["validate-large"] < peaks["validate-small"] + 40, peaks
    assert peaks["validate-large"] < peaks["large"] + 20, peaks


def _expand(tmp_path: Path, data: Path, *args: str) -> Path:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.replace("rate: 0.001", "rate: 0.3"), encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("expand", recipe, data, "-o", out, "--quiet", *args)
    assert result.exit_code == 0, result.output
    return out


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def test_the_row_table_is_a_file_beside_the_variant_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _table(data / "train.csv", 30, 8)
    out = _expand(tmp_path, data)
    lines = {r["path"]: r for r in _lines(out) if r["type"] == "file"}
    variant = lines["train__v00.csv"]
    assert variant["steps"] == [] and variant["rows"] == "train__v00.csv.rows.jsonl"
    table = lines["train__v00.csv.rows.jsonl"]
    assert table["kind"] == "rows" and table["image"] == "train__v00.csv"
    entries = [json.loads(x) for x in (out / variant["rows"]).read_text("utf-8").splitlines()]
    sources = [e for e in entries if "seed" not in e]
    variants = [e for e in entries if "seed" in e]
    assert [e["row"] for e in sources] == list(range(1, 31))
    assert [(e["row"], e["variant"]) for e in variants] == [
        (row, v) for row in range(1, 31) for v in range(2)
    ]
    written = [e for e in variants if "dropped" not in e]
    assert (
        len(written)
        == variant["image_size"][0]
        == len((out / "train__v00.csv").read_text("utf-8").splitlines()[1:])
    )
    assert all(len(e["example"]) == 16 for e in sources + written)


def test_recompute_catches_an_edited_row_table(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _table(data / "train.csv", 30, 8)
    out = _expand(tmp_path, data)
    check = ("validate", "manifest", out / "manifest.jsonl", "--source", data, "--recompute", "all")
    assert invoke(*check).exit_code == 0
    table = out / "train__v00.csv.rows.jsonl"
    entries = [json.loads(x) for x in table.read_text("utf-8").splitlines()]
    edited = next(e for e in entries if e.get("steps", {}).get("text"))
    edited["steps"]["text"][0]["params"]["pairs"] = []
    table.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    result = invoke(*check)
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("train__v00.csv:")]
    assert problems and ("FAILED recompute" in problems[0] or "re-derive" in problems[0])


@pytest.mark.parametrize(
    ("edit", "said"),
    [({"row": 31}, "row 31, not in the source"), ({"row": 0}, "row 0 out of order")],
)
def test_recompute_refuses_a_row_table_naming_rows_the_source_lacks(
    tmp_path: Path, edit: dict[str, int], said: str
) -> None:
    data = tmp_path / "data"
    _table(data / "train.csv", 30, 8)
    out = _expand(tmp_path, data)
    table = out / "train__v00.csv.rows.jsonl"
    entries = [json.loads(x) for x in table.read_text("utf-8").splitlines()]
    entries[-1].update(edit)  # the last variant of row 30
    table.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    check = ("validate", "manifest", out / "manifest.jsonl", "--source", data, "--recompute", "all")
    result = invoke(*check)
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("train__v00.csv:")]
    assert any("cannot re-derive" in line and said in line for line in problems), result.output


def _skip_reasons(out: Path) -> dict[str, str]:
    return {r["path"]: r["reason"] for r in _lines(out) if r["type"] == "skipped"}


def test_each_bad_input_is_one_line_naming_its_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "notext.csv").write_text("body,label\nhello there,a\n", encoding="utf-8")
    (data / "quote.csv").write_text('text,label\nfine row,a\n"open,b\nmore,c\n', encoding="utf-8")
    bad = b"text,label\nfine row,a\nsecond fine row,b\ncaf\xe9 noir,c\n"
    (data / "latin.csv").write_bytes(bad)
    (data / "rows.csv").write_text(
        "text,label\nfirst good row,a\n,b\nthree,fields,c\nlast good row,d\n", encoding="utf-8"
    )
    out = _expand(tmp_path, data)
    reasons = _skip_reasons(out)
    assert reasons["notext.csv"] == "line 1: no column 'text' (the header has body, label)"
    assert reasons["quote.csv"].startswith("line 3: malformed CSV")
    assert reasons["latin.csv"].startswith("line 4: not UTF-8 (byte 0xe9 at offset 43)")
    assert all("\n" not in reason for reason in reasons.values())
    line = next(r for r in _lines(out) if r.get("path") == "rows__v00.csv")
    assert line["decoded"]["skipped_rows"] == [
        {"line": 3, "reason": "empty text in 'text'"},
        {"line": 4, "reason": "3 fields where the header has 2"},
    ]
    written = (out / "rows__v00.csv").read_text("utf-8").splitlines()[1:]
    assert {row.rsplit(",", 2)[1] for row in written} <= {"1", "4"}  # source rows 1 and 4
