"""Scale-out figures: a Dask local cluster of 1 and 2 workers (127.0.0.1) against loky, and the
cost of splitting one job into shards and merging them, on the benchmark's standard recipe.

Whole processes, alternated within each round (the order rotates), medians over the rounds;
every contender's output is checked against the single loky run's manifest, so none wins by
doing less or other work.

    python benchmarks/scale_out.py                       # 400 x 640x480, 3 rounds
    python benchmarks/scale_out.py --count 120 --rounds 2
    python benchmarks/scale_out.py --json /tmp/scale.json   # also write the figures

Contenders:

- ``loky_1``, ``loky_2``: ``augtool expand benchmarks/standard.yaml --jobs N``;
- ``dask_1``, ``dask_2``: the same with ``--backend dask`` (a local cluster of N workers);
- ``shards_3``: ``--shard K/3`` for K = 1, 2, 3 one after another (``--jobs 2`` each), then
  ``augtool merge``: the total, and the merge alone (``merge``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECIPE = HERE / "standard.yaml"
CONTENDERS = ("loky_1", "loky_2", "dask_1", "dask_2", "shards_3")


def augtool(*args: str | Path) -> None:
    command = [sys.executable, "-m", "augtool", *(str(a) for a in args), "--quiet"]
    subprocess.run(command, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def timed(action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - started


def children_cpu() -> float:
    """User + system seconds of the processes waited for so far (Dask's workers included: the
    command waits for its cluster's processes, and this script for the command)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(name: str, data: Path, out: Path) -> dict[str, float]:
    """One contender's run into a fresh ``out``: its wall times."""
    shutil.rmtree(out, ignore_errors=True)
    if name.startswith(("loky", "dask")):
        backend, jobs = name.split("_")
        seconds = timed(
            lambda: augtool("expand", RECIPE, data, "-o", out, "-j", jobs, "--backend", backend)
        )
        return {name: seconds}
    parts = [out.with_name(f"{out.name}-part{k}") for k in (1, 2, 3)]
    for part in parts:
        shutil.rmtree(part, ignore_errors=True)
    started = time.perf_counter()
    for k, part in enumerate(parts, 1):
        augtool("expand", RECIPE, data, "-o", part, "-j", "2", "--shard", f"{k}/3")
    merge = timed(lambda: augtool("merge", RECIPE, *parts, "--input", data, "-o", out, "-j", "2"))
    total = time.perf_counter() - started
    for part in parts:
        shutil.rmtree(part)
    return {name: total, "merge": merge}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("/tmp/augtool-bench"))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    data = args.data / f"640x480-{args.count}"
    if not data.is_dir():
        subprocess.run(
            [
                sys.executable,
                HERE / "make_dataset.py",
                "--out",
                data,
                "--count",
                str(args.count),
                "--size",
                "640x480",
                "--seed",
                "0",
            ],
            check=True,
        )
    work = args.data / "scale-out"
    work.mkdir(parents=True, exist_ok=True)
    reference = work / "reference"
    shutil.rmtree(reference, ignore_errors=True)
    augtool("expand", RECIPE, data, "-o", reference, "-j", "2")
    expected = (reference / "manifest.jsonl").read_bytes()
    times: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    for round_ in range(args.rounds):
        order = CONTENDERS[round_ % len(CONTENDERS) :] + CONTENDERS[: round_ % len(CONTENDERS)]
        for name in order:
            out = work / name
            before = children_cpu()
            for key, seconds in run(name, data, out).items():
                times.setdefault(key, []).append(seconds)
            cpus.setdefault(name, []).append(children_cpu() - before)
            assert (out / "manifest.jsonl").read_bytes() == expected, f"{name}: other bytes"
    load = os.getloadavg()[0]
    print(
        f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load {load:.1f} at the end; {args.count} x 640x480, {args.rounds} rounds"
    )
    if args.json is not None:
        found = {"count": args.count, "rounds": args.rounds, "load_after": list(os.getloadavg())}
        found.update(walls=times, cpus=cpus, same_bytes=True)
        args.json.write_text(json.dumps(found, indent=2))
    base = statistics.median(times["loky_1"])
    for key, values in times.items():
        median = statistics.median(values)
        spread = ", ".join(f"{v:.1f}" for v in values)
        print(f"{key:9s} median {median:6.1f} s  ({spread})  loky_1 / this: {base / median:.2f}x")


if __name__ == "__main__":
    main()
