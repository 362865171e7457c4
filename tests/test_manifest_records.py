"""The manifest's typed records, its one reader and its JSON Schema, on the manifests of every
bundled sample config (``configs/*.yaml``) expanded into a temporary folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from augtool.manifest import (
    FileRecord,
    Footer,
    Header,
    ManifestDamaged,
    ManifestReader,
    RecordError,
    Skipped,
    dump_line,
    parse_record,
)
from augtool.manifest.schema import SCHEMA_FILE, line_schema, schema_text

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(ROOT.glob("configs/*.yaml"))


@pytest.fixture(scope="module")
def manifests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The manifest of each bundled config, expanded with the real entry point."""
    found = {}
    for config in CONFIGS:
        folder = tmp_path_factory.mktemp(config.stem)
        # The config stays where it is: its paths (input, a noise folder) are from its folder.
        subprocess.run(
            [sys.executable, "-m", "augtool", "expand", str(config), "-o", "out", "-q"],
            check=True,
            cwd=folder,
        )
        found[config.stem] = folder / "out" / "manifest.jsonl"
    return found


def _lines(manifest: Path) -> list[bytes]:
    return manifest.read_bytes().splitlines(keepends=True)


# --- the schema ---------------------------------------------------------------------------------


def test_the_shipped_schema_files_are_the_generated_schema() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text()
    assert (ROOT / "docs" / "manifest.schema.json").read_text(encoding="utf-8") == schema_text()
    jsonschema.Draft202012Validator.check_schema(line_schema())


@pytest.mark.slow
def test_every_line_of_every_sample_manifest_validates(manifests: dict[str, Path]) -> None:
    assert {p.stem for p in CONFIGS} == set(manifests)
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    seen: set[str] = set()
    for name, manifest in manifests.items():
        for number, raw in enumerate(_lines(manifest), start=1):
            value = json.loads(raw)
            errors = [e.message for e in validator.iter_errors(value)]
            assert errors == [], f"{name}:{number}: {errors}"
            seen.add(value["type"] + ":" + str(value.get("kind", value.get("role", ""))))
    # the samples reach every kind of line
    assert {"header:", "footer:", "file:original", "file:augmented", "file:label"} <= seen
    assert {"file:annotations", "file:dataset"} <= seen


def _a_file_line() -> dict:
    return {
        "type": "file",
        "path": "train/cat/a__v00.jpg",
        "sha256": "0" * 64,
        "bytes": 10,
        "role": "augmented",
        "split": "train",
        "label": "cat",
        "source": {"path": "train/cat/a.jpg", "sha256": "1" * 64},
        "variant": 0,
        "seed": 7,
        "steps": [{"name": "hflip", "fired": True, "params": {}}],
    }


BROKEN = {
    "missing key": {k: v for k, v in _a_file_line().items() if k != "sha256"},
    "unknown key": {**_a_file_line(), "colour": "red"},
    "mistyped value": {**_a_file_line(), "bytes": "10"},
    "optional key as null": {**_a_file_line(), "how": None},
    "unknown role": {**_a_file_line(), "role": "copied"},
    "source without its hash": {**_a_file_line(), "source": {"path": "a.jpg"}},
    "unknown type": {**_a_file_line(), "type": "folder"},
    "skipped without a reason": {"type": "skipped", "path": "a.jpg", "sha256": None},
    "footer with a numeric digest": {"type": "footer", "counts": {}, "sha256": 5},
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_line_fails_the_schema_and_the_types(name: str) -> None:
    validator = jsonschema.Draft202012Validator(line_schema())
    assert not validator.is_valid(BROKEN[name])
    with pytest.raises(RecordError):
        parse_record(BROKEN[name])


def test_a_well_formed_line_passes_both() -> None:
    jsonschema.Draft202012Validator(line_schema()).validate(_a_file_line())
    assert parse_record(_a_file_line()).to_json() == _a_file_line()


# --- the records --------------------------------------------------------------------------------


@pytest.mark.slow
def test_records_round_trip_to_the_same_bytes(manifests: dict[str, Path]) -> None:
    """Each line parses into its typed record, which gives back the very same line: the types
    hold every key the lines carry, null and absent kept apart."""
    classes = set()
    for manifest in manifests.values():
        for raw in _lines(manifest):
            record = parse_record(json.loads(raw))
            classes.add(type(record))
            assert type(record).from_json(record.to_json()) == record
            assert dump_line(record.to_json()).encode("utf-8") == raw
    assert {Header, FileRecord, Footer} <= classes


def test_a_skipped_record_round_trips() -> None:
    record = Skipped(path="a.jpg", reason="cannot decode", sha256=None)
    assert record.to_json() == {
        "type": "skipped",
        "path": "a.jpg",
        "reason": "cannot decode",
        "sha256": None,
    }
    assert Skipped.from_json(record.to_json()) == record


# --- the reader ---------------------------------------------------------------------------------


@pytest.fixture
def sample(manifests: dict[str, Path], tmp_path: Path) -> Path:
    copy = tmp_path / "manifest.jsonl"
    copy.write_bytes(manifests["detection-coco"].read_bytes())
    return copy


@pytest.mark.slow
def test_the_reader_yields_typed_records_of_an_intact_manifest(sample: Path) -> None:
    reader = ManifestReader(sample, mode="strict")
    records = [record for _, record in reader.records()]
    assert isinstance(records[0], Header)
    assert reader.footer is not None
    lines = _lines(sample)
    assert len(records) == len(lines) - 1  # all but the footer
    assert Footer.from_json(reader.footer[1]).sha256 == json.loads(lines[-1])["sha256"]


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncated", "edited"])
def test_the_footer_digest_catches_damage_in_every_mode(sample: Path, damage: str) -> None:
    lines = _lines(sample)
    if damage == "truncated":
        sample.write_bytes(b"".join(lines[:-3]))
    else:
        edited = json.loads(lines[3])
        edited["bytes"] += 1
        lines[3] = dump_line(edited).encode("utf-8")
        sample.write_bytes(b"".join(lines))
    with pytest.raises(ManifestDamaged):
        list(ManifestReader(sample, mode="strict").entries())
    report = ManifestReader(sample, mode="report")
    report.header()
    list(report.entries())
    expected = "no footer" if damage == "truncated" else "FAILED footer sha256"
    assert [m for _, m in report.problems if expected in m] != []
    # one footer problem, however many lines came before it
    assert len([m for _, m in report.problems if "footer sha256" in m or "no footer" in m]) == 1
    salvage = ManifestReader(sample, mode="salvage")
    assert len(list(salvage.entries())) == len(_lines(sample))
    assert salvage.problems == []


@pytest.mark.slow
def test_the_strict_reader_refuses_a_record_of_the_wrong_shape(sample: Path) -> None:
    """A line that parses but is no record: its digest may match (the footer rewritten), yet the
    typed reading names it."""
    lines = _lines(sample)
    broken = json.loads(lines[2])
    broken["colour"] = "red"
    lines[2] = dump_line(broken).encode("utf-8")
    sample.write_bytes(b"".join(lines))
    with pytest.raises(ManifestDamaged, match=r":3: .*unknown key\(s\) 'colour'"):
        list(ManifestReader(sample, mode="strict").records())
