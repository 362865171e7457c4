"""The manifest's external sort: any run size gives the records in path order, each dumped once."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augtool.manifest import dump_line, sort_lines, sort_records, sums_line, write_manifest
from augtool.manifest import writer as manifest

names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=12,
)


def record(path: str, index: int) -> dict[str, object]:
    if index % 3 == 2:
        return {"type": "skipped", "path": path, "reason": "r", "sha256": None}
    sha = hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()
    return {"type": "file", "path": path, "sha256": sha, "bytes": index, "steps": [index]}


@settings(max_examples=80, deadline=None)
@given(
    paths=st.lists(names, unique=True, max_size=40),
    run=st.integers(1, 7),
    fan_in=st.integers(2, 5),
)
def test_sorted_lines_are_the_records_in_path_order_whatever_the_run_size(
    tmp_path_factory: pytest.TempPathFactory, paths: list[str], run: int, fan_in: int
) -> None:
    records = [record(p, i) for i, p in enumerate(paths)]
    expected = sorted(records, key=lambda r: r["path"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest, "_SORT_RUN_LINES", run)
        patch.setattr(manifest, "_MERGE_FAN_IN", fan_in)
        lines = list(sort_lines(records, tmp_path_factory.mktemp("sort")))
        again = list(sort_records(records, tmp_path_factory.mktemp("sort")))
    assert [line for _, line, _ in lines] == [dump_line(r) for r in expected]
    assert [path for path, _, _ in lines] == [r["path"] for r in expected]
    assert [sums for _, _, sums in lines] == [
        sums_line(r["sha256"], r["path"]) if r["type"] == "file" else "" for r in expected
    ]
    assert again == expected


def test_the_manifest_bytes_do_not_depend_on_the_run_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [record(f"dir/{name}.jpg", i) for i, name in enumerate("qwertyuiopasdfgh")]
    header = {"type": "header", "schema": "x"}
    outputs = []
    for run in (1, 4, 10_000):
        monkeypatch.setattr(manifest, "_SORT_RUN_LINES", run)
        out = tmp_path / str(run)
        out.mkdir()
        digest = write_manifest(out, header, sort_lines(records, out), {"files": 11})
        outputs.append(
            (digest, (out / "manifest.jsonl").read_bytes(), (out / "SHA256SUMS").read_bytes())
        )
        assert not any(p.name.startswith(manifest.SORT_PREFIX) for p in out.iterdir())
    assert outputs[0] == outputs[1] == outputs[2]
    lines = outputs[0][1].decode().splitlines()
    assert json.loads(lines[0]) == header
    assert json.loads(lines[-1])["sha256"] == outputs[0][0]
    assert len(outputs[0][2].decode().splitlines()) == sum(r["type"] == "file" for r in records)


def test_the_merge_never_opens_more_than_its_fan_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 records in runs of 1 with a fan-in of 3: never more than 3 run files open at once
    (a million-source dataset must not run out of file descriptors)."""
    import builtins

    records = [record(f"{i:03d}.jpg", i) for i in reversed(range(40))]
    monkeypatch.setattr(manifest, "_SORT_RUN_LINES", 1)
    monkeypatch.setattr(manifest, "_MERGE_FAN_IN", 3)
    opened: list[object] = []
    most = 0
    real_open = builtins.open

    def counting_open(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        nonlocal most
        handle = real_open(file, mode, *args, **kwargs)
        if "r" in mode and manifest.SORT_PREFIX in str(file):
            opened.append(handle)
            most = max(most, sum(not h.closed for h in opened))  # type: ignore[attr-defined]
        return handle

    monkeypatch.setattr(builtins, "open", counting_open)
    lines = list(sort_lines(records, tmp_path))
    assert [path for path, _, _ in lines] == [f"{i:03d}.jpg" for i in range(40)]
    assert most == 3
    assert not any(p.name.startswith(manifest.SORT_PREFIX) for p in tmp_path.iterdir())
