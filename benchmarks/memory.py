"""Peak memory of ``augtool expand`` per transform, for one large source (8000x6000 by default).

Why one process per transform: a process's high-water mark only rises, so each transform runs
alone in a fresh interpreter (``--jobs 1``: the source is rendered in that process, no pool), and
the child reports its own peak resident set (``ru_maxrss``) once the command is done. The
``(none)`` row is an empty pipeline: decode, encode and write, the floor every transform adds to.
Each transform runs once (``p: 1``) with its default parameters and one variant, written as JPEG.

The source is synthetic (smooth colour ramps plus grain, JPEG q90): memory depends on the size,
not on what the picture shows. It is made once into ``--data`` and reused.

    python benchmarks/memory.py                       # every transform, 8000x6000
    python benchmarks/memory.py --only color_jitter,sharpen --size 4000x3000

Prints a Markdown table (MiB), and with ``--json`` one JSON object per transform.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
NONE = "(none)"


def make_source(folder: Path, width: int, height: int) -> Path:
    """A deterministic ``width`` x ``height`` JPEG in ``folder`` (made once, then reused)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"source_{width}x{height}.jpg"
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    image = np.empty((height, width, 3), dtype=np.uint8)
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)
    for top in range(0, height, 500):  # in bands: a whole-image float ramp would be 0.5 GB
        ys = np.linspace(top / height, min(top + 500, height) / height, 500, dtype=np.float32)
        ys = ys[: min(500, height - top), None]
        band = np.stack([xs[None, :] * 200 + 30 * ys, ys * 220 + 0 * xs, (1 - xs) * ys * 255], 2)
        band += rng.normal(0.0, 6.0, band.shape).astype(np.float32)
        image[top : top + 500] = np.clip(band, 0, 255).astype(np.uint8)
    Image.fromarray(image, "RGB").save(path, quality=90)
    return path


def child(name: str, source: Path, work: Path) -> dict[str, float]:
    """Run ``augtool expand`` on the source with only ``name``, in this process; peak MiB."""
    from augtool.cli import app

    steps = "[]" if name == NONE else f"[{{{name}: {{p: 1}}}}]"
    recipe = work / "recipe.yaml"
    recipe.write_text(
        f"version: 1\nvariants: 1\noutput: {{format: jpeg, originals: skip}}\npipeline: {steps}\n",
        encoding="utf-8",
    )
    source_dir = work / "in"
    source_dir.mkdir()
    # A copy, not a link: augtool skips links that leave the input folder.
    shutil.copyfile(source, source_dir / source.name)
    args = ["expand", str(recipe), str(source_dir), "-o", str(work / "out"), "--jobs", "1"]
    try:
        app(args, standalone_mode=False)
    except SystemExit as exc:  # typer exits 0 on success in some versions
        if exc.code not in (0, None):
            raise
    made = len(list((work / "out").rglob("*__v*")))
    if made != 1:
        raise RuntimeError(f"{name}: expected one output, made {made}")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"peak_mib": max(own, children) / 1024, "outputs": made}


def measure(name: str, source: Path) -> dict[str, float]:
    """One fresh interpreter per transform: its high-water mark is this transform's alone."""
    with tempfile.TemporaryDirectory(prefix="augtool-mem-") as work:
        cmd = [sys.executable, __file__, "--child", name, "--source", str(source), "--work", work]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{name}: exit {done.returncode}\n{done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def transform_names() -> list[str]:
    from augtool.media.image.transforms import REGISTRY

    return [NONE, *sorted(REGISTRY)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="8000x6000", help="WIDTHxHEIGHT of the source")
    parser.add_argument("--only", help="comma-separated transform names (default: all)")
    parser.add_argument("--data", type=Path, default=HERE / ".data" / "memory")
    parser.add_argument("--json", action="store_true", help="one JSON line per transform")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.source, args.work)))
        return
    width, height = (int(v) for v in args.size.lower().split("x"))
    source = make_source(args.data, width, height)
    names = args.only.split(",") if args.only else transform_names()
    if not args.json:
        print(f"Peak RSS of `augtool expand --jobs 1`, one {width}x{height} source, one variant\n")
        print("| transform | peak MiB |\n|---|---|")
    for name in names:
        result = measure(name, source)
        if args.json:
            print(json.dumps({"transform": name, **result}), flush=True)
        else:
            print(f"| {name} | {result['peak_mib']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
