"""Benchmark ``augtool validate manifest`` against ``sha256sum -c SHA256SUMS`` on the same output.

Both read every byte of every listed file and hash it; the validator also walks the output for
completeness, checks the footer, the paths, the recipe hash and leakage. What is compared is
what a CI script waits for: whole processes, start-up included. The contenders alternate within
each round (the order rotates) after one untimed warm-up run each, so all read from the page
cache, and medians are compared.

Targets (throughput = 1 / wall time, relative to ``sha256sum -c``, which is single-core):
``--jobs 1`` at least 0.8x; all cores faster than it (above 1.0x).

The output is made by the real ``augtool expand`` from generated JPEG sources (a smooth random
field plus grain, so sizes are photo-like), 4 variants each, originals copied: ``--count 500``
sources give 2,500 files. It is built on first use under ``--data`` and reused.

    python benchmarks/bench_validate.py                       # 500 x 640x480 -> 2,500 files
    python benchmarks/bench_validate.py --count 500 --size 160x120 --rounds 7   # small files
    python benchmarks/bench_validate.py --baseline /work/main  # alternate with another checkout

augtool runs as ``python -m augtool`` in the current folder (from a checkout's root, that
checkout's augtool) or in ``--baseline``'s, so the same interpreter and packages run both codes,
byte-compiled as an
installed package is (into a cache under ``--data``, written by the warm-up run): with
``PYTHONDONTWRITEBYTECODE`` set, every run would compile augtool's modules again.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

PYTHON = sys.executable
AUGTOOL = [PYTHON, "-m", "augtool"]
RECIPE = """\
version: 1
seed: 0
input: {layout: flat}
output: {format: same, quality: 90, originals: copy}
variants: 4
pipeline:
  - hflip: {p: 0.5}
  - rotate: {limit: 15, p: 0.7}
"""
TARGET_JOBS1 = 0.8
TARGET_ALL = 1.0


def parse_size(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height


def make_sources(folder: Path, count: int, size: tuple[int, int]) -> None:
    """``count`` JPEG sources, deterministic: a smooth random field (photo-like entropy) + grain."""
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    for index in range(count):
        rng = np.random.default_rng([7, index])
        coarse = rng.uniform(0, 255, size=(height // 16 + 1, width // 16 + 1, 3)).astype(np.uint8)
        field = Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC)
        grain = rng.normal(0.0, 4.0, size=(height, width, 1))
        pixels = np.clip(np.asarray(field, dtype=np.float64) + grain, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"img_{index:05d}.jpg", quality=90)


def build(data: Path, count: int, size: tuple[int, int]) -> Path:
    """The expanded output (built once, reused while its manifest exists)."""
    base = data / f"{count}x{size[0]}x{size[1]}"
    out = base / "out"
    if (out / "manifest.jsonl").is_file():
        return out
    shutil.rmtree(base, ignore_errors=True)
    print(f"building {count} sources of {size[0]}x{size[1]} and expanding them in {base} ...")
    make_sources(base / "input", count, size)
    (base / "recipe.yaml").write_text(RECIPE)
    command = [*AUGTOOL, "expand", str(base / "recipe.yaml"), str(base / "input"), "-o", str(out)]
    subprocess.run([*command, "--quiet"], check=True)
    return out


def bytecode_env(data: Path) -> dict[str, str]:
    """The environment of augtool's runs: modules byte-compiled once, into ``data``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(data / "pycache")
    return env


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds, and CPU seconds (user + sys of the process and the children it waited for,
    which is less sensitive to other load on a shared machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu


def contenders(out: Path, cores: int, baseline: Path | None) -> dict[str, tuple[list[str], Path]]:
    """Each contender's command and the folder it runs in."""
    manifest = str(out / "manifest.jsonl")
    found = {"sha256sum -c": (["sha256sum", "--quiet", "-c", "SHA256SUMS"], out)}
    here = Path.cwd()
    codes = {"validate": here} if baseline is None else {"validate": here, "baseline": baseline}
    for label, root in codes.items():
        for jobs in sorted({1, cores}):
            command = [*AUGTOOL, "validate", "manifest", manifest, "--jobs", str(jobs)]
            found[f"{label} --jobs {jobs}"] = (command, root)
    return found


@dataclass
class Measured:
    """Medians of alternated rounds, and every run, of each contender (seconds)."""

    output: str
    files: int
    bytes: int
    cores: int
    rounds: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    walls: dict[str, list[float]]
    cpus: dict[str, list[float]]

    def wall(self, name: str) -> float:
        return statistics.median(self.walls[name])

    def cpu(self, name: str) -> float:
        return statistics.median(self.cpus[name])


def measure(out: Path, rounds: int, baseline: Path | None = None) -> Measured:
    """Alternated rounds of every contender, after one untimed run each."""
    cores = os.cpu_count() or 1
    env = bytecode_env(out.parent)
    commands = contenders(out, cores, baseline)
    load = os.getloadavg()
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for command, cwd in commands.values():
        timed(command, cwd, env)  # warm-up: the page cache, the interpreter's own files
    names = list(commands)
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            wall, cpu = timed(*commands[name], env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    files = sum(1 for _ in (out / "SHA256SUMS").open())
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return Measured(str(out), files, total, cores, rounds, load, os.getloadavg(), walls, cpus)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/augtool-bench-validate"))
    parser.add_argument("--count", type=int, default=500, help="sources (files = 5 x count)")
    parser.add_argument("--size", type=parse_size, default=(640, 480), help="WIDTHxHEIGHT")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="CHECKOUT",
        help="also time the augtool in this folder (a git worktree of another revision)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    out = build(args.data, args.count, args.size)
    found = measure(out, args.rounds, args.baseline)
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(found), indent=2))
    cores = found.cores
    print(f"output: {out} ({found.files} files, {found.bytes / 2**20:.1f} MiB); {cores} cores")
    print(f"load average at start: {found.load_before[0]:.2f}; {args.rounds} rounds, medians")
    print(f"{'contender':24} {'wall s':>8} {'MiB/s':>7} {'ratio':>7} {'cpu s':>7} {'cpu ratio':>9}")
    base = "sha256sum -c"
    for name in found.walls:
        mib_s = found.bytes / 2**20 / found.wall(name)
        ratio = found.wall(base) / found.wall(name)
        cpu_ratio = found.cpu(base) / found.cpu(name)
        print(
            f"{name:24} {found.wall(name):8.3f} {mib_s:7.0f} {ratio:6.2f}x "
            f"{found.cpu(name):7.3f} {cpu_ratio:8.2f}x"
        )
    ratio1 = found.wall(base) / found.wall("validate --jobs 1")
    ratio_all = found.wall(base) / found.wall(f"validate --jobs {cores}")
    verdict1 = "PASS" if ratio1 >= TARGET_JOBS1 else "FAIL"
    verdict_all = "PASS" if ratio_all > TARGET_ALL else "FAIL"
    print(f"target --jobs 1 >= {TARGET_JOBS1}x: {ratio1:.2f}x {verdict1}")
    print(f"target --jobs {cores} > {TARGET_ALL}x: {ratio_all:.2f}x {verdict_all}")


if __name__ == "__main__":
    main()
