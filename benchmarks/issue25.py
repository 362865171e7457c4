"""Issue 25's figures in one table, with the machine they were measured on.

``python benchmarks/run.py --issue25`` runs run.py's own throughput rounds (augtool with Pillow
and with OpenCV kernels against the hand-written Albumentations loop, jobs 1 and 2, outputs on
tmpfs), then its jobs scaling rounds (augtool with either kernels and the codec floor, jobs 1
and 2, on 2,000 × 640x480 sources as the issue's target is set, outputs on tmpfs), then the
scripts that measure the rest, each with ``--json`` into a scratch folder:
``rerun.py`` (no-op rerun, rerun adding 10 sources), ``plan_memory.py`` (planning time and peak
memory at several sizes), ``bench_validate.py`` (``validate manifest`` against ``sha256sum -c``)
and ``scale_out.py`` (Dask with 1 and 2 workers, shards and merge). Every figure in the table
comes from a measurement of that run; a part that failed says so instead of a figure.

On an idle machine of 2 vCPUs the full run should take 20-25 minutes (an estimate from the
CPU an output costs, docs/performance.md): the jobs scaling about 11 (8,000 outputs a run, 6
runs a round, 3 rounds), the throughput rounds 3, the scripts 5-8. ``--quick`` is a smoke run.

This module assembles the table (no timing here: :func:`table` is a pure function of the
figures, tested in ``tests/test_bench_issue25.py``) and runs the scripts (:func:`run_scripts`).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
Figures = Mapping[str, Any]


@dataclass(frozen=True)
class Sizes:
    """What each part runs on: small but meaningful by default, smaller with ``--quick``."""

    throughput: dict[str, int]  # sources per size
    throughput_rounds: int
    scaling: dict[str, int]  # sources per size, for jobs 2 over jobs 1
    scaling_rounds: int
    rerun_sources: int
    rerun_rounds: int
    plan_sizes: tuple[int, ...]
    validate_count: int  # sources; 5 files each (4 variants and the original)
    validate_size: str
    validate_rounds: int
    scale_count: int
    scale_rounds: int


FULL = Sizes(
    throughput={"640x480": 200, "1920x1080": 50},
    throughput_rounds=3,
    scaling={"640x480": 2_000},  # the target is set on 2,000 sources
    scaling_rounds=3,
    rerun_sources=20_000,
    rerun_rounds=2,
    plan_sizes=(10_000, 100_000, 1_000_000),
    validate_count=400,
    validate_size="160x120",
    validate_rounds=7,
    scale_count=120,
    scale_rounds=2,
)
# Quick: just above augtool's in-process threshold (48 outputs), so jobs 2 uses a pool.
QUICK = Sizes(
    throughput={"640x480": 24, "1920x1080": 13},
    throughput_rounds=1,
    scaling={"640x480": 24},
    scaling_rounds=1,
    rerun_sources=1_000,
    rerun_rounds=1,
    plan_sizes=(1_000, 10_000),
    validate_count=100,
    validate_size="160x120",
    validate_rounds=3,
    scale_count=24,
    scale_rounds=1,
)

#: Issue 25's targets.
KERNEL_TARGETS = {"augtool": 1.0, "augtool_cv": 1.5}  # x the Albumentations loop
KERNEL_NAMES = {"augtool": "Pillow", "augtool_cv": "OpenCV"}
SCALING_TARGET, SCALING_SOURCES = 1.8, 2_000
#: run.py's contenders whose jobs scaling is measured: augtool's, and the codec floor (decode,
#: encode, hash and write, no transform) as what the disk, the codecs and the cores allow.
SCALING_CONTENDERS = ("augtool", "augtool_cv", "floor")
SCALING_NAMES = {**{k: f"{v} kernels" for k, v in KERNEL_NAMES.items()}, "floor": "codec floor"}
NOOP_TARGET_S, NOOP_SOURCES = 3.0, 20_000
MEMORY_TARGET, MEMORY_FROM, MEMORY_TO = 1.2, 10_000, 1_000_000
VALIDATE_TARGET = 1.0


class Row(NamedTuple):
    figure: str
    target: str
    measured: str
    met: str
    load: str


def verdict(ok: bool, measured_as_targeted: bool = True, why: str = "") -> str:
    """``yes``/``no``, or why the run cannot say (measured smaller than the target is set)."""
    if not measured_as_targeted:
        return f"— ({why})"
    return "yes" if ok else "**no**"


def load_text(found: Figures) -> str:
    load = found.get("load_after")
    return f"{load[0]:.1f}" if load else ""


def median(values: list[float]) -> float:
    return statistics.median(values)


def throughput_rows(found: Figures) -> list[Row]:
    rows = []
    load = load_text(found)
    for label, size in found["sizes"].items():
        rates, cpu_ms = size["rates"], size["cpu_ms"]
        count = size["count"]
        for jobs in sorted(rates, key=int):
            albu = rates[jobs]["albu"]
            for name, target in KERNEL_TARGETS.items():
                ours = rates[jobs][name]
                ratio = ours / albu
                cpu_ratio = cpu_ms[jobs]["albu"] / cpu_ms[jobs][name]
                rows.append(
                    Row(
                        f"{KERNEL_NAMES[name]} kernels / Albumentations loop, {count} × {label}, "
                        f"jobs {jobs}",
                        f"≥ {target:.1f}×",
                        f"{ratio:.2f}× wall, {cpu_ratio:.2f}× CPU ({ours:.0f} vs {albu:.0f} out/s)",
                        verdict(ratio >= target),
                        load,
                    )
                )
    return rows


def scaling_rows(found: Figures) -> list[Row]:
    """Jobs 2 over jobs 1 of each contender measured (run.py's throughput series at the
    scaling sizes), with the CPU an output costs at each: augtool's judged against the target,
    the codec floor's given beside them."""
    rows = []
    load = load_text(found)
    for label, size in found["sizes"].items():
        rates, cpu_ms, count = size["rates"], size["cpu_ms"], size["count"]
        if not {"1", "2"} <= set(rates):
            continue
        for name in (n for n in SCALING_CONTENDERS if n in rates["1"] and n in rates["2"]):
            scale = rates["2"][name] / rates["1"][name]
            target, met = "", ""
            if name in KERNEL_TARGETS:
                target = f"≥ {SCALING_TARGET}× on {SCALING_SOURCES:,} sources"
                enough = count >= SCALING_SOURCES
                met = verdict(scale >= SCALING_TARGET, enough, f"{count:,} sources")
            rows.append(
                Row(
                    f"jobs 2 / jobs 1, {SCALING_NAMES[name]}, {count:,} × {label}, "
                    f"outputs on {found['out']}",
                    target,
                    f"{scale:.2f}× wall; CPU {cpu_ms['1'][name]:.2f} → "
                    f"{cpu_ms['2'][name]:.2f} ms an output",
                    met,
                    load,
                )
            )
    return rows


