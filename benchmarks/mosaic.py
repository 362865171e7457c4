"""Throughput of a recipe with ``mosaic`` against a hand-written Albumentations 2.0.8 loop.

Why: mosaic is what detection users make online in Ultralytics or with ``A.Mosaic``; augtool
writes it to disk with partners recorded. The competitor is the loop a user would write with
``A.Mosaic`` (Albumentations 2.0.8: the primary image plus ``mosaic_metadata``, a list of dicts
with the partners' images), with the same scheduling, I/O and hashing as augtool
(``_harness``): per source, read it and sha256 it, decode once with OpenCV; per variant, read and
decode its three partners (each once per task, chosen from the variant's seed among the other
sources), mosaic to 640x640 (a 2x2 grid of 640x640 cells, fill 114), encode JPEG q90, sha256,
write. augtool runs ``expand`` on the same files with ``mosaic: {size: [640, 640]}``, originals
skipped, JPEG q90; it also hashes every partner and records it.

Whole processes, alternated (the order flips every round), medians compared:

    python benchmarks/mosaic.py                      # 120 sources of 640x480, --jobs 1, 3 rounds
    python benchmarks/mosaic.py --count 400 --jobs 2 --rounds 5

Modes used by the benchmark itself: ``--albu DIR OUT --jobs N`` runs the Albumentations loop.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import Record, Task, parse_args, read_source, run_main, write_output  # noqa: E402

SIZE = 640
RECIPE = f"""version: 1
seed: 0
input: {{layout: flat}}
output: {{format: jpeg, quality: 90, originals: skip}}
variants: 4
pipeline:
  - mosaic: {{size: [{SIZE}, {SIZE}]}}
"""

_PIPELINE: Any = None


def _pipeline() -> Any:
    global _PIPELINE
    if _PIPELINE is None:
        import albumentations as A
        import cv2

        cv2.setNumThreads(1)  # --jobs N means N cores, as for augtool
        mosaic = A.Mosaic(
            grid_yx=(2, 2), target_size=(SIZE, SIZE), cell_shape=(SIZE, SIZE), fill=114, p=1.0
        )
        _PIPELINE = A.Compose([mosaic])
    return _PIPELINE


def mosaic_task(
    task: Task, input_root: str, output_root: str, options: dict[str, Any]
) -> list[Record]:
    import cv2
    import numpy as np

    pipeline = _pipeline()
    data, source_sha = read_source(input_root, task)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    others = [name for name in options["files"] if name != task.source]
    decoded: dict[str, Any] = {}
    records = []
    for name, seed in zip(task.outputs, task.seeds, strict=True):
        partners = random.Random(seed).choices(others, k=3)
        for partner in partners:
            if partner not in decoded:
                raw = (Path(input_root) / partner).read_bytes()
                decoded[partner] = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
        pipeline.set_random_seed(seed)
        metadata = [{"image": decoded[p]} for p in partners]
        out = pipeline(image=image, mosaic_metadata=metadata)["image"]
        ok, encoded = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            raise RuntimeError(f"{task.source}: JPEG encoding failed")
        records.append(write_output(output_root, name, encoded.tobytes(), source_sha))
    return records


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=HERE.parent)
    return time.perf_counter() - started


def _outputs(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*.jpg"))


def compare(data: Path, jobs: int, rounds: int) -> dict[str, Any]:
    """Alternate whole processes of both contenders; their median seconds and the ratio."""
    work = Path(tempfile.mkdtemp(prefix="augtool-mosaic-"))
    recipe = work / "mosaic.yaml"
    recipe.write_text(RECIPE)
    commands = {
        "augtool": [sys.executable, "-m", "augtool", "expand", str(recipe), str(data), "-o",
                    str(work / "augtool"), "--jobs", str(jobs), "--quiet"],
        "albu": [sys.executable, str(Path(__file__).resolve()), "--albu", str(data),
                 str(work / "albu"), "--jobs", str(jobs)],
    }  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in commands}
    try:
        for round_ in range(rounds):
            order = list(commands) if round_ % 2 == 0 else list(reversed(commands))
            for name in order:
                shutil.rmtree(work / name, ignore_errors=True)
                times[name].append(_timed(commands[name]))
                if _outputs(work / name) != 4 * len(list(data.glob("*.jpg"))):
                    raise SystemExit(f"{name} wrote {_outputs(work / name)} outputs")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "jobs": jobs,
        "rounds": rounds,
        "seconds": {name: [round(v, 3) for v in values] for name, values in times.items()},
        "median": {name: round(v, 3) for name, v in medians.items()},
        "augtool_over_albu": round(medians["augtool"] / medians["albu"], 3),
    }


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--albu"]:
        args = parse_args(__doc__.split("\n\n")[0], argv[1:])
        files = sorted(p.name for p in args.input.iterdir() if p.suffix.lower() == ".jpg")
        run_main(mosaic_task, args, {"files": files})
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=120, help="sources (640x480 JPEGs)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("/tmp/augtool-bench"))
    args = parser.parse_args(argv)
    from make_dataset import make_dataset

    data = args.data / f"mosaic-640x480-{args.count}"
    make_dataset(data, args.count, (640, 480), seed=0)
    print(json.dumps({"sources": args.count, **compare(data, args.jobs, args.rounds)}))


if __name__ == "__main__":
    main()
