"""Benchmark ``augtool expand`` against the codec floor and a hand-written Albumentations loop.

Why whole processes, alternated: what a user waits for is the command, start-up, imports, pool
and manifest included; and on a shared machine the load drifts, so the contenders run in turns
within each round (the order rotates every round) and medians are compared, never single runs.

Contenders, per source size (640x480 and 1920x1080) and per ``--jobs`` (1 and 2):

- ``augtool``   ``augtool expand benchmarks/standard.yaml`` (4 variants, 512x384 JPEG q90);
- ``augtool_cv`` the same recipe with ``kernels: opencv`` (``standard-opencv.yaml``);
- ``albu``      (c) ``benchmarks/albumentations_loop.py``, the same pipeline in Albumentations;
- ``floor``     (b) ``benchmarks/codec_floor.py --crop 512x384``: decode, encode, hash, write;
- ``reencode``  ``augtool expand benchmarks/reencode.yaml`` (empty pipeline, source-size outputs);
- ``floor_full`` (b) at the source size, the floor ``reencode`` is held to;
- ``base``, ``base_cv`` with ``--baseline REV``: ``augtool`` and ``augtool_cv`` as committed at
  REV, alternated with the code measured, so a change's cost is a ratio taken in one run.

Every run's outputs are counted (and, in the first round, one output's size checked) so no
contender can win by doing less. Wall time is measured around the process; CPU time (user + sys
of the process and the children it waited for) is reported too, as it is less sensitive to other
load on the machine. Peak memory is measured in separate runs (sampling would perturb timings):
the kernel's high-water mark (VmHWM) of the main process and of each worker.

    python benchmarks/run.py --quick          # smoke run, about a minute on an idle machine
    python benchmarks/run.py                  # full: 400 x 640x480, 100 x 1920x1080, 3 rounds
    python benchmarks/run.py --linearity      # 20,000 vs 400 sources of 160x120 (slow)
    python benchmarks/run.py --issue25 --quick   # issue 25's every figure, one table (issue25.py)
    python benchmarks/run.py --issue25           # the same at the issue's sizes: 20-25 min idle
    python benchmarks/run.py --code HEAD --baseline HEAD~5 --contenders augtool,base,albu

Datasets are generated on first use into ``--data`` (default /tmp/augtool-bench) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
# ``python -m augtool`` rather than the installed script: the script names the entry point of the
# installed version, which a ``--code``/``--baseline`` snapshot of another revision may lack.
AUGTOOL = [PYTHON, "-m", "augtool"]
VARIANTS = 4
OUT_SIZE = (512, 384)  # width, height of the standard recipe's outputs
CONTENDERS = ("augtool", "augtool_cv", "albu", "floor", "reencode", "floor_full")
#: The contenders that run the ``--baseline`` snapshot, and the contender each is compared with.
BASELINES = {"base": "augtool", "base_cv": "augtool_cv"}
#: augtool's contenders held to the Albumentations loop, and the kernels each uses.
AUGTOOLS = {"augtool": "pillow", "augtool_cv": "opencv"}
ENV = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONWARNINGS": "ignore"}
#: The environment of augtool's processes; ``use_code`` points it at a snapshot of the code.
AUGTOOL_ENV = dict(ENV)
#: The environment of the ``--baseline`` contenders (a snapshot of the baseline revision).
BASELINE_ENV = dict(ENV)
#: Drops the editable install's import hook, so that PYTHONPATH's augtool (a snapshot) is used,
#: in the main process and in every loky worker (they inherit the environment).
SITECUSTOMIZE = """import sys

sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
"""


@dataclass
class Run:
    wall: float
    cpu: float
    maxrss_kib: int


@dataclass
class Series:
    """All the runs of one contender on one dataset at one --jobs."""

    outputs: int
    runs: list[Run] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def rate(self) -> float:
        return self.outputs / self.wall

    @property
    def rate_range(self) -> tuple[float, float]:
        walls = [r.wall for r in self.runs]
        return self.outputs / max(walls), self.outputs / min(walls)

    @property
    def ms(self) -> float:
        return 1000 * self.wall / self.outputs

    @property
    def cpu_ms(self) -> float:
        return 1000 * statistics.median(r.cpu for r in self.runs) / self.outputs


# ---------------------------------------------------------------------------------------------
# datasets


def dataset(root: Path, count: int, size: tuple[int, int], seed: int = 0) -> Path:
    """A generated dataset, made once and reused (the name carries every parameter)."""
    folder = root / f"{size[0]}x{size[1]}-n{count}-s{seed}"
    marker = folder / ".complete"
    if not marker.exists():
        print(f"generating {count} sources at {size[0]}x{size[1]} into {folder} ...", flush=True)
        sys.path.insert(0, str(HERE))
        from make_dataset import make_dataset

        make_dataset(folder, count, size, seed, jobs=os.cpu_count() or 1)
        marker.touch()
    return folder


def big_source(root: Path) -> Path:
    """One 8000x6000 JPEG (48 Mpx), for the peak-memory check."""
    return dataset(root, 1, (8000, 6000), seed=1)


def use_code(rev: str | None, data: Path, env: dict[str, str] = AUGTOOL_ENV) -> str:
    """Measure augtool as committed at ``rev`` (a ``git archive`` snapshot, as others may be
    editing the working tree mid-run), or the installed working tree when ``rev`` is None.
    ``env`` is the environment pointed at the snapshot. Returns a description of the code."""
    repo = HERE.parent
    git = ["git", "-C", str(repo)]
    if rev is None:
        described = subprocess.run(
            [*git, "describe", "--always", "--dirty"], capture_output=True, text=True
        ).stdout.strip()
        return f"working tree ({described or 'not a git checkout'})"
    sha = subprocess.run(
        [*git, "rev-parse", "--verify", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    folder = data / f"code-{sha[:12]}"
    if not (folder / "sitecustomize.py").exists():
        import io
        import tarfile

        archive = subprocess.run([*git, "archive", sha, "augtool"], capture_output=True, check=True)
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(folder, filter="data")
        (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
        # Byte-compiled as pip compiles an installed package: with PYTHONDONTWRITEBYTECODE set
        # (as it is here) every process, each worker included, would compile augtool again.
        import compileall

        compileall.compile_dir(folder / "augtool", quiet=1)
    env["PYTHONPATH"] = str(folder)
    return f"{rev} = {sha[:12]} (snapshot in {folder})"


def warm_cache(folder: Path) -> None:
    """Read every source once so the first timed run does not pay for a cold page cache."""
    for path in folder.iterdir():
        if path.is_file():
            path.read_bytes()


# ---------------------------------------------------------------------------------------------
# running whole processes


def command(name: str, source: Path, out: Path, jobs: int) -> list[str]:
    """The whole-process command line of one contender."""
    recipes = {
        "augtool": "standard.yaml",
        "augtool_cv": "standard-opencv.yaml",
        "reencode": "reencode.yaml",
        "base": "standard.yaml",
        "base_cv": "standard-opencv.yaml",
    }
    if name in recipes:
        recipe = str(HERE / recipes[name])
        return [*AUGTOOL, "expand", recipe, str(source), "-o", str(out), "-j", str(jobs), "-q"]
    scripts = {"albu": "albumentations_loop.py", "floor": "codec_floor.py"}
    scripts["floor_full"] = "codec_floor.py"
    cmd = [PYTHON, str(HERE / scripts[name]), str(source), str(out), "--jobs", str(jobs)]
    if name == "floor":
        cmd += ["--crop", f"{OUT_SIZE[0]}x{OUT_SIZE[1]}"]
    return cmd


def spawn(cmd: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in a neutral folder, with augtool's environment if it is augtool (unless
    ``env`` says which)."""
    if env is None:
        env = AUGTOOL_ENV if cmd[: len(AUGTOOL)] == AUGTOOL else ENV
    cwd = tempfile.gettempdir()
    return subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def timed(cmd: Sequence[str], env: dict[str, str] | None = None) -> Run:
    """Run ``cmd`` to completion: wall time, CPU time and ru_maxrss of its waited-for tree."""
    started = time.perf_counter()
    proc = spawn(cmd, env)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


