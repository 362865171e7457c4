"""The audio competitor: a hand-written audiomentations loop doing ``benchmarks/audio.yaml``.

Same scheduling, I/O and hashing as augtool (``_harness.execute``: in-process for small jobs,
else loky batches of four sources), each source read and decoded once with soundfile, then per
variant:

    Gain(-6..6 dB) -> AddGaussianSNR(15..35 dB) -> PitchShift(-2..2 semitones, p=0.5; its
    default signalsmith_stretch method, C++) -> LowPassFilter(2000..6000 Hz, p=0.5)
    -> TimeMask(p=0.5) -> soundfile WAV PCM_16 -> sha256 -> write.

    python benchmarks/audiomentations_loop.py DIR OUT --jobs 2
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Record, Task, execute, read_source, write_output

_PIPELINE: Any = None


def _pipeline() -> Any:
    """One Compose per process, built on first use (in the worker, not pickled to it)."""
    global _PIPELINE
    if _PIPELINE is None:
        import audiomentations as A

        _PIPELINE = A.Compose(
            [
                A.Gain(min_gain_db=-6, max_gain_db=6, p=1.0),
                A.AddGaussianSNR(min_snr_db=15, max_snr_db=35, p=1.0),
                A.PitchShift(min_semitones=-2, max_semitones=2, p=0.5),
                A.LowPassFilter(min_cutoff_freq=2000, max_cutoff_freq=6000, p=0.5),
                A.TimeMask(p=0.5),
            ]
        )
    return _PIPELINE


def audiomentations_task(
    task: Task, input_root: str, output_root: str, options: dict[str, Any]
) -> list[Record]:
    import numpy as np
    import soundfile

    pipeline = _pipeline()
    data, source_sha = read_source(input_root, task)
    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32")
    records = []
    for name, seed in zip(task.outputs, task.seeds, strict=True):
        np.random.seed(seed % 2**32)  # audiomentations draws from numpy's global generator
        out = pipeline(samples=samples, sample_rate=rate)
        buffer = io.BytesIO()
        soundfile.write(buffer, out, rate, subtype="PCM_16", format="WAV")
        records.append(write_output(output_root, name, buffer.getvalue(), source_sha))
    return records


def plan(input_root: Path, variants: int) -> list[Task]:
    files = sorted(p.name for p in input_root.iterdir() if p.suffix == ".wav")
    return [
        Task(
            name,
            tuple(f"{Path(name).stem}__v{v:02d}.wav" for v in range(variants)),
            tuple(i * variants + v for v in range(variants)),
        )
        for i, name in enumerate(files)
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--jobs", "-j", type=int, default=1)
    parser.add_argument("--variants", type=int, default=4)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tasks = plan(args.input, args.variants)
    args.output.mkdir(parents=True, exist_ok=True)
    inp, out = str(args.input.resolve()), str(args.output.resolve())
    outputs = 0
    with open(args.output / "manifest.jsonl", "w", encoding="utf-8") as manifest:
        for records in execute(audiomentations_task, tasks, inp, out, args.jobs, {}):
            for record in records:
                manifest.write(json.dumps(record) + "\n")
            outputs += len(records)
    seconds = round(time.perf_counter() - started, 3)
    print(json.dumps({"sources": len(tasks), "outputs": outputs, "seconds": seconds}))


if __name__ == "__main__":
    main()
