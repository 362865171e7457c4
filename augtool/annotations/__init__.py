"""Annotation formats: read a source's labels into :class:`~augtool.targets.Targets`, write them
back in the same format after the image's steps moved them.

A format knows where a source image's label file is (``label_path``), how to parse it and how to
write it. Label coordinates always refer to the displayed image (EXIF orientation applied), as
the tools that make them show it.
"""

from __future__ import annotations

from augtool.annotations.base import AnnotationError, LabelFormat
from augtool.annotations.masks import MaskFormat
from augtool.annotations.yolo import YoloFormat

FORMATS: dict[str, type[LabelFormat]] = {"yolo": YoloFormat, "masks": MaskFormat}

__all__ = ["FORMATS", "AnnotationError", "LabelFormat", "MaskFormat", "YoloFormat"]
