"""Running and replaying an audio pipeline: the image pipeline's rules for clips.

Each step, fired or not, leaves a record ``{name, fired, params[, steps]}``; blocks (``one_of``,
``some_of``, ``sequence``: the image medium's, built by the recipe loader) pick children as
they do for images. The last record of every variant is ``clip``: how many samples lay beyond
full scale (±1.0) and were clipped when the variant was written, so clipping is never silent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from augtool.media.audio.transforms.base import AudioTransform, Clip
from augtool.media.blocks import choose, fired_leaves

Record = dict[str, Any]
CLIP = "clip"


def run(
    steps: list[Any],
    samples: np.ndarray,
    rate: int,
    rng: np.random.Generator,
    resources: Any = None,
) -> tuple[np.ndarray, list[Record]]:
    """Sample and apply ``steps`` in order: the new samples and one record per step, then the
    ``clip`` record. ``resources`` are handed to the steps that declare them."""
    state = [samples]
    records = [_run_step(step, state, rate, rng, False, resources) for step in steps]
    return state[0], [*records, clip_record(state[0])]


def _run_step(
    step: Any,
    state: list[np.ndarray],
    rate: int,
    rng: np.random.Generator,
    forced: bool,
    resources: Any,
) -> Record:
    fired = float(rng.random()) < step.p or forced
    if isinstance(step, AudioTransform):
        if not fired:
            return {"name": step.name, "fired": False, "params": {}}
        frames, channels = state[0].shape
        extra = _extra(type(step), resources)
        params = step.sample(rng, Clip(frames, channels, rate), **extra)
        state[0] = _finite(step.apply(state[0], rate, params, **extra))
        return {"name": step.name, "fired": True, "params": params}
    if not fired:
        return {"name": step.kind, "fired": False, "params": {}, "steps": []}
    chosen = choose(step, rng)
    forced_children = step.kind != "sequence"
    children = [
        _run_step(step.children[i], state, rate, rng, forced_children, resources) for i in chosen
    ]
    params = {} if step.kind == "sequence" else {"chosen": chosen}
    return {"name": step.kind, "fired": True, "params": params, "steps": children}


def _extra(cls: type[AudioTransform], resources: Any) -> dict[str, Any]:
    """The keyword a step that reads resource files takes (none for the others)."""
    return {"resources": resources} if cls.resources else {}


def replay(
    records: list[Record], samples: np.ndarray, rate: int, resources: Any = None
) -> np.ndarray:
    """Re-apply recorded steps: a pure function of the samples, their rate, the records and
    the resource files (verified against their hashes as they are read)."""
    from augtool.media.audio.transforms import REGISTRY

    for record in fired_leaves(records):
        if record["name"] == CLIP:
            continue  # a count, not a step: the encoder clips
        cls = REGISTRY[record["name"]]
        extra = _extra(cls, resources)
        samples = _finite(cls.apply(samples, rate, record["params"], **extra))
    return samples


def clip_record(samples: np.ndarray) -> Record:
    """How many samples lie beyond full scale, and the peak, as the last record."""
    over = int(np.count_nonzero(np.abs(samples) > 1.0))
    if not over:
        return {"name": CLIP, "fired": False, "params": {}}
    peak = float(np.max(np.abs(samples)))
    return {"name": CLIP, "fired": True, "params": {"samples": over, "peak": round(peak, 6)}}


def _finite(samples: np.ndarray) -> np.ndarray:
    """A kernel's output without NaN or infinities (silence in their place)."""
    if np.isfinite(samples).all():
        return samples
    return np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)


__all__ = ["CLIP", "clip_record", "replay", "run"]
