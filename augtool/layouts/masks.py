"""Semantic-segmentation masks: a same-named PNG beside each image (``masks/`` for ``images/``),
one class id per pixel. Masks move with the image's geometric steps, sampled nearest (ids never
blend), and keep their ids; pixels brought in from outside the image are 0 (background)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from augtool.layouts.base import AnnotationError, LabelFormat
from augtool.media.image.codecs import error_text
from augtool.media.image.targets import Targets


class MaskFormat(LabelFormat):
    name = "masks"
    folder = "masks"
    ending = ".png"

    def read(self, data: bytes, path: str, size: tuple[int, int]) -> Targets:
        try:
            with Image.open(io.BytesIO(data), formats=["PNG"]) as img:
                img.load()
                if img.mode not in ("L", "P", "1"):
                    raise AnnotationError(
                        f"{path}: a mask must hold one class id per pixel (mode L or P), "
                        f"not {img.mode}"
                    )
                mask = np.array(img, dtype=np.uint8)
                palette = img.getpalette() if img.mode == "P" else None
        except UnidentifiedImageError:
            raise AnnotationError(f"{path}: not a PNG mask") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise AnnotationError(f"{path}: not a PNG mask: {error_text(exc)}") from None
        if mask.shape != tuple(size):
            raise AnnotationError(
                f"{path}: the mask is {mask.shape[1]}x{mask.shape[0]}, "
                f"the image {size[1]}x{size[0]}"
            )
        return Targets(
            size,
            boxes=np.zeros((0, 4)),
            mask=mask,
            mask_palette=None if palette is None else tuple(palette),
        )

    def write(self, targets: Targets) -> bytes:
        """A PNG of the mask: mode P with the source's palette when it had one (the colours a
        viewer shows stay those of the originals), else mode L."""
        assert targets.mask is not None
        image = Image.fromarray(np.ascontiguousarray(targets.mask), "L")
        if targets.mask_palette is not None:
            image.putpalette(targets.mask_palette)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=6)
        return buffer.getvalue()

    def describe(self, targets: Targets) -> dict[str, object]:
        assert targets.mask is not None
        return {"classes": [int(v) for v in np.unique(targets.mask)]}
