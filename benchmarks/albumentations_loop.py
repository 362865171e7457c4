"""(c) The competitor: a hand-written Albumentations 2.x + OpenCV loop doing the standard recipe.

Why: augtool's speed target is relative to what a user would otherwise write. This is that
script, written the way the Albumentations documentation suggests (OpenCV decode and encode,
one ``A.Compose``), with the same scheduling, I/O and hashing as augtool (see ``_harness``):

    cv2.imdecode -> per variant: HorizontalFlip(0.5) -> Rotate(+-15, constant border, p=1)
    -> RandomResizedCrop(384x512, scale 0.6-1, ratio 3/4-4/3) -> RandomBrightnessContrast(0.2,
    0.2, p=1) -> GaussNoise(std 1-3 % of 255, p=1) -> cv2.imencode(JPEG q90) -> sha256 -> write.

Choices that favour the competitor, on purpose (the target must hold against its best honest
form): the image stays BGR end to end (no cvtColor pair), RandomResizedCrop keeps its default
INTER_LINEAR without anti-aliasing (augtool's crop is anti-aliased), the output is a plain write
(augtool writes atomically). OpenCV is limited to ``--cv-threads`` threads per process (default
1) so that ``--jobs N`` means N cores, as for augtool; ``--cv-threads 0`` leaves OpenCV's default.

NO_ALBUMENTATIONS_UPDATE=1 is set before the import: Albumentations otherwise asks PyPI for a
newer version at import time, a network call inside the timed process.

    python benchmarks/albumentations_loop.py DIR OUT --jobs 2
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Record, Task, parse_args, read_source, run_main, write_output

_PIPELINE: Any = None


def _pipeline(cv_threads: int) -> Any:
    """One Compose per process, built on first use (in the worker, not pickled to it)."""
    global _PIPELINE
    if _PIPELINE is None:
        os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
        import albumentations as A
        import cv2

        if cv_threads > 0:
            cv2.setNumThreads(cv_threads)
        _PIPELINE = A.Compose(
            [
                A.HorizontalFlip(p=0.5),
                A.Rotate(limit=15, border_mode=cv2.BORDER_CONSTANT, fill=0, p=1.0),
                A.RandomResizedCrop(size=(384, 512), scale=(0.6, 1.0), ratio=(0.75, 4 / 3)),
                A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, p=1.0),
                A.GaussNoise(std_range=(0.01, 0.03), p=1.0),
            ]
        )
    return _PIPELINE


def albumentations_task(
    task: Task, input_root: str, output_root: str, options: dict[str, Any]
) -> list[Record]:
    """Decode once with OpenCV; per variant augment, encode, hash, write."""
    import cv2
    import numpy as np

    pipeline = _pipeline(options["cv_threads"])
    data, source_sha = read_source(input_root, task)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return []
    params = [cv2.IMWRITE_JPEG_QUALITY, 90]
    records = []
    for name, seed in zip(task.outputs, task.seeds, strict=True):
        pipeline.set_random_seed(seed)
        augmented = pipeline(image=image)["image"]
        ok, encoded = cv2.imencode(".jpg", augmented, params)
        if not ok:
            raise RuntimeError(f"{task.source}: JPEG encoding failed")
        records.append(write_output(output_root, name, encoded.tobytes(), source_sha))
    return records


def main(argv: list[str] | None = None) -> None:
    def extra(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--cv-threads", type=int, default=1, help="OpenCV threads per process (0: default)"
        )

    args = parse_args(__doc__.split("\n\n")[0], argv, extra)
    run_main(albumentations_task, args, {"cv_threads": args.cv_threads})


if __name__ == "__main__":
    main()
