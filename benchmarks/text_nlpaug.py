"""Text throughput: ``augtool expand`` against a hand-written nlpaug loop doing the same work.

The work: a CSV of N support-ticket rows (``text``, ``label``), 3 variants per row of random
word swap (10 %), random word deletion (10 %) and keyboard typos (3 % of letters), written as a
CSV with the source columns plus the row and variant. nlpaug's loop is what its documentation
suggests (``naf.Sequential`` of ``RandomWordAug`` and ``KeyboardAug``, ``augment(text, n=3)``);
it writes no manifest, drops no duplicate and hashes nothing, which favours it. augtool does all
of that. nlpaug has no seed per example (it draws from Python's global ``random``), so its output
cannot be reproduced per row; that is not timed.

nlpaug lives in its own environment (it pins old libraries): ``--nlpaug-python``.

    python benchmarks/text_nlpaug.py --rows 20000 --rounds 3 --nlpaug-python /tmp/nlpaug/bin/python
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECIPE = """\
version: 1
seed: 1
input: {layout: table, extensions: [.csv], text: [text], label: label}
variants: 3
pipeline:
  - random_swap: {rate: 0.1}
  - random_delete: {rate: 0.1}
  - char_typo: {rate: 0.03}
"""
NLPAUG_LOOP = """\
import csv, sys
import nlpaug.augmenter.char as nac
import nlpaug.augmenter.word as naw
import nlpaug.flow as naf

flow = naf.Sequential([
    naw.RandomWordAug(action="swap", aug_p=0.1),
    naw.RandomWordAug(action="delete", aug_p=0.1),
    nac.KeyboardAug(aug_char_p=0.03, aug_word_p=1.0, include_numeric=False,
                    include_special_char=False),
])
with open(sys.argv[1], encoding="utf-8", newline="") as f, \\
        open(sys.argv[2], "w", encoding="utf-8", newline="") as out:
    reader = csv.reader(f)
    writer = csv.writer(out, lineterminator="\\n")
    writer.writerow([*next(reader), "source_row", "variant"])
    for number, row in enumerate(reader, start=1):
        for variant, text in enumerate(flow.augment(row[1], n=3)):
            writer.writerow([row[0], text, row[2], number, variant])
"""


def make_rows(path: Path, rows: int) -> None:
    sample = Path(__file__).resolve().parents[1] / "samples" / "text" / "train.csv"
    with sample.open(encoding="utf-8", newline="") as handle:
        texts = [(r["text"], r["label"]) for r in csv.DictReader(handle)]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "text", "label"])
        for i in range(rows):
            text, label = texts[i % len(texts)]
            writer.writerow([f"r{i}", f"{text} (ticket {i})", label])


def timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + sys of the children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nlpaug-python", required=True)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="augtool-text-bench-"))
    data = work / "in"
    data.mkdir()
    make_rows(data / "train.csv", args.rows)
    (work / "recipe.yaml").write_text(RECIPE, encoding="utf-8")
    (work / "loop.py").write_text(NLPAUG_LOOP, encoding="utf-8")
    augtool = [sys.executable, "-m", "augtool", "expand", str(work / "recipe.yaml"), str(data)]
    loop = [args.nlpaug_python, str(work / "loop.py"), str(data / "train.csv")]
    times: dict[str, list[tuple[float, float]]] = {"augtool": [], "nlpaug": []}
    for round_ in range(args.rounds):
        order = ["augtool", "nlpaug"] if round_ % 2 == 0 else ["nlpaug", "augtool"]
        for name in order:
            out = work / f"out-{name}"
            shutil.rmtree(out, ignore_errors=True)
            if name == "augtool":
                times[name].append(timed([*augtool, "-o", str(out), "--quiet", "--force"]))
            else:
                out.mkdir()
                times[name].append(timed([*loop, str(out / "train__v00.csv")]))
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        rate = args.rows / cpu
        print(f"{name:8s} wall {wall:7.2f} s  cpu {cpu:7.2f} s  {rate:9.0f} rows/s (cpu)")
    ratio = statistics.median(c for _, c in times["nlpaug"]) / statistics.median(
        c for _, c in times["augtool"]
    )
    print(f"augtool is {ratio:.2f}x nlpaug by CPU time ({os.cpu_count()} cores, {args.rows} rows)")
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
