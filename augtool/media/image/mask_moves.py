"""A class-id mask through the steps: the same resamplings as the image, sampled nearest so
that ids never blend, and laid out with the partners' masks by a synthesis step's mask kernel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from augtool.media.image.targets import Targets, UnsupportedTransform
from augtool.media.image.transforms import REGISTRY, SYNTHESIS, fired_leaves
from augtool.media.image.transforms.fusion import Applier
from augtool.media.transform import Params

Record = dict[str, Any]


def mask_params(params: Params) -> Params:
    """The image's params with nearest interpolation (class ids must not blend) and a fill of
    0 (background). Other border modes stay: reflected content gets its reflected class."""
    out = dict(params)
    if "interpolation" in out:
        out["interpolation"] = "nearest"
    if "fill" in out:
        out["fill"] = 0
    return out


def moved_mask(
    records: list[Record], mask: np.ndarray, kernels_name: str, partners: Sequence[Targets] = ()
) -> np.ndarray:
    """The mask through the fired geometric steps, grouped into resamplings exactly as the image
    is (``fusion.Applier``, with the image's kernels), with nearest sampling: it stays
    pixel-aligned with the image. A synthesis step lays it out with its partners' masks by its
    mask kernel; one without (``mixup`` mixes every pixel) raises ``UnsupportedTransform``. A
    step with an ``apply_mask`` kernel (``mask_dropout``) edits the ids where it stands."""
    applier = Applier(mask[:, :, None], kernels_name)
    for record in fired_leaves(records):
        name, params = record["name"], record["params"]
        if name in SYNTHESIS:
            step = SYNTHESIS[name]
            theirs = [partners[int(slot)].mask for slot in params["partners"]]
            if not step.moves_masks or any(m is None for m in theirs):
                raise UnsupportedTransform(name)
            laid = step.blend_mask(applier.image()[:, :, 0], theirs, params)  # type: ignore[arg-type]
            applier = Applier(laid[:, :, None], kernels_name)
        elif name in REGISTRY and REGISTRY[name].family == "geometric":
            applier.feed(name, mask_params(params))
        elif hasattr(REGISTRY.get(name), "apply_mask"):  # a step that edits the mask's ids
            edited = REGISTRY[name].apply_mask(applier.image()[:, :, 0], params)  # type: ignore[attr-defined]
            applier = Applier(edited[:, :, None], kernels_name)
    return np.ascontiguousarray(applier.image()[:, :, 0])


__all__ = ["mask_params", "moved_mask"]
