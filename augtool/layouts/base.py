"""What every annotation format provides."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from augtool.media.image.targets import Targets


class AnnotationError(Exception):
    """A label file that cannot be used; the message names the file and line."""


class LabelFormat:
    """A per-image label file format (one label file beside each image)."""

    name: ClassVar[str]
    #: The folder name that replaces ``images`` in an image's path, and the label file ending.
    folder: ClassVar[str]
    ending: ClassVar[str]

    def __init__(self, names: dict[int, str] | None = None) -> None:
        self.names = names or {}

    @classmethod
    def label_path(cls, image_path: str) -> str | None:
        """``images/train/x.jpg`` -> ``labels/train/x.txt``: the last ``images`` folder becomes
        the format's folder. None when the path has no ``images`` folder."""
        parts = image_path.split("/")
        for index in range(len(parts) - 2, -1, -1):
            if parts[index] == "images":
                parts[index] = cls.folder
                stem = os.path.splitext(parts[-1])[0]
                parts[-1] = stem + cls.ending
                return "/".join(parts)
        return None

    def read(self, data: bytes, path: str, size: tuple[int, int]) -> Targets:
        raise NotImplementedError

    def write(self, targets: Targets) -> bytes:
        raise NotImplementedError

    def describe(self, targets: Targets) -> dict[str, Any]:
        """What the manifest says about a written label file (counts, not contents)."""
        return {"objects": len(targets.boxes) + len(targets.polygons)}
