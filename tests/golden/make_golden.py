"""Write ``tests/golden/outputs.json``: the sha256 of every file each golden job writes.

Run once on a tree whose outputs are trusted (``python tests/golden/make_golden.py``); the
test ``tests/test_golden.py`` then pins every later tree to those bytes. The digests depend
on the library versions that decide the bytes, so they are stored with them.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from contract import is_state  # noqa: E402
from golden_jobs import JOBS, library_versions, run_job  # noqa: E402


def main() -> None:
    digests: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in JOBS:
            out = run_job(name, Path(tmp) / name, jobs=1)
            digests[name] = {
                path.relative_to(out).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
                for path in sorted(out.rglob("*"))
                if path.is_file() and not is_state(out, path) and path.name != "run.json"
            }
    document = {"versions": library_versions(), "outputs": digests}
    (HERE / "outputs.json").write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
