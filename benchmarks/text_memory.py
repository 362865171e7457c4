"""Peak memory of ``augtool expand`` and of ``validate --recompute`` on one CSV table of N rows.

A table source is streamed (docs/text.md, "Memory"): read twice from its file, derived and
written 1,024 rows at a time, its row table written to a file beside the variant file. What
still grows is 8 bytes a row and kept variant (the hashes the duplicate rail compares). Each
size runs alone in a fresh interpreter (``--jobs 1``: the task runs in that process, no pool),
and the child's peak resident set (``ru_maxrss``) is read once it is done.

The rows are the benchmark of benchmarks/text_nlpaug.py (support tickets, 3 variants of word
swap, word deletion and keyboard typos).

    python benchmarks/text_memory.py                       # 10,000, 100,000 and 1,000,000 rows
    python benchmarks/text_memory.py --rows 10000,100000

Prints a Markdown table: rows, the source's size, expand's peak RSS (MiB), seconds and rows/s,
then the peak RSS and seconds of ``validate manifest --source --recompute all`` of that run (the
table re-derived as a stream, in one process too).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from text_nlpaug import RECIPE, make_rows


def peak_of(command: list[str]) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of a child running ``command``, measured by the child
    itself: ``ru_maxrss`` of RUSAGE_CHILDREN is the largest child so far, so a small run after
    a big one would read the big one's peak."""
    probe = (
        "import resource, runpy, sys; sys.argv = sys.argv[1:]; "
        "code = 0\ntry:\n    runpy.run_module('augtool', run_name='__main__')\n"
        "except SystemExit as exit:\n    code = exit.code or 0\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(code)"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", probe, "augtool", *command],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return int(done.stderr.strip().splitlines()[-1]) / 1024, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000,1000000")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="augtool-text-memory-"))
    print("| rows | source MiB | expand peak MiB | s | rows/s | recompute peak MiB | s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    try:
        (work / "recipe.yaml").write_text(RECIPE, encoding="utf-8")
        for rows in (int(n) for n in args.rows.split(",")):
            data = work / f"in-{rows}"
            data.mkdir()
            make_rows(data / "train.csv", rows)
            size = (data / "train.csv").stat().st_size / 2**20
            out = work / "out"
            expand = ["expand", str(work / "recipe.yaml"), str(data), "-o", str(out)]
            peak, seconds = peak_of([*expand, "--jobs", "1", "--quiet", "--force"])
            manifest = str(out / "manifest.jsonl")
            check = ["validate", "manifest", manifest, "--source", str(data), "--recompute", "all"]
            again, checked = peak_of([*check, "--jobs", "1", "--quiet"])
            print(
                f"| {rows:,} | {size:.1f} | {peak:.0f} | {seconds:.1f} | {rows / seconds:,.0f} "
                f"| {again:.0f} | {checked:.1f} |"
            )
            shutil.rmtree(out)
            shutil.rmtree(data)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