def rerun_rows(found: Figures) -> list[Row]:
    sources, outputs = found["sources"], found["outputs"]
    noop_wall = median([r["wall_s"] for r in found["noop"]])
    noop_cpu = median([r["cpu_s"] for r in found["noop"]])
    add_wall = median([r["wall_s"] for r in found["add"]])
    add_cpu = median([r["cpu_s"] for r in found["add"]])
    enough = sources >= NOOP_SOURCES
    load = load_text(found)
    return [
        Row(
            f"no-op rerun, {sources:,} sources / {outputs:,} outputs kept",
            f"≤ {NOOP_TARGET_S:.0f} s at {NOOP_SOURCES:,} sources",
            f"{noop_wall:.2f} s ({noop_cpu:.2f} s CPU)",
            verdict(noop_wall <= NOOP_TARGET_S, enough, f"{sources:,} sources"),
            load,
        ),
        Row(
            f"rerun adding {found['added']} sources, over the no-op rerun",
            "the no-op time plus those sources",
            f"{add_wall - noop_wall:+.2f} s ({add_cpu - noop_cpu:+.2f} s CPU)",
            "—",
            load,
        ),
    ]


def plan_rows(found: Figures) -> list[Row]:
    load = load_text(found)
    sizes = sorted(found["sizes"], key=lambda s: s["sources"])
    rows = [
        Row(
            f"planning {s['sources']:,} sources (`expand --dry-run`): time, peak memory",
            "",
            f"{s['wall_s']:.1f} s ({s['cpu_s']:.1f} s CPU), {s['peak_mib']:.0f} MiB",
            "",
            load,
        )
        for s in sizes
    ]
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        ratio = large["peak_mib"] / small["peak_mib"]
        as_targeted = small["sources"] <= MEMORY_FROM and large["sources"] >= MEMORY_TO
        rows.append(
            Row(
                f"planning peak memory, {large['sources']:,} / {small['sources']:,} sources",
                f"≤ {MEMORY_TARGET}× for {MEMORY_TO:,} / {MEMORY_FROM:,}",
                f"{ratio:.2f}×",
                verdict(ratio <= MEMORY_TARGET, as_targeted, f"up to {large['sources']:,}"),
                load,
            )
        )
    return rows


