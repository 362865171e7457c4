"""What the tests share: running the CLI (in process or as a real process), random images and
datasets, reading a manifest, and running a command that a chmod 000 file stops, even as root.

Test modules import these plain functions (``from conftest import invoke``). Tests that take
more than a few seconds carry ``@pytest.mark.slow``; they run by default (CI runs everything).
Skip them while working with::

    pytest -m "not slow"
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import settings
from PIL import Image
from typer.testing import CliRunner, Result

from augtool.cli import app
from augtool.manifest import dump_line, sums_line

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "photos"
QUICKSTART = ROOT / "configs" / "quickstart.yaml"
SIZE = (32, 24)  # (width, height) of a test image unless a test says otherwise

# CI (.ci/run) sets this so that a run passes or fails on the code alone, never on the examples
# Hypothesis happened to draw; elsewhere each run explores new ones (and replays past failures).
settings.register_profile("derandomized", derandomize=True, database=None, deadline=None)
if os.environ.get("AUGTOOL_TEST_DERANDOMIZE"):
    settings.load_profile("derandomized")


# --- running the CLI ---------------------------------------------------------------------------


def invoke(*args: str | Path) -> Result:
    """The CLI in this process, through the real typer app: ``exit_code``, and ``output`` with
    stdout and stderr interleaved (``stdout`` alone is there too)."""
    return CliRunner().invoke(app, [str(a) for a in args])


def expand(recipe: Path, source: Path, out: Path, *args: str | Path) -> Path:
    """``augtool expand`` in this process; it must succeed. Returns ``out``."""
    result = invoke("expand", recipe, source, "-o", out, *args)
    assert result.exit_code == 0, result.output
    return out


def expand_argv(recipe: Path, source: Path, out: Path, *args: str | Path) -> list[str]:
    """The command line of ``augtool expand`` as a real process (for Popen and signals)."""
    command = [sys.executable, "-m", "augtool", "expand", str(recipe), str(source), "-o", str(out)]
    return [*command, *(str(a) for a in args)]


def expand_process(
    recipe: Path,
    source: Path,
    out: Path,
    *args: str | Path,
    expect: int | None = 0,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """``augtool expand`` as a real process (own interpreter, signals, pools), with a timeout so
    that a hang fails the test instead of the suite. Its exit code must be ``expect`` unless
    that is None."""
    done = subprocess.run(
        expand_argv(recipe, source, out, *args),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=None if env is None else dict(env),
        timeout=timeout,
        check=False,
    )
    if expect is not None:
        assert done.returncode == expect, done.stderr
    return done


_PEAK_PROBE = """
import resource, runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_module("augtool", run_name="__main__")
except SystemExit as exit:
    code = exit.code or 0
else:
    code = 0
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def augtool_peak_mib(*args: str | Path, timeout: float = 600) -> float:
    """The peak resident set (MiB) of ``augtool ARGS`` run as a process of its own, which must
    succeed. Measured by the child itself: the parent's RUSAGE_CHILDREN peak is the largest
    child it ever had."""
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_PROBE, "augtool", *(str(a) for a in args)],
        capture_output=True, text=True, cwd=ROOT, timeout=timeout, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return int(done.stderr.strip().splitlines()[-1]) / 1024


# --- images and datasets -----------------------------------------------------------------------


