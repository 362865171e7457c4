"""CPU cost of ``copy_paste`` on a COCO dataset, against the same run with ``hflip`` only and
with ``mosaic``.

Why: copy_paste rasterises the pasted outlines and traces what is left of every object it
covers, in Python and numpy; this says what that costs per variant next to a plain geometric
step and to mosaic. The dataset is made here: ``--count`` JPEGs of 640x480 (smooth noise), each
with four polygon objects (octagons of 40-160 px) in one COCO JSON. Each recipe is run as a
whole ``augtool expand`` process (originals skipped, PNG outputs, ``--jobs 1``), the recipes
alternated over ``--rounds``; the figure is the CPU time (user + sys) of each process, so a
shared machine's load matters less than wall time would.

    python benchmarks/copy_paste.py                   # 60 sources, 4 variants, 3 rounds
    python benchmarks/copy_paste.py --count 200 --rounds 5
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
from pathlib import Path

import numpy as np
from PIL import Image

STEPS = {
    "hflip": "  - hflip: {p: 1.0}\n",
    "copy_paste": "  - copy_paste: {fraction: 0.5, scale: [0.5, 1.5]}\n",
    "mosaic": "  - mosaic: {size: [640, 640]}\n",
}


def make_dataset(root: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    (root / "train").mkdir(parents=True)
    (root / "annotations").mkdir()
    images, anns = [], []
    angles = np.linspace(0, 2 * np.pi, 9)[:-1]
    for index in range(count):
        coarse = rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)
        picture = Image.fromarray(coarse).resize((640, 480), Image.Resampling.BILINEAR)
        picture.save(root / "train" / f"s{index:04d}.jpg", quality=90)
        images.append({"id": index + 1, "file_name": f"s{index:04d}.jpg", "width": 640,
                       "height": 480})  # fmt: skip
        for _ in range(4):
            radius = float(rng.uniform(20, 80))
            cx, cy = float(rng.uniform(80, 560)), float(rng.uniform(80, 400))
            points = np.c_[cx + radius * np.cos(angles), cy + radius * np.sin(angles)]
            x0, y0 = points.min(axis=0)
            x1, y1 = points.max(axis=0)
            anns.append({"id": len(anns) + 1, "image_id": index + 1, "category_id": 1,
                         "iscrowd": 0, "bbox": [x0, y0, x1 - x0, y1 - y0],
                         "area": float(np.pi * radius**2),
                         "segmentation": [points.round(2).reshape(-1).tolist()]})  # fmt: skip
    data = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "thing"}]}
    (root / "annotations" / "instances_train.json").write_text(json.dumps(data))


def cpu_seconds(recipe: Path, source: Path, out: Path) -> float:
    """The user + sys CPU time of one ``augtool expand`` process."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "augtool", "expand", str(recipe), str(source), "-o",
               str(out), "--jobs", "1", "--quiet"]  # fmt: skip
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{recipe.name}: augtool expand failed")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="augtool-copy-paste-") as folder:
        work = Path(folder)
        make_dataset(work / "in", args.count)
        recipes = {}
        for name, step in STEPS.items():
            recipes[name] = work / f"{name}.yaml"
            recipes[name].write_text(
                "version: 1\nseed: 0\ninput: {layout: coco}\n"
                "output: {format: png, originals: skip}\n"
                f"variants: {args.variants}\npipeline:\n{step}"
            )
        times: dict[str, list[float]] = {name: [] for name in STEPS}
        for round_ in range(args.rounds):
            order = list(STEPS) if round_ % 2 == 0 else list(reversed(STEPS))
            for name in order:
                times[name].append(cpu_seconds(recipes[name], work / "in", work / name))
    outputs = args.count * args.variants
    base = statistics.median(times["hflip"])
    print(f"{args.count} sources x {args.variants} variants = {outputs} outputs, --jobs 1, "
          f"{args.rounds} rounds, CPU seconds (user + sys), median")  # fmt: skip
    for name, found in times.items():
        median = statistics.median(found)
        print(f"  {name:11s} {median:7.2f} s  {1000 * median / outputs:6.1f} ms/output  "
              f"x{median / base:.2f} of hflip")  # fmt: skip


if __name__ == "__main__":
    main()
