"""Dataset layouts as plug-ins: each finds its sources and their labels, reads them into
:class:`~augtool.media.image.targets.Targets`, writes them back moved, and makes the dataset's
own files (:mod:`augtool.layouts.base` is the protocol, :mod:`augtool.layouts.registry` the
registry). Label coordinates always refer to the displayed image (EXIF orientation applied), as
the tools that make them show it.
"""

from __future__ import annotations

from augtool.layouts.base import AnnotationError, LabelRules, Layout, Moved, SourceLabels
from augtool.layouts.labelfiles import LabelFormat
from augtool.layouts.masks import MaskFormat
from augtool.layouts.yolo import YoloFormat

__all__ = [
    "AnnotationError",
    "LabelFormat",
    "LabelRules",
    "Layout",
    "MaskFormat",
    "Moved",
    "SourceLabels",
    "YoloFormat",
]
