"""Per-class balancing of a dataset whose layout labels objects (``Layout.object_labels``):
classes are counted in instances (boxes and polygons), and an image holding several classes
counts toward each of them (docs/governance.md, "Detection datasets").

Each variant of an image is planned to carry every instance of its source, so it adds the
source's whole row of the instance matrix ``K`` (sources x classes) to the counts. The plan is a
greedy rule, one variant at a time, until no targeted class lacks instances:

1. the class that lacks the most instances (ties: the first by name) is served next;
2. among the sources holding it that have fewer than ``max_variants`` variants, the one whose
   variant has the best *net gain* is chosen: the instances it adds toward classes that still
   lack some (each class counted up to what it lacks) less the instances it adds beyond that;
   then the larger gain; then the source with fewer variants so far (so equal images share
   evenly); then the first in the order of :func:`augtool.run.balance.rank_key` (its own path
   and the seed, never the listing order);
3. a class none of whose sources can take another variant is given up, with a warning naming it.

So when every image holds one instance of one class the counts are those of classification
(``E // n`` each, one more for the first ``E % n`` in hash order) and each class reaches its
target exactly; an image holding several instances can carry a class past its target when no
image with fewer would do, and variants made for one class add the other classes their images
hold. The planned ``after`` counts say exactly where each class ends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from augtool.errors import InputError
from augtool.layouts.base import AnnotationError
from augtool.layouts.discovery import Dataset
from augtool.report.labels import LabelReader


def count_instances(dataset: Dataset, root: Path) -> dict[str, Counter[str]]:
    """The instances of each class in every augmented source (an empty count for an image
    without labels). Raises :class:`InputError` naming a source whose labels cannot be read."""
    from PIL import Image

    reader = LabelReader(root, dataset)
    held: dict[str, Counter[str]] = {}
    for source in dataset.sources:
        if not source.augment:
            continue
        try:
            with Image.open(root / source.path) as picture:
                width, height = picture.size  # the header alone: nothing is decoded
            names = reader.instances(source, (height, width))
        except (OSError, ValueError, AnnotationError) as exc:
            raise InputError(f"{source.path}: balance cannot count its instances: {exc}") from None
        held[source.path] = Counter(names)
    return held


def plan_instances(
    held: Mapping[str, Counter[str]],
    targets: Mapping[str, int],
    most: int,
    order: list[str],
) -> tuple[dict[str, int], list[str]]:
    """Each source's variant count under the greedy rule of this module, and the classes given
    up (unreachable within ``most`` variants a source). ``order`` lists the sources in their
    final tie-break order (:func:`augtool.run.balance.rank_key`)."""
    classes = sorted({name for count in held.values() for name in count})
    matrix = np.array([[held[p][c] for c in classes] for p in order], dtype=np.int64)
    matrix = matrix.reshape(len(order), len(classes))
    wanted = np.array([targets.get(c, 0) for c in classes], dtype=np.int64)
    have = matrix.sum(axis=0)
    variants = np.zeros(len(order), dtype=np.int64)
    given_up: list[str] = []
    open_classes = np.array([c in targets for c in classes], dtype=bool)
    while True:
        lacking = np.where(open_classes, np.maximum(wanted - have, 0), 0)
        if not lacking.any():
            break
        served = int(np.argmax(lacking))  # the first of the largest: classes are in name order
        free = np.flatnonzero((matrix[:, served] > 0) & (variants < most))
        if free.size == 0:
            open_classes[served] = False
            given_up.append(classes[served])
            continue
        rows = matrix[free]
        gain = np.minimum(rows, lacking).sum(axis=1)
        net = 2 * gain - rows.sum(axis=1)  # gain less the instances beyond any lack
        # lexsort: the last key is the first compared; free is already in tie-break order
        best = free[np.lexsort((np.arange(free.size), variants[free], -gain, -net))[0]]
        variants[best] += 1
        have += matrix[best]
    counts = {path: int(n) for path, n in zip(order, variants, strict=True)}
    return counts, given_up
