"""Dataset layouts as plug-ins: each finds its sources and their labels, reads them into
:class:`~augtool.media.image.targets.Targets`, writes them back moved, and makes the dataset's
own files (:mod:`augtool.layouts.base` is the protocol, :mod:`augtool.layouts.registry` the
registry). Label coordinates always refer to the displayed image (EXIF orientation applied), as
the tools that make them show it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from augtool.layouts.base import AnnotationError, LabelRules, Layout, Moved, SourceLabels

if TYPE_CHECKING:
    from augtool.layouts.labelfiles import LabelFormat
    from augtool.layouts.masks import MaskFormat
    from augtool.layouts.yolo import YoloFormat

#: The label formats, imported when first named: they load numpy and Pillow, which a command
#: that only reads manifests (``validate manifest``) does without.
_FORMATS = {
    "LabelFormat": "augtool.layouts.labelfiles",
    "MaskFormat": "augtool.layouts.masks",
    "YoloFormat": "augtool.layouts.yolo",
}


def __getattr__(name: str) -> Any:
    module = _FORMATS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


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
