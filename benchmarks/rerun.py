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
    python benchmarks/rerun.py --baseline /work/main      # alternate with another checkout
    python benchmarks/rerun.py --json /tmp/rerun.json     # also write the figures
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
from typing import NamedTuple

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


class Timed(NamedTuple):
    wall: float  # seconds
    cpu: float  # user + system seconds of the process and its children (less load-sensitive)
    mib: float  # the main process's peak memory
    summary: dict[str, object]


def bytecode_env(data: Path) -> dict[str, str]:
    """The environment of augtool's runs: modules byte-compiled once, into ``data``, as an
    installed package is (with ``PYTHONDONTWRITEBYTECODE`` set, every run would compile
    augtool's modules again)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(data / "pycache")
    return env


def run(cmd: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> Timed:
    """Wall and CPU seconds, the main process's peak memory, and its ``--json`` summary (run
    in ``cwd``, ``python -m augtool`` takes the augtool found there)."""
    before = os.times()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.read().decode()}")
        out.seek(0)
        summary = json.loads(out.read() or b"{}")
    after = os.times()
    cpu = after.children_user - before.children_user + after.children_system
    cpu -= before.children_system
    return Timed(wall, cpu, usage.ru_maxrss / 1024, summary)


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
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="CHECKOUT",
        help="also time the no-op rerun of the augtool in this folder (a git worktree of "
        "another revision), alternated with this one",
    )
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
    env = bytecode_env(base)
    try:
        first = None
        if not (out / "manifest.jsonl").is_file():
            shutil.rmtree(out, ignore_errors=True)
            first = run(expand, env=env)
            check(first.summary, outputs, 0, 0)
            print(f"first run: {first.wall:.1f} s, {first.mib:.0f} MiB", flush=True)
        if args.profile is not None:
            prof = [PYTHON, "-m", "cProfile", "-o", str(args.profile), "-m", "augtool"]
            run([*prof, *expand[len(AUGTOOL) :]], env=env)
            print(f"profile of a no-op rerun: {args.profile}")
            return
        run(expand, env=env)  # warm-up: the page cache, the interpreter's own files, bytecode
        if args.baseline is not None:
            run(expand, cwd=args.baseline, env=env)  # (its bytecode)
            run(expand, env=env)
        timings: dict[str, list[Timed]] = {"noop": [], "add": [], "baseline": []}
        extra = source / "zz-added"
        for _ in range(args.rounds):
            if args.baseline is not None:
                # Its run rewrites the state in its own way; this one's first rerun after it
                # is not timed.
                timings["baseline"].append(run(expand, cwd=args.baseline, env=env))
                check(timings["baseline"][-1].summary, 0, outputs, 0)
                run(expand, env=env)
            timings["noop"].append(run(expand, env=env))
            check(timings["noop"][-1].summary, 0, outputs, 0)
            extra.mkdir()
            for index in range(ADDED):
                tiny_jpeg(extra / f"new_{index:02d}.jpg", args.sources + index)
            timings["add"].append(run(expand, env=env))
            check(timings["add"][-1].summary, ADDED * VARIANTS, outputs, 0)
            shutil.rmtree(extra)
            check(run(expand, env=env).summary, 0, outputs, ADDED * VARIANTS)
        report(args, first, timings)
        if args.json is not None:
            args.json.write_text(json.dumps(figures(args, first, timings), indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


def figures(
    args: argparse.Namespace, first: Timed | None, timings: dict[str, list[Timed]]
) -> dict[str, object]:
    """Every run's wall and CPU seconds and peak MiB (the ``--json`` file)."""

    def runs(found: list[Timed]) -> list[dict[str, float]]:
        return [{"wall_s": r.wall, "cpu_s": r.cpu, "mib": r.mib} for r in found]

    return {
        "sources": args.sources,
        "outputs": args.sources * VARIANTS,
        "added": ADDED,
        "jobs": args.jobs,
        "root": str(args.root),
        "rounds": args.rounds,
        "load_after": list(os.getloadavg()),
        "first": None if first is None else runs([first])[0],
        **{key: runs(found) for key, found in timings.items()},
    }


def report(args: argparse.Namespace, first: Timed | None, timings: dict[str, list[Timed]]) -> None:
    load = os.getloadavg()
    print(
        f"{args.sources} sources, {args.sources * VARIANTS} outputs on {args.root}, --jobs "
        f"{args.jobs}; medians of {args.rounds} rounds; load average {load[0]:.2f}/{load[1]:.2f}"
    )
    print(f"{'':16} {'wall s':>7} {'cpu s':>7} {'MiB':>5}  all wall s")
    if first is not None:
        print(f"{'first run':16} {first.wall:7.2f} {first.cpu:7.2f} {first.mib:5.0f}")
    labels = {"noop": "no-op rerun", "add": f"+{ADDED} sources", "baseline": "no-op, baseline"}
    for key, runs in timings.items():
        if runs:
            wall = statistics.median(r.wall for r in runs)
            cpu = statistics.median(r.cpu for r in runs)
            mib = max(r.mib for r in runs)
            walls = ", ".join(f"{r.wall:.2f}" for r in runs)
            print(f"{labels[key]:16} {wall:7.2f} {cpu:7.2f} {mib:5.0f}  {walls}")
    noop_s = statistics.median(r.wall for r in timings["noop"])
    verdict = "PASS" if noop_s <= TARGET_NOOP_S else "FAIL"
    print(f"target no-op <= {TARGET_NOOP_S:.0f} s: {noop_s:.2f} s {verdict}")


if __name__ == "__main__":
    main()