def random_pixels(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Uniform random ``uint8`` values of ``shape`` (height, width[, channels])."""
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def painted(
    size: tuple[int, int], box: tuple[int, int, int, int], colour: tuple[int, int, int]
) -> np.ndarray:
    """A grey RGB image of ``size`` = (height, width) with the pixels of ``box`` = (x0, y0, x1,
    y1) (pixel edges) painted ``colour``: an object whose moved labels a test can check."""
    image = np.full((*size, 3), 90, dtype=np.uint8)
    x0, y0, x1, y1 = box
    image[y0:y1, x0:x1] = colour
    return image


def coloured(image: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> np.ndarray:
    """(H, W) bool: the pixels of ``image`` within ``tolerance`` of ``colour``."""
    return np.all(np.abs(image[:, :, :3].astype(int) - colour) < tolerance, axis=2)


def grown(found: np.ndarray) -> np.ndarray:
    """``found`` (H, W bool) grown by a pixel in each of the eight directions."""
    padded = np.pad(found, 1)
    height, width = found.shape
    result = np.zeros_like(found)
    for dy in range(3):
        for dx in range(3):
            result |= padded[dy : dy + height, dx : dx + width]
    return result


def random_image(seed: int = 0, size: tuple[int, int] = SIZE) -> Image.Image:
    """An RGB image of noise, ``size`` = (width, height)."""
    return Image.fromarray(random_pixels((size[1], size[0], 3), seed), "RGB")


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = SIZE) -> bytes:
    buffer = io.BytesIO()
    random_image(seed, size).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def write_images(root: Path, images: Mapping[str, int], size: tuple[int, int] = SIZE) -> Path:
    """``root`` with one noise image per relative path (→ its seed); JPEGs at quality 90, other
    formats from the suffix."""
    for rel, seed in images.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        options = {"quality": 90} if path.suffix.lower() in {".jpg", ".jpeg"} else {}
        random_image(seed, size).save(path, **options)
    return root


# --- reading an output -------------------------------------------------------------------------


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: An output's run files outside the determinism contract (the lock, the stat cache of
#: times, the run's log): left out when two outputs' trees are compared.
RUN_STATE = frozenset({".augtool-lock", ".augtool-stat-cache.jsonl", "run.json"})


def tree_digest(root: Path, exclude: frozenset[str] = frozenset()) -> dict[str, str]:
    """Every file below ``root`` (relative path → sha256), folders as "dir"; ``exclude`` names
    top-level entries left out."""
    digests = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in exclude:
            continue
        digests[rel.as_posix()] = "dir" if path.is_dir() else sha(path)
    return digests


def read_manifest(out: Path) -> list[dict[str, Any]]:
    """Every line of ``out/manifest.jsonl`` parsed, header first and footer last. Split on
    b"\\n" only (str.splitlines() would also split inside a name holding U+2028 and friends);
    the file ends with a newline."""
    lines = (out / "manifest.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b"", "manifest.jsonl does not end with a newline"
    return [json.loads(line) for line in lines[:-1]]


#: a manifest's file and skipped records, as :func:`read_manifest` parses them
Records = list[dict[str, Any]]


def manifest_parts(out: Path) -> tuple[dict[str, Any], Records, dict[str, Any]]:
    lines = read_manifest(out)
    return lines[0], lines[1:-1], lines[-1]


def rewrite(
    out: Path,
    edit: Callable[[Records], Records],
    fix_footer: bool = True,
    edit_header: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Rewrite the manifest with ``edit`` applied to its records (kept sorted by path). The footer
    gets a fresh digest and counts, and the header the same counts, when ``fix_footer``;
    otherwise the old footer is kept."""
    header, records, footer = manifest_parts(out)
    if edit_header is not None:
        edit_header(header)
    records = sorted(edit(records), key=lambda r: r["path"])
    if fix_footer:
        counts = Counter(r["role"] if r["type"] == "file" else "skipped" for r in records)
        counts["files"] = sum(r["type"] == "file" for r in records)
        header["counts"] = {**footer["counts"], **counts}
    body = "".join(dump_line(r) for r in [header, *records])
    if fix_footer:
        footer = {
            "type": "footer",
            "counts": header["counts"],
            "sha256": hashlib.sha256(body.encode()).hexdigest(),
        }
        # A careful forger rewrites SHA256SUMS too, so that only the check under test can fail.
        sums = "".join(
            sums_line(r["sha256"].lower(), r["path"]) for r in records if r["type"] == "file"
        )
        (out / "SHA256SUMS").write_text(sums)
    (out / "manifest.jsonl").write_text(body + dump_line(footer))


def file_records(out: Path) -> dict[str, dict[str, Any]]:
    """The manifest's file records by path."""
    return {r["path"]: r for r in read_manifest(out) if r["type"] == "file"}


def skipped(out: Path) -> dict[str, str]:
    """The manifest's skipped sources: path → reason."""
    return {r["path"]: r["reason"] for r in read_manifest(out) if r["type"] == "skipped"}


# --- a process that file modes apply to -------------------------------------------------------

# Linux capabilities that let root read and list whatever the mode bits say (capability.h), and
# prctl's option that takes one out of the bounding set, for this process and what it executes.
CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2
PR_CAPBSET_DROP = 24


def unprivileged(command: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``command`` so that file modes stop it: as root, without the capabilities that
    override them (root reads a chmod 000 file otherwise, and CI runs as root); as another
    user, as is. Dropping capabilities keeps root's uid, so the interpreter and the test's
    folders stay reachable (``nobody`` could not run a Python installed under /root)."""
    drop = None
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)  # loaded here: the child only calls prctl

        def drop() -> None:
            for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
                if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                    raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")

    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
        preexec_fn=drop,
    )
