"""Semantic-segmentation masks: a same-named PNG beside each image (``masks/`` for ``images/``),
one class id per pixel. Masks move with the image's geometric steps, sampled nearest (ids never
blend), and keep their ids; pixels brought in from outside the image are 0 (background)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from augtool.layouts.base import AnnotationError
from augtool.layouts.labelfiles import LabelFileLayout, LabelFormat, Prepared, missing_files
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


class MasksLayout(LabelFileLayout):
    """Images under an ``images/`` folder, each with a same-named PNG under ``masks/``; splits
    as ``images/<split>/`` or ``<split>/images/``. An image without its mask is skipped."""

    name = "masks"
    detect_order = 30
    format = MaskFormat
    label_required = True
    takes_partners = True
    target_kind = "masks"

    def detect(self, root: Path, candidates: list[str], split_names: set[str]) -> bool:
        return has_mask_folders(root)

    def prepare(self, root: Path, split_names: set[str]) -> Prepared:
        if not has_mask_folders(root):
            raise missing_files(
                root, "no masks/ folder beside an images/ one (a masks dataset's labels)"
            )
        return Prepared()

    def split_of(
        self, rel: str, folders: dict[str, tuple[str, ...]], names: set[str]
    ) -> str | bool | None:
        parts = rel.split("/")
        if len(parts) >= 3 and parts[0] == "images" and parts[1] in names:
            return parts[1]
        if len(parts) >= 3 and parts[1] == "images" and parts[0] in names:
            return parts[0]
        return None if parts[0] == "images" else False


def has_mask_folders(root: Path) -> bool:
    """A ``masks`` folder beside an ``images`` one, at the root or in a split folder."""
    for base in (root, *sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())):
        if (base / "images").is_dir() and (base / "masks").is_dir():
            return True
    return False
