"""Label files that the chosen layout does not read: skipped inputs, with a warning.

A dataset's labels that no layout reads would vanish from the output without a word: a Pascal
VOC folder taken as an ImageFolder (``JPEGImages/`` a class, ``Annotations/*.xml`` ignored), a
YOLO ``classes.txt``, a COCO JSON beside the images of a layout that does not look there. Files
named like labels (``.txt``, ``.xml``, ``.json``) beside an image of the dataset, or in a
``labels/`` or ``Annotations/`` folder, that the layout neither reads nor copies are recorded as
skipped inputs (so ``--strict`` fails on them) and named in one warning.
"""

from __future__ import annotations

import dataclasses
import posixpath

from augtool.layouts.base import Layout
from augtool.layouts.discovery import Dataset, Skip, Walk, sorted_skips

#: Folders that hold nothing but labels, whatever the case (VOC's ``Annotations``).
LABEL_FOLDERS = frozenset({"labels", "annotations"})
#: How many of them the warning names.
SHOWN = 5


def reason(layout: str) -> str:
    return f"a label file the {layout} layout does not read; it is not in the output"


def with_unread_labels(dataset: Dataset, walk: Walk, layout: Layout) -> Dataset:
    """``dataset`` with its unread label files added to its skipped inputs."""
    unread = unread_label_files(dataset, walk, layout)
    if not unread:
        return dataset
    why = reason(dataset.layout)
    skips = [*dataset.skipped, *(Skip(path, why) for path in unread)]
    return dataclasses.replace(dataset, skipped=sorted_skips(skips))


def unread_label_files(dataset: Dataset, walk: Walk, layout: Layout) -> list[str]:
    """The label-like files of the walk that the layout does not read, in path order."""
    if not walk.label_like:
        return []  # without a loop over the sources (streamed ones are read again)
    read = {s.annotation for s in dataset.sources if s.annotation is not None}
    read.update(dataset.extra_files)
    read.update(layout.derived_names(dataset.state))
    # The labels of an image skipped for them: the image's skip already says why.
    for skip in dataset.skipped:
        label = layout.label_path(skip.path)
        if label is not None:
            read.add(label)
    image_folders = {posixpath.dirname(path) for path in walk.candidates}
    image_folders.update(posixpath.dirname(skip.path) for skip in walk.skipped)
    unread = []
    for path in walk.label_like:
        if path in read:
            continue
        folder = posixpath.dirname(path)
        in_label_folder = any(part.lower() in LABEL_FOLDERS for part in folder.split("/"))
        if in_label_folder or folder in image_folders:
            unread.append(path)
    return unread


def unread_warning(dataset: Dataset) -> list[str]:
    """One warning naming the first few unread label files and their count (none: [])."""
    why = reason(dataset.layout)
    paths = [skip.path for skip in dataset.skipped if skip.reason == why]
    if not paths:
        return []
    more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
    return [
        f"{len(paths)} label file{'s' if len(paths) != 1 else ''} the {dataset.layout} layout "
        f"does not read, left out of the output: {', '.join(paths[:SHOWN])}{more}; set "
        "input.layout to the layout that reads them (--strict fails on them)"
    ]
