"""Annotation formats: read a source's labels into
:class:`~augtool.media.image.targets.Targets`, write them back in the same format after the
image's steps moved them.

A format knows where a source image's label file is (``label_path``), how to parse it and how to
write it. Label coordinates always refer to the displayed image (EXIF orientation applied), as
the tools that make them show it.
"""

from __future__ import annotations

from typing import Any

from augtool.layouts.base import AnnotationError, LabelFormat
from augtool.layouts.masks import MaskFormat
from augtool.layouts.yolo import YoloFormat
from augtool.media.image.targets import Targets

FORMATS: dict[str, type[LabelFormat]] = {"yolo": YoloFormat, "masks": MaskFormat}


def read_targets(
    layout: str,
    names: dict[int, str],
    size: tuple[int, int],
    where: str,
    label: bytes | None = None,
    coco: list[dict[str, Any]] | None = None,
) -> Targets | None:
    """A source's annotations as targets: its COCO annotations, or its label file (``label``,
    the bytes of the file at ``where``) in the layout's format; None when it has neither.
    Raises :class:`AnnotationError` naming ``where`` when they do not parse."""
    if coco is not None:
        from augtool.layouts.coco import to_targets

        return to_targets(coco, size, where)
    if label is not None:
        return FORMATS[layout](names).read(label, where, size)
    return None


__all__ = ["FORMATS", "AnnotationError", "LabelFormat", "MaskFormat", "YoloFormat", "read_targets"]
