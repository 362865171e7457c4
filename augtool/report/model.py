"""What a report collects: each side's statistics as columns, and each variant's score.

A side keeps one number per image and statistic (and one per box), never pixels, so the memory
a report needs grows by a few hundred bytes per file whatever the images' size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from augtool.report.stats import IMAGE_STATS

#: Per-image statistics kept for the quality checks only (not drift-tested).
QUALITY_STATS = ("luma_p05", "luma_p99")
#: Per-box statistics (detection): sizes and centres as fractions of the image's.
BOX_STATS: dict[str, str] = {
    "box_width": "fraction of the image width",
    "box_height": "fraction of the image height",
    "box_cx": "centre x, fraction of the width",
    "box_cy": "centre y, fraction of the height",
}
#: One box: its class name, then the values of BOX_STATS in order.
Box = tuple[str, float, float, float, float]


@dataclass
class Side:
    """One dataset of a report: the sources, the expanded dataset, or a folder."""

    name: str
    root: str
    layout: str
    detection: bool = False
    paths: list[str] = field(default_factory=list)
    numeric: dict[str, list[float]] = field(
        default_factory=lambda: {k: [] for k in (*IMAGE_STATS, *QUALITY_STATS)}
    )
    categories: dict[str, list[str]] = field(
        default_factory=lambda: {"format": [], "class": [], "split": []}
    )
    boxes_per_image: list[float] = field(default_factory=list)
    boxes: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in BOX_STATS})
    box_classes: list[str] = field(default_factory=list)
    #: each image's class (None: the layout gives none), aligned with ``paths``
    image_classes: list[str | None] = field(default_factory=list)
    dhashes: list[int] = field(default_factory=list)
    pixel_shas: list[str] = field(default_factory=list)
    unreadable: list[dict[str, str]] = field(default_factory=list)
    #: the dataset's medium: which statistics its files have (media_stats.STATS_BY_MEDIUM)
    medium: str = "image"
    #: text: every word of every row, lower-cased (the vocabulary overlap between two sides)
    vocabulary: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.medium != "image":
            from augtool.report.media_stats import STATS_BY_MEDIUM

            self.numeric = {k: [] for k in STATS_BY_MEDIUM[self.medium]}

    @property
    def stats(self) -> dict[str, str]:
        """The drift-tested numeric statistics of this side's medium, with their units."""
        from augtool.report.media_stats import STATS_BY_MEDIUM

        return STATS_BY_MEDIUM[self.medium]

    def add(
        self,
        path: str,
        stats: dict[str, Any],
        split: str | None,
        label: str | None,
        boxes: list[Box] | None,
    ) -> None:
        if self.medium != "image":
            self._add_media(path, stats, split, label)
            return
        self.paths.append(path)
        for key, column in self.numeric.items():
            column.append(float(stats[key]))
        self.categories["format"].append(str(stats["format"]))
        self.categories["split"].append("(none)" if split is None else split)
        self.image_classes.append(label)
        if label is not None:
            self.categories["class"].append(label)
        self.dhashes.append(int(stats["dhash"], 16))
        self.pixel_shas.append(str(stats["pixels_sha256"]))
        if boxes is not None:
            self.boxes_per_image.append(float(len(boxes)))
            for name, *values in boxes:
                self.box_classes.append(name)
                for key, value in zip(BOX_STATS, values, strict=True):
                    self.boxes[key].append(float(value))

    def _add_media(
        self, path: str, stats: dict[str, Any], split: str | None, label: str | None
    ) -> None:
        """An audio file (one value per statistic) or a text table (one per row)."""
        self.paths.append(path)
        self.categories["format"].append(str(stats["format"]))
        self.categories["split"].append("(none)" if split is None else split)
        self.image_classes.append(label)
        if label is not None:
            self.categories["class"].append(label)
        if self.medium == "text":
            self.numeric["tokens"].extend(float(n) for n in stats["tokens"])
            self.vocabulary.update(stats["vocabulary"])
            return
        for key, column in self.numeric.items():
            column.append(float(stats[key]))

    @property
    def rows(self) -> int:
        """Text: the rows read (of every file)."""
        return len(self.numeric.get("tokens", ()))

    @property
    def count(self) -> int:
        return len(self.paths)

    def columns(self) -> dict[str, tuple[str, list[Any]]]:
        """Every drift-tested column: name -> (kind, values); kind is ``numeric`` or
        ``categorical``."""
        found: dict[str, tuple[str, list[Any]]] = {
            key: ("numeric", self.numeric[key]) for key in self.stats
        }
        found["format"] = ("categorical", self.categories["format"])
        if self.categories["class"]:
            found["class"] = ("categorical", self.categories["class"])
        if self.detection:
            found["boxes_per_image"] = ("numeric", self.boxes_per_image)
            found.update({key: ("numeric", values) for key, values in self.boxes.items()})
            found["box_class"] = ("categorical", self.box_classes)
        return found


@dataclass(frozen=True)
class Variant:
    """An augmented file of an expansion and how far it moved from its source."""

    path: str
    source: str
    mix: str  # the steps that fired, in order, joined by " + " ("(none)": none fired)
    ssim: float | None
