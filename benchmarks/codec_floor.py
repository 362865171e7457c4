"""(b) The codec floor: what expanding a dataset costs with no augmentation at all.

Why: it is the least any tool that reads JPEGs and writes JPEGs with provenance hashes can spend
(read + sha256 + one Pillow decode per source; per variant: Pillow JPEG encode q90 4:2:0, sha256,
write). ``augtool`` over this floor says how much its transforms and framework add.

``--crop WIDTHxHEIGHT`` encodes the top-left window of that size (sliced once per source, no
resampling), so the floor writes outputs of the same size as the standard recipe (512x384);
without it every variant is the whole decoded source, as ``benchmarks/reencode.yaml`` writes.

    python benchmarks/codec_floor.py DIR OUT --jobs 2 [--crop 512x384]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Record, Task, parse_args, read_source, run_main, write_output


def floor_task(
    task: Task, input_root: str, output_root: str, options: dict[str, Any]
) -> list[Record]:
    """Decode once; per variant encode, hash, write: no transform."""
    import numpy as np
    from PIL import Image

    data, source_sha = read_source(input_root, task)
    with Image.open(io.BytesIO(data), formats=["JPEG"]) as img:
        img.load()
        # A writable copy: Pillow's fromarray copies a read-only view again on every encode.
        pixels = np.array(img.convert("RGB") if img.mode != "RGB" else img)
    crop = options.get("crop")
    if crop is not None:
        width, height = crop
        pixels = np.ascontiguousarray(pixels[:height, :width])
    records = []
    for name in task.outputs:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=90, subsampling=2, optimize=False)
        records.append(write_output(output_root, name, buffer.getvalue(), source_sha))
    return records


def main(argv: list[str] | None = None) -> None:
    from make_dataset import parse_size

    def extra(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--crop", type=parse_size, help="encode this WIDTHxHEIGHT window")

    args = parse_args(__doc__.split("\n\n")[0], argv, extra)
    run_main(floor_task, args, {"crop": args.crop})


if __name__ == "__main__":
    main()
