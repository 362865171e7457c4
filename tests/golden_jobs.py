"""The jobs whose every output byte is pinned by ``tests/golden/outputs.json``: each bundled
sample config, plus the kernels, layout and output settings the configs do not reach."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

#: name -> (config, changes to the recipe)
JOBS: dict[str, tuple[str, dict]] = {
    "quickstart": ("quickstart", {}),
    "classification": ("classification", {}),
    "detection-yolo": ("detection-yolo", {}),
    "detection-coco": ("detection-coco", {}),
    "segmentation": ("segmentation", {}),
    "quickstart-opencv": ("quickstart", {"kernels": "opencv"}),
    "flat-png-skip": (
        "quickstart",
        {
            "input": {"path": "../samples/photos/train/cat", "layout": "flat"},
            "output": {"format": "png", "originals": "skip", "strip_metadata": False},
        },
    ),
    "coco-opencv-webp": ("detection-coco", {"kernels": "opencv", "output": {"format": "webp"}}),
}


def library_versions() -> dict[str, str]:
    import cv2
    import numpy
    import PIL

    return {"numpy": numpy.__version__, "pillow": PIL.__version__, "opencv": cv2.__version__}


def _merged(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def run_job(name: str, out: Path, jobs: int) -> Path:
    """Expand job ``name`` into ``out`` with ``--jobs jobs`` through the real entry point."""
    config, changes = JOBS[name]
    recipe = yaml.safe_load((ROOT / "configs" / f"{config}.yaml").read_text())
    recipe = _merged(recipe, changes)
    # Written as in the configs: from the configs folder; the temporary recipe lies elsewhere.
    input_path = str((ROOT / "configs" / recipe["input"]["path"]).resolve())
    recipe["input"] = {**recipe["input"], "path": input_path}
    recipe["output"] = {**recipe["output"], "path": str(out)}
    out.parent.mkdir(parents=True, exist_ok=True)
    recipe_file = out.parent / f"{name}.yaml"
    recipe_file.write_text(yaml.safe_dump(recipe, sort_keys=False))
    subprocess.run(
        [sys.executable, "-m", "augtool", "expand", str(recipe_file), "-q", "-j", str(jobs)],
        check=True,
        cwd=out.parent,
    )
    return out
