"""Benchmark ``augtool expand`` on audio against a hand-written audiomentations loop.

Both do ``benchmarks/audio.yaml`` (4 variants of every one-second 16 kHz clip: gain, noise at
an SNR, pitch shift, low-pass, time mask) with the same scheduling, I/O and hashing (see
``audiomentations_loop.py``). Whole processes, alternated round by round, medians compared: wall
seconds, and CPU seconds (user + sys of the process and every process it started: this script
makes itself their subreaper, so loky's workers are counted even when they outlive their
parent). On a shared machine the CPU ratio is the one that does not move with other people's
load; the load average is printed beside them. The peak memory (VmHWM) of the main process and
its worker processes is sampled in a separate run.

augtool is byte-compiled first, as pip compiles an installed package: with
PYTHONDONTWRITEBYTECODE set (as on the development machine) every augtool process, each worker
included, would otherwise compile augtool's sources again, while audiomentations' were compiled
when pip installed it. One untimed run of each contender warms the page cache.

    python benchmarks/audio.py                  # 1,000 clips, --jobs 1 and 2, 3 rounds
    python benchmarks/audio.py --clips 200 --rounds 1 --jobs 2

Needs the bench extra (audiomentations) and the audio extra (soundfile).
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RATE = 16_000


def make_clips(folder: Path, count: int) -> Path:
    """``count`` one-second clips: a few tones with a little noise, reused when present."""
    from augtool.media.audio.codecs import write_wav

    if folder.is_dir() and len(list(folder.glob("*.wav"))) == count:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    t = np.arange(RATE) / RATE
    for index in range(count):
        freqs = rng.uniform(100, 3000, 3)
        clip = sum(np.sin(2 * np.pi * f * t) for f in freqs) / 4
        clip = clip + 0.01 * rng.standard_normal(RATE)
        (folder / f"clip{index:05d}.wav").write_bytes(write_wav(clip[:, None], RATE, "PCM_16"))
    return folder


def compile_augtool() -> None:
    """Write augtool's bytecode beside its sources (``__pycache__``, ignored by git)."""
    import compileall

    import augtool

    compileall.compile_dir(Path(augtool.__file__).parent, quiet=1)


def command(contender: str, data: Path, out: Path, jobs: int) -> list[str]:
    if contender == "augtool":
        recipe = str(HERE / "audio.yaml")
        return [sys.executable, "-m", "augtool", "expand", recipe, str(data), "-o", str(out),
                "--jobs", str(jobs), "--quiet"]  # fmt: skip
    loop = str(HERE / "audiomentations_loop.py")
    return [sys.executable, loop, str(data), str(out), "--jobs", str(jobs)]


def become_subreaper() -> None:
    """Adopt orphaned descendants (Linux ``PR_SET_CHILD_SUBREAPER``), so that worker processes
    left running when their parent exits are reaped here and their CPU time counted."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:
        raise SystemExit(f"prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}")


def reap_all() -> None:
    """Wait for every descendant adopted by :func:`become_subreaper` (loky's workers end soon
    after their parent does)."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def cpu_seconds() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def fresh_outputs(parent: Path) -> Iterator[Path]:
    """A new output folder for every run, all deleted at the end, none before: on ext4,
    creating inodes soon after thousands were freed makes the kernel search past the
    recently freed ones (``recently_deleted``), which charged seconds of system time to
    whichever contender ran right after a deleted output, not to its own work."""
    shutil.rmtree(parent, ignore_errors=True)
    for index in itertools.count():
        yield parent / f"run-{index:03d}"


def timed(contender: str, data: Path, out: Path, jobs: int) -> tuple[float, float]:
    """Wall seconds of the run, and CPU seconds of all its processes."""
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    subprocess.run(command(contender, data, out, jobs), check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    reap_all()
    cpu = cpu_seconds() - cpu_before
    made = len(list(out.glob("*__v*.wav")))
    expected = 4 * len(list(data.glob("*.wav")))
    if made != expected:
        raise SystemExit(f"{contender}: {made} outputs, expected {expected}")
    return seconds, cpu


def peak_memory(contender: str, data: Path, out: Path, jobs: int) -> dict[str, float]:
    """The highest VmHWM (MiB) of the main process and of any one of its children."""
    import psutil

    process = subprocess.Popen(command(contender, data, out, jobs), stdout=subprocess.DEVNULL)
    main = psutil.Process(process.pid)
    peaks = {"main": 0.0, "worker": 0.0}
    while process.poll() is None:
        try:
            peaks["main"] = max(peaks["main"], _hwm(main.pid))
            for child in main.children(recursive=True):
                peaks["worker"] = max(peaks["worker"], _hwm(child.pid))
        except (psutil.Error, OSError):
            pass
        time.sleep(0.05)
    reap_all()
    return {k: round(v, 1) for k, v in peaks.items()}


def _hwm(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--data", type=Path, default=Path("/tmp/augtool-bench-audio"))
    parser.add_argument(
        "--memory", action=argparse.BooleanOptionalAction, default=True, help="sample VmHWM"
    )
    args = parser.parse_args()
    data = make_clips(args.data / f"clips-{args.clips}", args.clips)
    become_subreaper()
    compile_augtool()
    contenders = ("augtool", "audiomentations")
    outputs = fresh_outputs(args.data / "outputs")
    for contender in contenders:
        timed(contender, data, next(outputs), 1)
    results = {}
    for jobs in args.jobs:
        load_before = os.getloadavg()[0]
        walls: dict[str, list[float]] = {c: [] for c in contenders}
        cpus: dict[str, list[float]] = {c: [] for c in contenders}
        for round_index in range(args.rounds):
            order = contenders if round_index % 2 == 0 else contenders[::-1]
            for contender in order:
                wall, cpu = timed(contender, data, next(outputs), jobs)
                walls[contender].append(wall)
                cpus[contender].append(cpu)
        wall = {c: round(statistics.median(v), 2) for c, v in walls.items()}
        cpu = {c: round(statistics.median(v), 2) for c, v in cpus.items()}
        memory = {}
        if args.memory:
            memory = {c: peak_memory(c, data, next(outputs), jobs) for c in contenders}
        results[f"jobs={jobs}"] = {
            "wall_seconds": wall,
            "wall_ratio": round(wall["audiomentations"] / wall["augtool"], 2),
            "cpu_seconds": cpu,
            "cpu_ratio": round(cpu["audiomentations"] / cpu["augtool"], 2),
            "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            "peak_mib": memory,
        }
    shutil.rmtree(args.data / "outputs", ignore_errors=True)
    info = {"clips": args.clips, "variants": 4, "cores": os.cpu_count(), "results": results}
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
