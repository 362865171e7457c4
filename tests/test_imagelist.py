"""A classification list (Hugging Face ``imagefolder``'s ``metadata.csv``/``metadata.jsonl``):
written back with one row per output, every column carried, loadable by ``imagefolder``'s
rules, and re-derived by ``validate --recompute``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import expand, invoke, jpeg_bytes, read_manifest, skipped

RECIPE = """\
version: 1
seed: 2
variants: 2
pipeline:
  - hflip: {p: 0.5}
  - color_jitter: {brightness: 0.2}
"""


def make_csv(root: Path) -> Path:
    """A root metadata.csv over split folders, with a caption column (quoted commas)."""
    for name, seed in (("train/a.jpg", 1), ("train/sub/b.jpg", 2), ("val/c.jpg", 3)):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(jpeg_bytes(seed))
    (root / "metadata.csv").write_bytes(
        b"file_name,label,caption\r\n"
        b'train/sub/b.jpg,dog,"a dog, running"\r\n'
        b"train/a.jpg,cat,a cat\r\n"
        b"val/c.jpg,cat,another cat\r\n"
    )
    return root


def make_jsonl(root: Path) -> Path:
    """A metadata.jsonl in each split folder."""
    for split, names in (("train", ("a.jpg", "b.jpg")), ("val", ("c.jpg",))):
        lines = []
        for index, name in enumerate(names):
            (root / split).mkdir(parents=True, exist_ok=True)
            (root / split / name).write_bytes(jpeg_bytes(len(lines) + 10 * (split == "val")))
            row = {"file_name": name, "label": ["cat", "dog"][index], "score": index / 2}
            lines.append(json.dumps(row) + "\n")
        (root / split / "metadata.jsonl").write_text("".join(lines))
    return root


def run(tmp_path: Path, source: Path, *args: str) -> Path:
    (tmp_path / "r.yaml").write_text(RECIPE)
    return expand(tmp_path / "r.yaml", source, tmp_path / "out", "--quiet", *args)


def rows_of(path: Path) -> list[dict]:
    if path.suffix == ".csv":
        return list(csv.DictReader(io.StringIO(path.read_text(), newline="")))
    return [json.loads(line) for line in path.read_text().splitlines()]


def imagefolder_rows(out: Path) -> dict[str, dict]:
    """Every row, by image path, checked by ``imagefolder``'s documented rules: a table per
    split folder or at the root, ``file_name`` relative to the table's folder, each image of
    the output listed exactly once."""
    found: dict[str, dict] = {}
    for table in sorted([*out.glob("metadata.*"), *out.glob("*/metadata.*")]):
        folder = table.parent.relative_to(out).as_posix()
        for row in rows_of(table):
            path = f"{folder}/{row['file_name']}" if folder != "." else row["file_name"]
            assert (out / path).is_file(), path
            assert path not in found, path
            found[path] = row
    images = {p.relative_to(out).as_posix() for p in out.rglob("*.jpg")}
    assert set(found) == images
    return found


def test_a_csv_gets_a_row_per_output_with_every_column_carried(tmp_path: Path) -> None:
    source = make_csv(tmp_path / "in")
    out = run(tmp_path, source, "--strict")
    assert read_manifest(out)[0]["layout"] == "imagelist"
    rows = imagefolder_rows(out)
    assert len(rows) == 3 + 2 * 2  # val is not augmented
    for variant in ("train/sub/b__v00.jpg", "train/sub/b__v01.jpg"):
        assert rows[variant] == {"file_name": variant, "label": "dog", "caption": "a dog, running"}
    # The table keeps the sources' order and the input's line ends; each variant follows its
    # source.
    text = (out / "metadata.csv").read_bytes()
    assert text.startswith(
        b'file_name,label,caption\r\ntrain/sub/b.jpg,dog,"a dog, running"\r\n'
        b'train/sub/b__v00.jpg,dog,"a dog, running"\r\n'
    )
    records = {r["path"]: r for r in read_manifest(out) if r["type"] == "file"}
    assert records["train/sub/b__v01.jpg"]["label"] == "dog"
    assert records["metadata.csv"]["role"] == "dataset"


def test_validate_rederives_the_tables(tmp_path: Path) -> None:
    source = make_jsonl(tmp_path / "in")
    out = run(tmp_path, source)
    rows = imagefolder_rows(out)
    assert rows["train/a__v01.jpg"] == {"file_name": "a__v01.jpg", "label": "cat", "score": 0.0}
    args = ("validate", "manifest", out / "manifest.jsonl", "--source", source, "--recompute")
    result = invoke(*args, "all")
    assert result.exit_code == 0, result.output
    assert "6 outputs re-derived" in result.output  # 4 variants, 2 tables
    table = out / "train/metadata.jsonl"
    table.write_text(table.read_text().replace('"dog"', '"cat"'))
    result = invoke(*args, "all")
    assert result.exit_code == 1
    assert "train/metadata.jsonl" in result.output


def test_an_image_no_table_lists_is_skipped(tmp_path: Path) -> None:
    source = make_csv(tmp_path / "in")
    (source / "train/stray.jpg").write_bytes(jpeg_bytes(9))
    out = run(tmp_path, source)
    assert skipped(out)["train/stray.jpg"] == "not listed in metadata.csv"
    (tmp_path / "in/metadata.csv").write_text("file_name,label\ntrain/a.jpg,cat\n")
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", tmp_path / "o2", "--strict")
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("file_name,label\n../x.jpg,cat\n", "points outside its folder"),
        ("name,label\na.jpg,cat\n", "no 'file_name' column"),
        ("file_name,label\ntrain/a.jpg,cat\ntrain/a.jpg,dog\n", "listed twice"),
        ("file_name,label\ntrain/a.jpg,cat,extra\n", "more fields than the header names"),
    ],
)
def test_an_unusable_table_is_an_input_error(tmp_path: Path, text: str, message: str) -> None:
    source = make_csv(tmp_path / "in")
    (source / "metadata.csv").write_text(text)
    (tmp_path / "r.yaml").write_text(RECIPE)
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert message in result.output


def test_hugging_face_imagefolder_loads_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The imagefolder builder ships inside the package: nothing is fetched.
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    datasets = pytest.importorskip("datasets")
    out = run(tmp_path, make_jsonl(tmp_path / "in"))
    loaded = datasets.load_dataset("imagefolder", data_dir=str(out), cache_dir=str(tmp_path / "c"))
    assert sorted(loaded) == ["train", "validation"]
    train = loaded["train"]
    assert train.num_rows == 2 + 2 * 2
    assert sorted(train["label"]) == ["cat"] * 3 + ["dog"] * 3
