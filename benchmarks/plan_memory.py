"""Time and main-process peak memory of planning ``N`` sources: ``augtool expand --dry-run``
over a flat tree of empty files named like images (nothing is decoded when planning a flat
input without splits), at several sizes, to see what the plan holds per source (issue 25's
"flat memory to a million sources": the peak at 1,000,000 within 1.2x that at 10,000).

The tree is made once per size on tmpfs (``/dev/shm`` when there is one), in folders of 1,000
(a million empty files take about 1 GiB of tmpfs inodes; ``--root`` puts them elsewhere). Time
is reported as wall seconds and as the process's CPU seconds (user + sys), which a loaded
machine stretches less; ``--json`` records the load average with them.

    python benchmarks/plan_memory.py --sizes 10000,100000,1000000
    python benchmarks/plan_memory.py --json /tmp/plan.json   # also write the figures
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECIPE = """\
version: 1
seed: 0
input: {layout: flat}
output: {format: jpeg, quality: 90, originals: skip}
variants: 4
pipeline:
  - hflip: {p: 0.5}
"""


def make_tree(folder: Path, count: int) -> None:
    marker = folder / ".complete"
    if marker.exists():
        return
    print(f"making {count} empty sources in {folder} ...", flush=True)
    for index in range(count):
        sub = folder / f"d{index // 1000:04d}"
        if index % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        os.close(os.open(sub / f"img_{index:07d}.jpg", os.O_CREAT | os.O_WRONLY, 0o644))
    marker.touch()


def dry_run(recipe: Path, source: Path, out: Path) -> tuple[float, float, float, dict[str, object]]:
    """Wall and CPU seconds, the main process's peak memory (MiB) and the ``--json`` summary."""
    command = [sys.executable, "-m", "augtool", "expand", str(recipe), str(source)]
    command += ["-o", str(out), "--dry-run", "--json", "-j", "1"]
    with tempfile.TemporaryFile() as stdout:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=stdout, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(command)} failed")
        stdout.seek(0)
        summary = json.loads(stdout.read())
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    shm = Path("/dev/shm")
    default = shm if shm.is_dir() else Path(tempfile.gettempdir())
    parser.add_argument("--root", type=Path, default=default)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    base = args.root / "augtool-plan-memory"
    base.mkdir(parents=True, exist_ok=True)
    recipe = base / "recipe.yaml"
    recipe.write_text(RECIPE)
    rows = []
    for count in (int(n) for n in args.sizes.split(",")):
        source = base / f"n{count}"
        make_tree(source, count)
        wall, cpu, mib, summary = dry_run(recipe, source, base / f"out{count}")
        assert summary["sources"] == count, summary["sources"]
        rows.append((count, wall, cpu, mib))
        print(f"{count:>9} sources: {wall:6.1f} s ({cpu:.1f} s CPU), {mib:6.0f} MiB", flush=True)
    if args.json is not None:
        found = [
            {"sources": n, "wall_s": wall, "cpu_s": cpu, "peak_mib": mib}
            for n, wall, cpu, mib in rows
        ]
        load = list(os.getloadavg())
        figures = {"root": str(args.root), "sizes": found, "load_after": load}
        args.json.write_text(json.dumps(figures, indent=2))
    first = rows[0]
    for count, _, _, mib in rows[1:]:
        per = (mib - first[3]) * 2**20 / (count - first[0])
        print(f"{count} vs {first[0]}: {mib / first[3]:.2f}x the memory, {per:.0f} bytes a source")


if __name__ == "__main__":
    main()
