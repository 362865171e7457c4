"""Where one output's CPU goes for the standard recipe (``standard.yaml``), stage by stage:
augtool's kernels (Pillow, and OpenCV with ``--opencv``) beside the Albumentations loop's
(``albumentations_loop.py``, its very ``A.Compose``).

Why: ``run.py``'s whole-process ratios say whether augtool keeps up; this says which stage it
loses on. Every stage runs in this process on the same decoded sources, each tool drawing its
own parameters with its own pipeline, and is timed in process CPU time (``time.process_time``)
over ``--rounds`` passes, the median kept, after one untimed pass. augtool's geometric steps are
timed as one stage, as they run: fused into one warp of the source, served from the source's
cache (:class:`~augtool.media.image.transforms.fusion.Reductions`) from the second variant
on. Left out, as only whole runs have them: start-up, planning, writing files, the manifest.

    python benchmarks/stages.py --count 40 --size 640x480
    python benchmarks/stages.py --count 40 --size 640x480 --opencv --json stages.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

VARIANTS = 4
#: per stage, the CPU seconds it took, summed over every output of one pass
Pass = dict[str, float]


class Clock:
    """CPU seconds of named stages, summed over one pass."""

    def __init__(self) -> None:
        self.spent: Pass = {}

    def time(self, stage: str, work: Callable[..., Any], *args: Any) -> Any:
        """``work(*args)``, its CPU time added to ``stage``'s."""
        started = time.process_time()
        result = work(*args)
        self.spent[stage] = self.spent.get(stage, 0.0) + time.process_time() - started
        return result


def augtool_pass(sources: list[bytes], kernels_name: str, clock: Clock) -> None:
    from augtool.media.image import codecs
    from augtool.media.image.medium import ImageMedium
    from augtool.media.image.transforms.compose import replay, run
    from augtool.recipe.model import load_recipe

    recipe = load_recipe(HERE / "standard.yaml")
    medium = ImageMedium()
    settings = codecs.encoder_settings("JPEG", int(recipe.output["quality"]))
    for index, data in enumerate(sources):
        decoded = clock.time("decode", codecs.decode, data, ["JPEG"])
        array = clock.time("decode", getattr, decoded, "image")
        cache = medium.new_cache()
        for variant in range(VARIANTS):
            rng = np.random.Generator(np.random.PCG64([index, variant]))
            # The records are drawn untimed; each group of them is then applied as expand does.
            _, records = run(list(recipe.steps), array, rng, kernels_name)
            image = array
            for stage, group in _groups(records):
                image = clock.time(stage, replay, group, image, kernels_name, cache)
            encoded = clock.time("encode JPEG", codecs.encode, image, settings)
            clock.time("sha256", _sha256, encoded)


GEOMETRIC = "geometric steps (fused)"


def _groups(records: list[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The fired steps in order, consecutive geometric steps as one group (one fused warp)."""
    from augtool.media.transform import REGISTRY

    geometric: list[dict[str, Any]] = []
    for record in records:
        if not record["fired"]:
            continue
        if getattr(REGISTRY[record["name"]], "geometry", None) is not None:
            geometric.append(record)
            continue
        if geometric:
            yield GEOMETRIC, geometric
            geometric = []
        yield record["name"], [record]
    if geometric:
        yield GEOMETRIC, geometric


def _sha256(data: Any) -> str:
    return hashlib.sha256(data).hexdigest()


def _call(step: Any, image: np.ndarray) -> np.ndarray:
    return step(image=image)["image"]


def albumentations_pass(sources: list[bytes], clock: Clock) -> None:
    import cv2
    from albumentations_loop import _pipeline

    pipeline = _pipeline(1)
    params = [cv2.IMWRITE_JPEG_QUALITY, 90]
    for index, data in enumerate(sources):
        buffer = np.frombuffer(data, np.uint8)
        decoded = clock.time("decode", cv2.imdecode, buffer, cv2.IMREAD_COLOR)
        for variant in range(VARIANTS):
            pipeline.set_random_seed(index * VARIANTS + variant)
            image = decoded
            for step in pipeline.transforms:
                name = type(step).__name__
                image = clock.time(name, _call, step, image)
            _, encoded = clock.time("encode JPEG", cv2.imencode, ".jpg", image, params)
            clock.time("sha256", _sha256, encoded)


def measure(work: Callable[[Clock], None], rounds: int, outputs: int) -> dict[str, float]:
    """Median milliseconds an output of each stage over ``rounds`` timed passes."""
    work(Clock())  # warm-up: imports, caches, the allocator
    passes = []
    for _ in range(rounds):
        clock = Clock()
        work(clock)
        passes.append(clock.spent)
    stages = {stage: [p.get(stage, 0.0) for p in passes] for stage in passes[0]}
    table = {stage: statistics.median(v) / outputs * 1000 for stage, v in stages.items()}
    table["total"] = statistics.median(sum(p.values()) for p in passes) / outputs * 1000
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=40, help="sources (4 outputs each)")
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT of the sources")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes (the median is kept)")
    parser.add_argument("--opencv", action="store_true", help="also augtool's OpenCV kernels")
    parser.add_argument("--data", type=Path, default=Path("/tmp/augtool-bench"))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    from run import dataset

    from augtool.run.allocator import keep_freed_memory

    keep_freed_memory()  # as expand's rendering processes do
    width, height = (int(v) for v in args.size.split("x"))
    folder = dataset(args.data, args.count, (width, height))
    sources = [path.read_bytes() for path in sorted(folder.glob("*.jpg"))]
    outputs = len(sources) * VARIANTS
    kernels = ["pillow", "opencv"] if args.opencv else ["pillow"]
    # Albumentations loads OpenCV, which augtool's lookup tables then use (the same bytes):
    # augtool's Pillow kernels are timed first, while OpenCV is not loaded, as in a bare run.
    figures: dict[str, dict[str, float]] = {}
    for name in kernels:
        figures[f"augtool ({name} kernels)"] = measure(
            lambda clock, name=name: augtool_pass(sources, name, clock), args.rounds, outputs
        )
    figures["Albumentations loop"] = measure(
        lambda clock: albumentations_pass(sources, clock), args.rounds, outputs
    )
    print(f"{len(sources)} sources of {args.size}, {outputs} outputs; CPU ms an output, "
          f"median of {args.rounds} passes; load average {os.getloadavg()[0]:.1f}\n")  # fmt: skip
    for contender, table in figures.items():
        print(f"| {contender} | ms |\n|---|---|")
        for stage, ms in table.items():
            print(f"| {stage} | {ms:.2f} |")
        print()
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
