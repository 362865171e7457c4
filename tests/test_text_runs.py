"""Text datasets end to end: CSV, JSONL and ``.txt`` inputs expanded through the real CLI,
outputs read back by ``csv`` and pandas with the source's columns plus ``source_row`` and
``variant``, labels carried, every written variant different from its row, byte-identical
``--jobs 1`` and ``--jobs 2``, ``validate --recompute all`` passing and catching an edited row,
and bad input reported with its line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import ROOT, invoke

from augtool.media.text.tokens import tokenise

RECIPE = """\
version: 1
seed: 11
input: {{layout: {layout}, extensions: [{ext}], text: [text], label: label{extra}}}
variants: 3
text: {{protect: ['\\d+'], max_token_distance: 0.6}}
pipeline:
  - synonym_replace: {{rate: [0.2, 0.4]}}
  - random_swap: {{rate: [0.1, 0.2], p: 0.5}}
  - char_typo: {{rate: [0.02, 0.05], p: 0.5}}
"""
ROWS = [
    ("t1", "My order 123 is late and the price is wrong", "billing"),
    ("t2", "The app is slow and I need help fast", "technical"),
    ("t3", "Je veux un remboursement pour la commande 456 🙁", "billing"),
    ("t4", "Где моя посылка? Заказ 789 не пришёл, need help", "shipping"),
    ("t5", "I want to buy a new phone, the old one is broken", "technical"),
]


def _recipe(tmp_path: Path, layout: str = "table", ext: str = ".csv", extra: str = "") -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE.format(layout=layout, ext=ext, extra=extra), encoding="utf-8")
    return path


def _csv(path: Path, rows=ROWS, bom: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "text", "label"])
    writer.writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8"))


def _dataset(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    _csv(data / "train.csv")
    _csv(data / "val.csv", [("v1", "A quiet hotel room with a clean bath", "travel")])
    _csv(data / "train" / "more.csv", list(reversed(ROWS)))
    return data


def _expand(recipe: Path, data: Path, out: Path, *args: str) -> None:
    result = invoke("expand", recipe, data, "-o", out, "--quiet", *args)
    assert result.exit_code == 0, result.output


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def _row_tables(out: Path) -> dict[str, list[dict]]:
    """Each variant file's row table: its variants' entries (a streamed file's row table, the
    file its line names, also lists its source rows)."""
    tables = {}
    for r in _manifest(out):
        if r.get("role") == "augmented" and r.get("kind") is None:
            lines = (out / r["rows"]).read_text("utf-8").splitlines() if "rows" in r else []
            entries = [json.loads(line) for line in lines]
            tables[r["path"]] = [e for e in entries if "seed" in e] if "rows" in r else r["steps"]
    return tables


def test_csv_outputs_read_back_with_the_source_columns_and_labels(tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    data, out = _dataset(tmp_path), tmp_path / "out"
    _expand(_recipe(tmp_path), data, out)
    assert sorted(p.name for p in out.glob("*.csv")) == ["train.csv", "train__v00.csv", "val.csv"]
    assert not (out / "val__v00.csv").exists()  # val is not augmented
    written = _read_csv(out / "train__v00.csv")
    frame = pandas.read_csv(out / "train__v00.csv", dtype=str, keep_default_na=False)
    assert list(frame.columns) == ["id", "text", "label", "source_row", "variant"]
    assert frame.to_dict("records") == written
    source = {str(n): row for n, row in enumerate(ROWS, start=1)}
    table = _row_tables(out)["train__v00.csv"]
    kept = [e for e in table if "dropped" not in e]
    assert len(kept) == len(written) and len(table) == 3 * len(ROWS)
    for row, entry in zip(written, kept, strict=True):
        ident, text, label = source[row["source_row"]]
        assert (row["id"], row["label"]) == (ident, label)  # carried, never changed
        assert row["text"] != text  # every written variant differs from its row
        assert (int(row["source_row"]), int(row["variant"])) == (entry["row"], entry["variant"])
        for number in ("123", "456", "789"):
            assert (number in row["text"]) == (number in text)  # protected
    assert {e["dropped"].split(" (")[0] for e in table if "dropped" in e} <= {
        "unchanged",
        "duplicate",
        "over-augmented",
    }
    result = invoke("validate", "manifest", out / "manifest.jsonl", "--source", data,
                    "--recompute", "all")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_jobs_one_and_two_write_the_same_bytes(tmp_path: Path) -> None:
    data, recipe = _dataset(tmp_path), _recipe(tmp_path)
    _expand(recipe, data, tmp_path / "one", "--jobs", "1")
    _expand(recipe, data, tmp_path / "two", "--jobs", "2", "--backend", "loky")
    for name in ("manifest.jsonl", "SHA256SUMS", "train__v00.csv", "train/more__v00.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_a_row_s_variants_depend_on_its_identity_not_its_neighbours(tmp_path: Path) -> None:
    data, recipe = _dataset(tmp_path), _recipe(tmp_path)
    _expand(recipe, data, tmp_path / "a")
    _csv(data / "train.csv", [*ROWS, ("t6", "One more row at the end", "billing")])
    _expand(recipe, data, tmp_path / "b")
    before = _row_tables(tmp_path / "a")["train__v00.csv"]
    after = _row_tables(tmp_path / "b")["train__v00.csv"]
    assert after[: len(before)] == before


def test_recompute_catches_an_edited_row(tmp_path: Path) -> None:
    data, out = _dataset(tmp_path), tmp_path / "out"
    _expand(_recipe(tmp_path), data, out)
    path = out / "train__v00.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("t2,", "t2,X", 1), encoding="utf-8")
    result = invoke("validate", "manifest", out / "manifest.jsonl", "--source", data,
                    "--recompute", "all")  # fmt: skip
    assert result.exit_code == 1
    assert "train__v00.csv" in result.output


def test_replay_refuses_an_edited_row_record(tmp_path: Path) -> None:
    from augtool.recipe import load_recipe
    from augtool.run.derive import InputLimits, derive, open_source, recipe_settings

    data, out = _dataset(tmp_path), tmp_path / "out"
    recipe = load_recipe(_recipe(tmp_path))
    _expand(_recipe(tmp_path), data, out)
    line = next(r for r in _manifest(out) if r.get("path") == "train__v00.csv")
    limits = InputLimits((), None, "text", recipe_settings(recipe.normalised, "table"))
    opened = open_source((data / "train.csv").read_bytes(), limits, name="train.csv")
    table = _row_tables(out)["train__v00.csv"]
    again = derive(opened, records=table, encoder=line["encoder"])
    assert again.data == (out / "train__v00.csv").read_bytes()
    edited = json.loads(json.dumps(table))
    first = next(e for e in edited if e["steps"]["text"] and "dropped" not in e)
    first["steps"]["text"] = []  # the row replays unchanged: the rails now drop it
    with pytest.raises(ValueError, match="recorded dropped None, but the rails say 'unchanged'"):
        derive(opened, records=edited, encoder=line["encoder"])


def test_jsonl_and_txt_lines_keep_their_format(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    lines = [json.dumps({"text": t, "label": label, "meta": {"id": i}}, ensure_ascii=False)
             for i, t, label in ROWS]  # fmt: skip
    (data / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data / "train").mkdir()
    (data / "train/notes.txt").write_text("\n".join(t for _, t, _ in ROWS) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    _expand(_recipe(tmp_path, ext=".jsonl, .txt"), data, out)
    written = [json.loads(x) for x in (out / "train__v00.jsonl").read_text("utf-8").splitlines()]
    assert written and all(list(w) == ["text", "label", "meta", "source_row", "variant"]
                           for w in written)  # fmt: skip
    assert all(w["meta"]["id"] == ROWS[w["source_row"] - 1][0] for w in written)
    table = _row_tables(out)["train/notes__v00.txt"]
    texts = (out / "train/notes__v00.txt").read_text("utf-8").splitlines()
    assert len(texts) == sum("dropped" not in e for e in table)


def test_a_folder_of_txt_per_class_is_one_example_per_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for i, (_, text, label) in enumerate(ROWS):
        (data / "train" / label).mkdir(parents=True, exist_ok=True)
        (data / "train" / label / f"{i}.txt").write_text(text + "\n", encoding="utf-8")
    out = tmp_path / "out"
    _expand(_recipe(tmp_path, layout="imagefolder", ext=".txt"), data, out)
    variants = sorted(out.glob("train/billing/0__v*.txt"))
    assert len(variants) == 3
    records = {r["path"]: r for r in _manifest(out) if r.get("role") == "augmented"}
    assert records["train/billing/0__v01.txt"]["label"] == "billing"
    assert all(v.read_text("utf-8").endswith("\n") for v in variants)
    result = invoke("validate", "manifest", out / "manifest.jsonl", "--source", data,
                    "--recompute", "all")  # fmt: skip
    assert result.exit_code == 0, result.output


def _skips(out: Path) -> dict[str, str]:
    return {r["path"]: r["reason"] for r in _manifest(out) if r["type"] == "skipped"}


def test_bad_files_are_skipped_with_their_line_and_strict_fails(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _csv(data / "good.csv")
    _csv(data / "bom.csv", bom=True)
    (data / "latin1.csv").write_bytes("text,label\ncaf\xe9 au lait,a\n".encode("latin-1"))
    (data / "quote.csv").write_text('text,label\n"unbalanced,a\nmore,b\n', encoding="utf-8")
    (data / "nolabel.csv").write_text("text,category\nhello,a\n", encoding="utf-8")
    out = tmp_path / "out"
    _expand(_recipe(tmp_path), data, out)
    skips = _skips(out)
    assert skips["latin1.csv"].startswith("line 2: not UTF-8 (byte 0xe9")
    assert skips["quote.csv"].startswith("line 2: malformed CSV")
    assert skips["nolabel.csv"] == "line 1: no column 'label' (the header has text, category)"
    assert (out / "bom__v00.csv").read_bytes().startswith(b"id,text,label,")  # BOM not kept
    decoded = {r["path"]: r.get("decoded") for r in _manifest(out) if r.get("role") == "augmented"}
    assert decoded["bom__v00.csv"] == {"format": "csv", "rows": 5, "bom": True}
    result = invoke("expand", _recipe(tmp_path), data, "-o", tmp_path / "o2", "--strict", "-q")
    assert result.exit_code == 1


def test_bad_rows_are_skipped_with_their_line_or_fail_the_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    good = json.dumps({"text": "the price is good", "label": "a"})
    lines = [good, "[1, 2]", json.dumps({"text": "  ", "label": "a"}),
             json.dumps({"label": "a"}), "{not json"]  # fmt: skip
    (data / "rows.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    _expand(_recipe(tmp_path, ext=".jsonl"), data, out)
    line = next(r for r in _manifest(out) if r.get("role") == "augmented")
    assert line["decoded"]["skipped_rows"] == [
        {"line": 2, "reason": "a JSON list, not an object"},
        {"line": 3, "reason": "empty text in 'text'"},
        {"line": 4, "reason": "no 'text' field"},
        {"line": 5, "reason": "not JSON (Expecting property name enclosed in double quotes)"},
    ]
    # A row's number is its place among the data rows, the skipped ones counted.
    written = [json.loads(x) for x in (out / "rows__v00.jsonl").read_text("utf-8").splitlines()]
    assert {w["source_row"] for w in written} == {1}
    _csv(data / "more.csv", [("a", "  ", "x"), *ROWS[:2]])
    _expand(_recipe(tmp_path, ext=".csv"), data, tmp_path / "csv")
    rows = {int(r["source_row"]) for r in _read_csv(tmp_path / "csv" / "more__v00.csv")}
    assert rows == {2, 3}
    strict = _recipe(tmp_path, ext=".jsonl", extra=", bad_rows: error")
    result = invoke("expand", strict, data, "-o", tmp_path / "out2", "--quiet")
    assert result.exit_code == 1  # the one input was skipped
    assert "rows.jsonl: line 2: a JSON list, not an object" in result.output


def test_the_bundled_config_expands_and_validates(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("expand", ROOT / "configs/text.yaml", "-o", out, "--strict", "--quiet")
    assert result.exit_code == 0, result.output
    result = invoke("validate", "manifest", out / "manifest.jsonl", "--source",
                    ROOT / "samples/text", "--recompute", "all")  # fmt: skip
    assert result.exit_code == 0, result.output
    written = _read_csv(out / "train__v00.csv")
    assert 200 <= len(written) <= 3 * 144
    non_ascii = [r for r in written if not r["text"].isascii()]
    assert non_ascii and all(r["text"].encode("utf-8") for r in non_ascii)
    assert all(tokenise(r["text"])[1] for r in written)


def test_a_text_in_two_splits_is_reported_as_leakage(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _csv(data / "train.csv")
    _csv(data / "val.csv", [("v1", "A quiet hotel room", "travel"), ROWS[1]])
    out = tmp_path / "out"
    _expand(_recipe(tmp_path), data, out)
    result = invoke("validate", "manifest", out / "manifest.jsonl")
    assert result.exit_code == 1
    assert (
        "val.csv: example 2 (split 'val') has the same content as example 2 of "
        "train.csv in split 'train'" in result.output
    )
    _csv(data / "val.csv", [("v1", "A quiet hotel room", "travel")])
    _expand(_recipe(tmp_path), data, tmp_path / "clean")
    result = invoke("validate", "manifest", tmp_path / "clean" / "manifest.jsonl")
    assert result.exit_code == 0, result.output


def test_preview_shows_the_variants_expand_writes_with_changes_marked(tmp_path: Path) -> None:
    data, recipe, out = _dataset(tmp_path), _recipe(tmp_path), tmp_path / "out"
    page = tmp_path / "preview.html"
    result = invoke("preview", recipe, data, "-o", page, "--sources", "5", "--variants", "3",
                    "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)["rows"]
    _expand(recipe, data, out)
    written = {
        (r["source_row"], r["variant"]): r["text"] for r in _read_csv(out / "train__v00.csv")
    }
    variants = [s for s in shown if s["path"] == "train.csv" and s["variant"] is not None]
    assert len(variants) == 3 * len(ROWS)
    for item in variants:
        key = (str(item["row"]), str(item["variant"]))
        if item["dropped"] is None:
            assert written[key] == item["text"]
        else:
            assert key not in written
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and "<mark>" in text
    assert invoke("preview", recipe, data, "-o", tmp_path / "p.pdf").exit_code == 2


def test_one_file_with_a_split_column(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    rows = [[i, text, label, "train" if n % 3 else "val"] for n, (i, text, label) in
            enumerate(ROWS)]  # fmt: skip
    rows.append(["x", "a row of no known split", "a", "dev"])
    with (data / "all.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([["id", "text", "label", "split"], *rows])
    out = tmp_path / "out"
    _expand(_recipe(tmp_path, extra=", split: split"), data, out)
    written = _read_csv(out / "all__v00.csv")
    assert written and {r["split"] for r in written} == {"train"}  # val rows: no variants
    assert {r["source_row"] for r in written} <= {"2", "3", "5"}
    line = next(r for r in _manifest(out) if r.get("role") == "augmented")
    assert line["decoded"]["skipped_rows"] == [
        {"line": 7, "reason": "split 'dev' is not among splits.names"}
    ]
    result = invoke("validate", "manifest", out / "manifest.jsonl", "--source", data,
                    "--recompute", "all")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows.append(["y", ROWS[1][1], "technical", "val"])  # row 2's text, in val as well
    with (data / "all.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([["id", "text", "label", "split"], *rows])
    _expand(_recipe(tmp_path, extra=", split: split"), data, tmp_path / "leaky")
    result = invoke("validate", "manifest", tmp_path / "leaky" / "manifest.jsonl")
    assert result.exit_code == 1
    assert "all.csv: example 6 (split 'val') has the same content as example 2 of all.csv" in (
        result.output
    )


def test_preview_sweep_shows_each_step_alone_at_its_rates(tmp_path: Path) -> None:
    data, recipe = _dataset(tmp_path), _recipe(tmp_path)
    result = invoke("preview", recipe, data, "-o", tmp_path / "s.html", "--sweep",
                    "--sources", "1", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert made["mode"] == "sweep"
    points = [(r["steps"], r["at"].split()[0]) for r in made["rows"] if r.get("at")]
    names = ["synonym_replace", "random_swap", "char_typo"]
    assert points == [([n], at) for n in names for at in ("low", "mid", "high")]


def test_a_csv_cell_longer_than_the_csv_module_s_default_limit_is_read(tmp_path: Path) -> None:
    # Python's csv refuses a field over 131,072 characters unless told otherwise; a long
    # document in one cell is valid CSV, read as JSONL would read it.
    data, out = tmp_path / "data", tmp_path / "out"
    _csv(data / "train.csv", [*ROWS, ("t6", "a" * 140_000 + " long cell", "long")])
    _expand(_recipe(tmp_path), data, out, "--strict")
    rows = _read_csv(out / "train__v00.csv")
    assert {r["source_row"] for r in rows} >= {"6"}
    result = invoke("validate", "manifest", out / "manifest.jsonl", "--source", data,
                    "--recompute", "all")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_jsonl_line_nested_too_deeply_is_a_bad_row_not_a_crash(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    good = json.dumps({"text": "the price is good", "label": "a"})
    deep = '{"text": "deep", "label": "a", "v": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (data / "rows.jsonl").write_text(f"{good}\n{deep}\n", encoding="utf-8")
    _expand(_recipe(tmp_path, ext=".jsonl"), data, out)
    line = next(r for r in _manifest(out) if r.get("role") == "augmented")
    reason = "not JSON (nested too deeply)"
    assert line["decoded"]["skipped_rows"] == [{"line": 2, "reason": reason}]
    result = invoke("validate", "manifest", out / "manifest.jsonl", "--source", data,
                    "--recompute", "all")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_jsonl_line_with_a_lone_surrogate_escape_is_a_bad_row(tmp_path: Path) -> None:
    # JSON allows "\ud800" alone; UTF-8 cannot encode it, so expand crashed writing the row.
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    good = json.dumps({"text": "the price is good \ud83d\ude00", "label": "a"})  # a pair
    lone = '{"text": "a lone \\ud800 here", "label": "a"}'
    (data / "rows.jsonl").write_text(f"{good}\n{lone}\n", encoding="utf-8")
    _expand(_recipe(tmp_path, ext=".jsonl"), data, out)
    line = next(r for r in _manifest(out) if r.get("role") == "augmented")
    assert [s["line"] for s in line["decoded"]["skipped_rows"]] == [2]
    assert "lone surrogate" in line["decoded"]["skipped_rows"][0]["reason"]
    result = invoke("validate", "manifest", out / "manifest.jsonl", "--source", data,
                    "--recompute", "all")  # fmt: skip
    assert result.exit_code == 0, result.output