def validate_rows(found: Figures) -> list[Row]:
    walls, cpus = found["walls"], found["cpus"]
    base = "sha256sum -c"
    size = f"{found['files']:,} files, {found['bytes'] / 2**20:.1f} MiB"
    rows = []
    for name in walls:
        if not name.startswith("validate"):
            continue
        ratio = median(walls[base]) / median(walls[name])
        cpu_ratio = median(cpus[base]) / median(cpus[name])
        rows.append(
            Row(
                f"`{name}` / `sha256sum -c`, {size}",
                f"≥ {VALIDATE_TARGET:.0f}×",
                f"{ratio:.2f}× wall, {cpu_ratio:.2f}× CPU ({median(cpus[name]):.3f} vs "
                f"{median(cpus[base]):.3f} s CPU)",
                verdict(ratio >= VALIDATE_TARGET),
                load_text(found),
            )
        )
    return rows


def scale_rows(found: Figures) -> list[Row]:
    walls, cpus = found["walls"], found["cpus"]
    load = load_text(found)
    same = "same manifest bytes as one loky run" if found.get("same_bytes") else ""

    def ratio(a: str, b: str) -> str:
        return f"{median(walls[a]) / median(walls[b]):.2f}×"

    sources = f"{found['count']} × 640x480"
    shards = (
        f"{ratio('loky_2', 'shards_3')} ({median(cpus['shards_3']):.1f} vs "
        f"{median(cpus['loky_2']):.1f} s CPU); {same}"
    )
    merge = f"{median(walls['merge']):.2f} s"
    return [
        Row(
            f"Dask `LocalCluster` 2 workers / 1, {sources}", "", ratio("dask_1", "dask_2"), "", load
        ),
        Row(f"Dask 2 workers / loky jobs 2, {sources}", "", ratio("loky_2", "dask_2"), "", load),
        Row(f"3 shards + merge / one loky run (jobs 2), {sources}", "", shards, "", load),
        Row("`augtool merge` of the 3 parts", "", merge, "", load),
    ]


def throughput_figures(
    results: Mapping[tuple[str, int, str], Any], counts: Mapping[str, int], out: str, rounds: int
) -> dict[str, Any]:
    """run.py's throughput series (keyed by size, jobs and contender, each with a ``rate``,
    outputs per second of the median wall time, and ``cpu_ms``, median CPU milliseconds an
    output) as the figures :func:`throughput_rows` reads."""
    sizes: dict[str, Any] = {}
    for (label, jobs, name), series in results.items():
        size = sizes.setdefault(label, {"count": counts[label], "rates": {}, "cpu_ms": {}})
        size["rates"].setdefault(str(jobs), {})[name] = series.rate
        size["cpu_ms"].setdefault(str(jobs), {})[name] = series.cpu_ms
    return {"out": out, "rounds": rounds, "sizes": sizes, "load_after": list(os.getloadavg())}


