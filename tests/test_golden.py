"""Every output byte of the golden jobs, at --jobs 1 and --jobs 2, against the digests taken
before the architecture changed (``tests/golden/outputs.json``). A refactoring that moves code
must not move a byte: images, label files, COCO JSON, data.yaml, the manifest and SHA256SUMS."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from contract import is_state
from golden_jobs import JOBS, library_versions, run_job

GOLDEN = json.loads((Path(__file__).parent / "golden" / "outputs.json").read_text())


def _digests(out: Path) -> dict[str, str]:
    return {
        path.relative_to(out).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.rglob("*"))
        if path.is_file() and not is_state(out, path) and path.name != "run.json"
    }


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("name", sorted(JOBS))
def test_outputs_match_the_golden_digests(tmp_path: Path, name: str, jobs: int) -> None:
    if library_versions() != GOLDEN["versions"]:
        pytest.skip(f"golden digests were taken with {GOLDEN['versions']}")
    got = _digests(run_job(name, tmp_path / name, jobs))
    expected = GOLDEN["outputs"][name]
    assert sorted(got) == sorted(expected)
    differ = sorted(path for path in expected if got[path] != expected[path])
    assert differ == [], f"{len(differ)} files differ, first {differ[:5]}"