def check_outputs(out: Path, expected: int, size: tuple[int, int] | None) -> None:
    """Every contender must write the same number of JPEGs, of the same size."""
    files = [p for p in out.iterdir() if p.suffix == ".jpg"]
    if len(files) != expected:
        raise RuntimeError(f"{out}: {len(files)} outputs, expected {expected}")
    if size is not None:
        from PIL import Image

        with Image.open(files[0]) as img:
            if img.size != size:
                raise RuntimeError(f"{files[0]}: size {img.size}, expected {size}")


def hwm_kib(pid: int) -> int:
    """The kernel's peak-RSS high-water mark of a live process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def peak_memory(cmd: Sequence[str]) -> dict[str, float]:
    """Run ``cmd`` sampling VmHWM of it and of its descendants: MiB of the main process and of
    the largest worker (the loky resource tracker, a small helper, is not a worker)."""
    import psutil

    proc = spawn(cmd)
    main = psutil.Process(proc.pid)
    peaks: dict[int, int] = {}
    names: dict[int, str] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                tree = [main, *main.children(recursive=True)]
            except psutil.Error:
                tree = []
            for p in tree:
                value = hwm_kib(p.pid)
                if value:
                    peaks[p.pid] = max(peaks.get(p.pid, 0), value)
                    if p.pid not in names:
                        try:
                            names[p.pid] = " ".join(p.cmdline())
                        except psutil.Error:
                            names[p.pid] = ""
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    stop.set()
    sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err.decode()[-2000:]}")
    main_kib = max(peaks.get(proc.pid, 0), 0)
    workers = [
        v for pid, v in peaks.items() if pid != proc.pid and "resource_tracker" not in names[pid]
    ]
    return {
        "main_mib": main_kib / 1024,
        "worker_mib": max(workers, default=0) / 1024,
        "workers": len(workers),
        "tree_maxrss_mib": usage.ru_maxrss / 1024,
    }


def median_time(cmd: Sequence[str], repeat: int, setup: Any = None) -> float:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        times.append(timed(cmd).wall)
    return statistics.median(times)


# ---------------------------------------------------------------------------------------------
# the benchmark


def throughput(
    sources: dict[str, Path],
    counts: dict[str, int],
    jobs_list: Sequence[int],
    rounds: int,
    contenders: Sequence[str] = CONTENDERS,
    out_root: Path | None = None,
) -> dict[tuple[str, int, str], Series]:
    """Alternate every contender, round after round; the order rotates each round. Outputs go
    to a scratch folder in ``out_root`` (default: the system's temp folder)."""
    results: dict[tuple[str, int, str], Series] = {}
    scratch = Path(tempfile.mkdtemp(prefix="augtool-bench-out-", dir=out_root))
    try:
        for label, folder in sources.items():
            warm_cache(folder)
            for jobs in jobs_list:
                for r in range(rounds):
                    turn = r % len(contenders)
                    order = [*contenders[turn:], *contenders[:turn]]
                    for name in order:
                        out = scratch / f"{name}-{label}-j{jobs}-r{r}"
                        env = BASELINE_ENV if name in BASELINES else None
                        run = timed(command(name, folder, out, jobs), env)
                        expected = counts[label] * VARIANTS
                        size = None
                        if r == 0:
                            size = None if name in ("reencode", "floor_full") else OUT_SIZE
                        check_outputs(out, expected, size)
                        shutil.rmtree(out)
                        settle()
                        series = results.setdefault((label, jobs, name), Series(expected))
                        series.runs.append(run)
                        print(
                            f"  {label} jobs {jobs} round {r + 1}/{rounds} {name:10s} "
                            f"{run.wall:7.2f} s  {expected / run.wall:7.1f} out/s",
                            flush=True,
                        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return results


def settle() -> None:
    """Let the disk finish with a run before the next starts (untimed), so that no run pays
    for the writes and deletions of the one before it: on the VM this was measured on,
    creating a file took 0.02 ms on a settled disk and up to 0.9 ms during writeback."""
    os.sync()


def startup(data: Path, repeat: int) -> dict[str, float]:
    """Whole-process times of tiny commands: --help, an expand of 10 images, Python itself."""
    ten = dataset(data, 10, (640, 480))
    scratch = Path(tempfile.mkdtemp(prefix="augtool-bench-small-"))
    out = scratch / "out"
    try:

        def clear() -> None:
            shutil.rmtree(out, ignore_errors=True)

        expand = [*AUGTOOL, "expand", str(HERE / "standard.yaml"), str(ten), "-o", str(out), "-q"]
        return {
            "python_s": median_time([PYTHON, "-c", "pass"], repeat),
            "import_numpy_pil_s": median_time([PYTHON, "-c", "import numpy, PIL.Image"], repeat),
            "help_s": median_time([*AUGTOOL, "--help"], repeat),
            "expand10_s": median_time(expand, repeat, clear),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def memory(data: Path, big: Path | None, hd: Path) -> dict[str, dict[str, float]]:
    """Peak memory: 1920x1080 sources at jobs 2 (a pool), one 8000x6000 source (in-process)."""
    scratch = Path(tempfile.mkdtemp(prefix="augtool-bench-mem-"))
    cases = [("1920x1080 jobs 2", hd, 2)]
    if big is not None:
        cases.append(("one 8000x6000 source", big, 1))
    try:
        found = {}
        for label, folder, jobs in cases:
            for name in ("augtool", "augtool_cv", "albu"):
                out = scratch / f"{name}-{jobs}-{folder.name}"
                found[f"{name} {label}"] = peak_memory(command(name, folder, out, jobs))
                shutil.rmtree(out, ignore_errors=True)
        return found
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def linearity(data: Path, small: int, large: int, jobs: int) -> dict[str, Any]:
    """Per-output time and main-process peak memory of ``large`` vs ``small`` 160x120 sources."""
    found: dict[str, Any] = {}
    scratch = Path(tempfile.mkdtemp(prefix="augtool-bench-lin-"))
    recipe = HERE / "small.yaml"
    try:
        for count in (small, large):
            folder = dataset(data, count, (160, 120))
            warm_cache(folder)
            out = scratch / f"n{count}"
            cmd = [*AUGTOOL, "expand", str(recipe), str(folder), "-o", str(out), "-j", str(jobs)]
            started = time.perf_counter()
            mem = peak_memory([*cmd, "-q"])
            wall = time.perf_counter() - started
            check_outputs(out, count * VARIANTS, None)
            shutil.rmtree(out)
            found[str(count)] = {"wall_s": wall, "ms_per_output": 1000 * wall / count / 4, **mem}
            print(f"  linearity {count} sources: {wall:.1f} s, {mem}", flush=True)
        found["ratio"] = found[str(large)]["ms_per_output"] / found[str(small)]["ms_per_output"]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return found


# ---------------------------------------------------------------------------------------------
# report


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def report(
    results: dict[tuple[str, int, str], Series],
    counts: dict[str, int],
    jobs_list: Sequence[int],
    tiny: dict[str, float] | None,
    mem: dict[str, dict[str, float]] | None,
    lin: dict[str, Any] | None,
    rounds: int,
    code: str = "",
) -> str:
    """The figures as Markdown tables (the first paragraph says what was measured, and where)."""
    lines = []
    import PIL

    versions = {"python": platform.python_version(), "pillow": PIL.__version__}
    try:
        import numpy

        versions["numpy"] = numpy.__version__
        os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
        import albumentations
        import cv2

        versions["albumentations"] = albumentations.__version__
        versions["opencv"] = cv2.__version__
    except ImportError:
        pass
    load = os.getloadavg()
    lines.append(
        f"Machine: {os.cpu_count()} CPUs, {platform.machine()}, load average after the runs "
        f"{load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}; "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f". Medians of {rounds} alternated rounds, whole processes (start-up included)."
        + (f" augtool code: {code}." if code else "")
    )
    lines.append("")

    def rate(label: str, jobs: int, name: str) -> float:
        series = results.get((label, jobs, name))
        return series.rate if series is not None else float("nan")

    ours = [name for name in AUGTOOLS if any(key[2] == name for key in results)]
    if counts and ours:
        lines.append(
            "| sources | jobs | kernels | augtool out/s | ms/out | CPU ms/out | (c) albu out/s | "
            "(b) floor out/s | augtool/(c) | augtool/(b) |"
        )
        lines.append("|" + "---|" * 10)
        for label in counts:
            for jobs in jobs_list:
                c, b = rate(label, jobs, "albu"), rate(label, jobs, "floor")
                for name in ours:
                    a = rate(label, jobs, name)
                    series = results.get((label, jobs, name))
                    spread, ms, cpu = "", float("nan"), float("nan")
                    if series is not None:
                        lo, hi = series.rate_range
                        spread, ms, cpu = f" ({lo:.0f}–{hi:.0f})", series.ms, series.cpu_ms
                    lines.append(
                        f"| {counts[label]} × {label} | {jobs} | {AUGTOOLS[name]} | "
                        f"{a:.1f}{spread} | {ms:.2f} | {cpu:.2f} | {c:.1f} | {b:.1f} | "
                        f"{a / c:.2f} | {a / b:.2f} |"
                    )
        lines.append("")
    empty = any(key[2] == "reencode" for key in results)
    if counts and empty:
        lines.append("| sources | jobs | reencode out/s | floor full out/s | reencode/floor |")
        lines.append("|" + "---|" * 5)
        for label in counts:
            for jobs in jobs_list:
                r, f = rate(label, jobs, "reencode"), rate(label, jobs, "floor_full")
                lines.append(
                    f"| {counts[label]} × {label} | {jobs} | {r:.1f} | {f:.1f} | {r / f:.2f} |"
                )
        lines.append("")
    baselines = [name for name in BASELINES if any(key[2] == name for key in results)]
    if counts and baselines:
        lines.append(
            "| sources | jobs | kernels | code out/s | baseline out/s | code/baseline | "
            "code/(c) | baseline/(c) |"
        )
        lines.append("|" + "---|" * 8)
        for label in counts:
            for jobs in jobs_list:
                c = rate(label, jobs, "albu")
                for base in baselines:
                    ours_name = BASELINES[base]
                    a, b = rate(label, jobs, ours_name), rate(label, jobs, base)
                    lines.append(
                        f"| {counts[label]} × {label} | {jobs} | {AUGTOOLS[ours_name]} | "
                        f"{a:.1f} | {b:.1f} | {a / b:.2f} | {a / c:.2f} | {b / c:.2f} |"
                    )
        lines.append("")
    sys.path.insert(0, str(HERE))
    from issue25 import KERNEL_TARGETS

    lines.append("| target | measured | met |")
    lines.append("|---|---|---|")
    for label in counts:
        for name in ours:
            target = KERNEL_TARGETS[name]
            for jobs in jobs_list:
                ratio = rate(label, jobs, name) / rate(label, jobs, "albu")
                lines.append(
                    f"| augtool ({AUGTOOLS[name]} kernels) ≥ {target:.1f}× (c), {label}, "
                    f"jobs {jobs} | {ratio:.2f}× | {verdict(ratio >= target)} |"
                )
        if empty:
            for jobs in jobs_list:
                r = rate(label, jobs, "reencode") / rate(label, jobs, "floor_full")
                lines.append(
                    f"| empty pipeline ≥ 0.9× floor, {label}, jobs {jobs} | {r:.2f}× | "
                    f"{verdict(r >= 0.9)} |"
                )
    if 1 in jobs_list and 2 in jobs_list:
        for label in counts:
            albu = rate(label, 2, "albu") / rate(label, 1, "albu")
            enough = counts[label] >= 400
            note = "" if enough else " (fewer than 400 sources: indicative)"
            for name in ours:
                scale = rate(label, 2, name) / rate(label, 1, name)
                lines.append(
                    f"| jobs 2 ≥ 1.8× jobs 1, {AUGTOOLS[name]} kernels, {counts[label]} × "
                    f"{label}{note} | {scale:.2f}× (albu {albu:.2f}×) | {verdict(scale >= 1.8)} |"
                )
    if tiny is not None:
        lines.append(
            f"| `augtool --help` < 0.3 s | {tiny['help_s']:.3f} s (python -c pass "
            f"{tiny['python_s']:.3f} s; import numpy+PIL {tiny['import_numpy_pil_s']:.3f} s) | "
            f"{verdict(tiny['help_s'] < 0.3)} |"
        )
        lines.append(
            f"| expand of 10 images < 1.5 s | {tiny['expand10_s']:.3f} s | "
            f"{verdict(tiny['expand10_s'] < 1.5)} |"
        )
    if lin is not None:
        small, large = (k for k in lin if k != "ratio")
        lines.append(
            f"| {large} sources ≤ 1.1× per-output time of {small} | {lin['ratio']:.2f}× "
            f"({lin[large]['ms_per_output']:.2f} vs {lin[small]['ms_per_output']:.2f} ms) | "
            f"{verdict(lin['ratio'] <= 1.1)} |"
        )
        grow = lin[large]["main_mib"] / max(lin[small]["main_mib"], 1e-9)
        lines.append(
            f"| main-process peak memory flat | {lin[small]['main_mib']:.0f} → "
            f"{lin[large]['main_mib']:.0f} MiB ({grow:.2f}×) | {verdict(grow <= 1.1)} |"
        )
    if mem is not None:
        lines.append("")
        lines.append("| peak memory (VmHWM) | main process MiB | largest worker MiB | workers |")
        lines.append("|---|---|---|---|")
        for key, value in mem.items():
            worker = f"{value['worker_mib']:.0f}" if value["workers"] else "— (in-process)"
            lines.append(
                f"| {key} | {value['main_mib']:.0f} | {worker} | {int(value['workers'])} |"
            )
    return "\n".join(lines)


def issue25_report(args: argparse.Namespace, code: str) -> None:
    """``--issue25``: this script's throughput rounds (against the Albumentations loop) and
    jobs scaling rounds (augtool and the codec floor), then the other scripts, in one table,
    all running the augtool ``code`` describes (``--code``'s snapshot goes to the scripts too),
    byte-compiled (into ``--data``) as an installed package is."""
    sys.path.insert(0, str(HERE))
    import issue25

    load = os.getloadavg()
    snapshot = AUGTOOL_ENV.get("PYTHONPATH")
    for env in (os.environ, ENV, AUGTOOL_ENV):
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(args.data / "pycache")
        if snapshot is not None:
            env["PYTHONPATH"] = snapshot
    package = Path(snapshot or HERE.parent) / "augtool"
    compile_all = [PYTHON, "-m", "compileall", "-q", str(package)]
    subprocess.run(compile_all, env=AUGTOOL_ENV, check=True, stdout=subprocess.DEVNULL)
    sizes = issue25.QUICK if args.quick else issue25.FULL
    shm = Path("/dev/shm")
    out = args.out or (shm if shm.is_dir() else Path(tempfile.gettempdir()))

    def measured(counts: dict[str, int], rounds: int, contenders: Sequence[str]) -> Any:
        shapes = {"640x480": (640, 480), "1920x1080": (1920, 1080)}
        sources = {label: dataset(args.data, n, shapes[label]) for label, n in counts.items()}
        rounds = args.rounds or rounds
        try:
            results = throughput(sources, counts, [1, 2], rounds, contenders, out)
        except RuntimeError as error:  # a contender failed: the other parts still run
            return {"error": str(error)}
        return issue25.throughput_figures(results, counts, str(out), rounds)

    figures = {
        "throughput": measured(
            sizes.throughput, sizes.throughput_rounds, ["augtool", "augtool_cv", "albu"]
        ),
        "scaling": measured(sizes.scaling, sizes.scaling_rounds, issue25.SCALING_CONTENDERS),
    }
    scripts, commands = issue25.run_scripts(sizes, package.parent)
    figures.update(scripts)
    ours = " ".join(["python", "benchmarks/run.py", *sys.argv[1:]])
    commands = {"throughput, jobs scaling": ours, **commands}
    print()
    print(issue25.table(figures, issue25.machine(load, code), commands))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small datasets, 1 round (smoke)")
    parser.add_argument("--rounds", type=int, help="alternated rounds (default 3; quick 1)")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "augtool-bench")
    parser.add_argument("--jobs", default="1,2", help="comma-separated --jobs values")
    parser.add_argument("--linearity", action="store_true", help="only the linearity check")
    parser.add_argument(
        "--issue25",
        action="store_true",
        help="every figure of issue 25 in one table: throughput and jobs scaling (outputs on "
        "tmpfs), reruns, planning memory, validate, scale-out (benchmarks/issue25.py)",
    )
    parser.add_argument("--linearity-count", type=int, default=20_000)
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    parser.add_argument(
        "--contenders", default=",".join(CONTENDERS), help="comma-separated subset to run"
    )
    parser.add_argument("--sizes", default="640x480,1920x1080", help="comma-separated subset")
    parser.add_argument(
        "--sources",
        default="",
        help="how many sources of a size, e.g. 640x480=2000 (default 400 and 100): more sources "
        "spread the fixed costs (start-up, pool, manifest) thinner",
    )
    parser.add_argument("--no-startup", action="store_true", help="skip --help/10-image timings")
    parser.add_argument(
        "--out",
        type=Path,
        help="where the throughput runs write (default: the temp folder); /dev/shm takes the "
        "disk out of the measurement",
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run augtool as committed at REV (contenders base, base_cv), alternated "
        "with the code measured",
    )
    parser.add_argument(
        "--code",
        metavar="REV",
        help="measure augtool as committed at this git revision (e.g. HEAD) instead of the "
        "installed working tree, which others may be editing during the run",
    )
    args = parser.parse_args(argv)
    jobs_list = [int(j) for j in args.jobs.split(",")]
    args.data.mkdir(parents=True, exist_ok=True)
    code = use_code(args.code, args.data)
    print(f"augtool code: {code}", flush=True)
    if args.baseline is not None:
        code += f"; baseline: {use_code(args.baseline, args.data, BASELINE_ENV)}"
        print(f"baseline: {code}", flush=True)
    if args.issue25:
        issue25_report(args, code)
        return
    if args.linearity:
        lin = linearity(args.data, 400, args.linearity_count, max(jobs_list))
        print(json.dumps(lin, indent=2))
        print(report({}, {}, [], None, None, lin, 0, code))
        return
    rounds = args.rounds or (1 if args.quick else 3)
    # Quick: just above augtool's in-process threshold (48 outputs), so jobs 2 uses a pool.
    counts = {"640x480": 24, "1920x1080": 13} if args.quick else {"640x480": 400, "1920x1080": 100}
    sizes = {"640x480": (640, 480), "1920x1080": (1920, 1080)}
    for item in filter(None, args.sources.split(",")):
        label, _, count = item.partition("=")
        if label not in counts or not count.isdigit():
            parser.error(f"--sources {item!r}: expected SIZE=COUNT with SIZE one of {list(counts)}")
        counts[label] = int(count)
    counts = {label: n for label, n in counts.items() if label in args.sizes.split(",")}
    sources = {label: dataset(args.data, n, sizes[label]) for label, n in counts.items()}
    contenders = [name for name in args.contenders.split(",") if name]
    unknown = set(contenders) - set(CONTENDERS) - (set(BASELINES) if args.baseline else set())
    if unknown:
        parser.error(f"unknown contenders: {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    results = throughput(sources, counts, jobs_list, rounds, contenders, args.out)
    tiny = None if args.no_startup else startup(args.data, 3 if args.quick else 5)
    mem = None
    if not args.no_memory:
        big = None if args.quick else big_source(args.data)
        mem = memory(args.data, big, sources["1920x1080"])
    text = report(results, counts, jobs_list, tiny, mem, None, rounds, code)
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)\n")
    print(text)
    if args.json is not None:
        raw = {
            f"{label} jobs {jobs} {name}": {
                "outputs": s.outputs,
                "walls": [r.wall for r in s.runs],
                "cpus": [r.cpu for r in s.runs],
                "maxrss_kib": [r.maxrss_kib for r in s.runs],
            }
            for (label, jobs, name), s in results.items()
        }
        args.json.write_text(json.dumps({"runs": raw, "startup": tiny, "memory": mem}, indent=2))


if __name__ == "__main__":
    main()