#: Each part of the run: its name in the figures, a heading, and the rows it gives.
PARTS: dict[str, tuple[str, Callable[[Figures], list[Row]]]] = {
    "throughput": ("throughput (run.py)", throughput_rows),
    "scaling": ("jobs scaling (run.py)", scaling_rows),
    "rerun": ("reruns (rerun.py)", rerun_rows),
    "plan_memory": ("planning memory (plan_memory.py)", plan_rows),
    "validate": ("validate (bench_validate.py)", validate_rows),
    "scale_out": ("scale-out (scale_out.py)", scale_rows),
}


def table(figures: Figures, machine: Mapping[str, str], commands: Mapping[str, str]) -> str:
    """The Markdown: the machine, one table of every figure, and the commands that made them.
    A part missing from ``figures`` (it failed, or was not run) is a row that says so."""
    lines = ["Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()) + ".", ""]
    lines.append("| part | figure | target | measured | met | load |")
    lines.append("|---|---|---|---|---|---|")
    for key, (heading, rows_of) in PARTS.items():
        found = figures.get(key)
        if found is None:
            lines.append(f"| {heading} | not measured in this run | | | | |")
            continue
        if "error" in found:
            error = (str(found["error"]).strip().splitlines() or ["?"])[-1].replace("|", "/")
            lines.append(f"| {heading} | failed: {error} | | | | |")
            continue
        for row in rows_of(found):
            lines.append(f"| {heading} | " + " | ".join(row) + " |")
    lines += ["", "Load: the 1-minute load average when the part ended. Commands:", ""]
    lines += [f"- {key}: `{command}`" for key, command in commands.items()]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# the machine and the scripts


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(load_before: tuple[float, float, float], code: str) -> dict[str, str]:
    """The CPU, cores, load averages, the augtool ``code`` measured and the versions of what the
    figures depend on."""

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    load = os.getloadavg()
    found = {
        "CPU": f"{cpu_model()} ({platform.machine()})",
        "cores": str(os.cpu_count()),
        "load average at start": "/".join(f"{v:.2f}" for v in load_before),
        "at end": "/".join(f"{v:.2f}" for v in load),
        "augtool": code,
        "Python": platform.python_version(),
    }
    for name in ("numpy", "pillow", "opencv-python-headless", "albumentations", "dask", "typer"):
        found[name] = version(name)
    return found


def script_commands(sizes: Sizes, scratch: Path) -> dict[str, list[str]]:
    """The command of each script, writing its figures to ``scratch / NAME.json``."""
    python = [sys.executable]
    plan = ",".join(str(n) for n in sizes.plan_sizes)
    return {
        "rerun": [
            *python,
            str(HERE / "rerun.py"),
            "--sources",
            str(sizes.rerun_sources),
            "--rounds",
            str(sizes.rerun_rounds),
        ],
        "plan_memory": [*python, str(HERE / "plan_memory.py"), "--sizes", plan],
        "validate": [
            *python,
            str(HERE / "bench_validate.py"),
            "--count",
            str(sizes.validate_count),
            "--size",
            sizes.validate_size,
            "--rounds",
            str(sizes.validate_rounds),
        ],
        "scale_out": [
            *python,
            str(HERE / "scale_out.py"),
            "--count",
            str(sizes.scale_count),
            "--rounds",
            str(sizes.scale_rounds),
        ],
    }


def run_scripts(sizes: Sizes, code: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Run each script in ``code``, the folder whose ``augtool`` they measure (their
    ``python -m augtool`` finds it there): the figures of each (or the error it ended with) and
    the commands, as typed."""
    figures: dict[str, Any] = {}
    commands: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="augtool-issue25-") as scratch:
        for key, command in script_commands(sizes, Path(scratch)).items():
            shown = [c.replace(str(HERE.parent) + "/", "") for c in command[1:]]
            commands[key] = " ".join(["python", *shown])
            out = Path(scratch) / f"{key}.json"
            print(f"== {commands[key]}", flush=True)
            done = subprocess.run([*command, "--json", str(out)], cwd=code)
            if done.returncode != 0 or not out.is_file():
                figures[key] = {"error": f"exit status {done.returncode}"}
                continue
            figures[key] = json.loads(out.read_text())
    return figures, commands
