"""An audio worker process imports what audio needs, not the image transforms nor Pillow.

Each loky worker starts a fresh interpreter and imports what the batches it unpickles name:
importing every image transform family (and Pillow) there cost each audio worker CPU for
nothing. The check runs in a fresh interpreter, as a worker does.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

from augtool.recipe.model import load_recipe

RECIPE = """\
version: 1
seed: 3
variants: 1
input: {layout: flat, extensions: [.wav]}
pipeline:
  - gain: {gain_db: [-6, 6]}
  - add_noise: {snr_db: [15, 35], color: [white, pink]}
  - pitch_shift: {semitones: [-2, 2], p: 0.5}
  - time_stretch: {rate: [0.9, 1.1], p: 0.5}
  - low_pass: {cutoff_hz: [2000, 6000], p: 0.5}
  - time_mask: {fraction: [0, 0.1], p: 0.5}
"""

WORKER = """\
import pickle, sys
import numpy as np
import augtool.run.worker
from augtool.media.audio.transforms.compose import run
steps = pickle.loads(sys.stdin.buffer.read())
t = np.arange(16000) / 16000
clip = (0.3 * np.sin(2 * np.pi * 440 * t))[:, None].astype(np.float32)
out, records = run(steps, clip, 16000, np.random.default_rng(0))
assert len(records) == len(steps) + 1 and out.shape[1] == 1
print("\\n".join(sorted(sys.modules)))
"""


def test_an_audio_worker_imports_no_image_transform_nor_pillow(tmp_path: Path) -> None:
    recipe = tmp_path / "audio.yaml"
    recipe.write_text(RECIPE)
    steps = pickle.dumps(load_recipe(recipe).steps)
    done = subprocess.run(
        [sys.executable, "-c", WORKER], input=steps, capture_output=True, check=True
    )
    modules = done.stdout.decode().split()
    assert "augtool.media.audio.transforms.time" in modules  # the steps did run here
    unneeded = [m for m in modules if m.startswith(("PIL", "augtool.media.image"))]
    assert unneeded == []
