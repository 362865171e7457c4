"""Benchmark reruns of ``augtool expand`` into an output that is already complete (issue 25).

A no-op rerun must cost far less than the run that made the output: it reads the manifest and
the stat cache once, stats every source and output, and rewrites the manifest from the lines it
keeps. The target: 20,000 sources and 80,000 outputs kept in at most 3 s; a rerun that adds 10
sources costs the no-op time plus those 10.

The tree is tiny JPEGs (32x24, deterministic) on tmpfs (``/dev/shm`` when there is one), so the
figures measure augtool's bookkeeping rather than a disk. Each round times, alternated:

- ``noop``: a rerun with nothing changed (every output kept);
- ``add``: 10 new sources added to the input, then a rerun (10 made, the rest kept); the 10
  are removed again after it, and an untimed rerun removes their outputs.

Each rerun's ``--json`` summary is checked (what was made, kept and removed), so no contender
can win by doing less. The main process's peak memory is the kernel's (``wait4``) per process.

    python benchmarks/rerun.py                        # 20,000 sources, 3 rounds
    python benchmarks/rerun.py --sources 2000 --rounds 1
    python benchmarks/rerun.py --profile /tmp/noop.prof   # cProfile one no-op rerun
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

PYTHON = sys.executable
AUGTOOL = [PYTHON, "-m", "augtool"]
VARIANTS = 4
ADDED = 10
TARGET_NOOP_S = 3.0
RECIPE = """\
version: 1
seed: 0
input: {layout: flat}
output: {format: jpeg, quality: 90, originals: skip, strip_metadata: true}
variants: 4
pipeline:
  - hflip: {p: 0.5}
  - rotate: {limit: 15, border: constant, fill: 0}
"""


def scratch_root() -> Path:
    """tmpfs when the machine has one: the disk is not what is measured."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


def tiny_jpeg(path: Path, index: int) -> None:
    """A 32x24 JPEG whose pixels depend on ``index`` only."""
    rng = np.random.default_rng([11, index])
    pixels = rng.integers(0, 256, size=(24, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=90)


def make_input(folder: Path, count: int) -> None:
    """``count`` tiny sources in 100 folders of a flat layout (made once, reused)."""
    marker = folder / ".complete"
    if marker.exists():
        return
    print(f"generating {count} tiny sources in {folder} ...", flush=True)
    for index in range(count):
        sub = folder / f"d{index % 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        tiny_jpeg(sub / f"img_{index:07d}.jpg", index)
    marker.touch()


def run(cmd: Sequence[str]) -> tuple[float, float, dict[str, object]]:
    """Wall seconds, the process's peak memory in MiB, and its ``--json`` summary."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err}")
        out.seek(0)
        summary = json.loads(out.read() or b"{}")
    return wall, usage.ru_maxrss / 1024, summary


def check(summary: dict[str, object], made: int, kept: int, removed: int) -> None:
    """What the rerun did, as its summary says."""
    got = (summary.get("made"), summary.get("kept"), summary.get("removed"))
    if got != (made, kept, removed):
        raise SystemExit(f"expected made/kept/removed {(made, kept, removed)}, got {got}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--root", type=Path, default=scratch_root())
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--profile", type=Path, help="cProfile one no-op rerun into this file")
    parser.add_argument("--keep", action="store_true", help="keep the output for another run")
    args = parser.parse_args(argv)

    base = args.root / f"augtool-rerun-n{args.sources}"
    source = base / "input"
    out = base / "out"
    recipe = base / "recipe.yaml"
    make_input(source, args.sources)
    recipe.write_text(RECIPE)
    expand = [*AUGTOOL, "expand", str(recipe), str(source), "-o", str(out), "--json"]
    expand += ["-j", str(args.jobs)]
    outputs = args.sources * VARIANTS
    try:
        if (out / "manifest.jsonl").is_file():
            first = None
        else:
            shutil.rmtree(out, ignore_errors=True)
            first = run(expand)
            check(first[2], outputs, 0, 0)
            print(f"first run: {first[0]:.1f} s, {first[1]:.0f} MiB", flush=True)
        if args.profile is not None:
            prof = [PYTHON, "-m", "cProfile", "-o", str(args.profile), "-m", "augtool"]
            run([*prof, *expand[len(AUGTOOL) :]])
            print(f"profile of a no-op rerun: {args.profile}")
            return
        run(expand)  # warm-up: the page cache, the interpreter's own files
        noop: list[tuple[float, float]] = []
        added: list[tuple[float, float]] = []
        extra = source / "zz-added"
        for _ in range(args.rounds):
            wall, mib, summary = run(expand)
            check(summary, 0, outputs, 0)
            noop.append((wall, mib))
            extra.mkdir()
            for index in range(ADDED):
                tiny_jpeg(extra / f"new_{index:02d}.jpg", args.sources + index)
            wall, mib, summary = run(expand)
            check(summary, ADDED * VARIANTS, outputs, 0)
            added.append((wall, mib))
            shutil.rmtree(extra)
            check(run(expand)[2], 0, outputs, ADDED * VARIANTS)
        report(args, first, noop, added)
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


def report(
    args: argparse.Namespace,
    first: tuple[float, float, object] | None,
    noop: list[tuple[float, float]],
    added: list[tuple[float, float]],
) -> None:
    load = os.getloadavg()
    noop_s = statistics.median(w for w, _ in noop)
    add_s = statistics.median(w for w, _ in added)
    print(
        f"{args.sources} sources, {args.sources * VARIANTS} outputs on {args.root}, --jobs "
        f"{args.jobs}; medians of {args.rounds} rounds; load average {load[0]:.2f}/{load[1]:.2f}"
    )
    if first is not None:
        print(f"first run      {first[0]:7.2f} s  {first[1]:5.0f} MiB")
    print(
        f"no-op rerun    {noop_s:7.2f} s  {max(m for _, m in noop):5.0f} MiB  (all: "
        + ", ".join(f"{w:.2f}" for w, _ in noop)
        + ")"
    )
    print(
        f"+{ADDED} sources    {add_s:7.2f} s  {max(m for _, m in added):5.0f} MiB  (all: "
        + ", ".join(f"{w:.2f}" for w, _ in added)
        + ")"
    )
    verdict = "PASS" if noop_s <= TARGET_NOOP_S else "FAIL"
    print(f"target no-op <= {TARGET_NOOP_S:.0f} s: {noop_s:.2f} s {verdict}")


if __name__ == "__main__":
    main()
