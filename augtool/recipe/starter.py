"""``augtool recipe new``: a commented starter recipe for a layout, one that runs as written.

Each starter names its layout, uses only defaults a newcomer would otherwise look up, and says
in comments where the data goes and what each step does; a test expands every one on the
bundled sample of its layout.
"""

from __future__ import annotations

from pathlib import Path

from augtool.errors import AugtoolError, UsageError

HEAD = """\
# yaml-language-server: $schema=recipe.schema.json
# An augtool recipe (docs/recipe.md). Editors with a YAML language server complete and check
# its keys once the schema sits beside it:   augtool recipe schema -o recipe.schema.json
#   check it:         augtool validate recipe {file}
#   see what it does: augtool preview {file}
#   run it:           augtool expand {file}
version: 1
seed: 0                    # same input + recipe + seed: the same bytes
input:
  path: data               # the dataset folder, from this file's folder (or INPUT)
  layout: {layout}{layout_comment}
output:
  path: out                # where the new dataset goes, from this file's folder (or -o OUT)
  format: same             # same | jpeg | png | webp
splits:
  augment: [train]         # only these splits are augmented; val and test are copied untouched
variants: 4                # augmented copies of each training image
"""

LAYOUT_COMMENTS = {
    "yolo": "             # data.yaml, images/<split>/x.jpg, labels/<split>/x.txt",
    "coco": "             # annotations/instances_<split>.json, images in <split>/",
    "masks": "            # images/<split>/x.jpg, masks/<split>/x.png (class ids)",
    "imagefolder": "      # <split>/<label>/x.jpg",
    "flat": "             # images anywhere below the folder, no labels",
}

#: boxes and polygons move with every geometric step; these say when a moved object is dropped
TARGETS = """\
targets:
  bbox: {min_visibility: 0.3, min_area: 16}   # drop a box with < 30 % in view, or < 16 px²
"""

DETECTION_PIPELINE = """\
pipeline:                  # every transform: augtool transforms (docs/transforms.md)
  - hflip: {p: 0.5}        # mirror; a class pair to swap goes in targets.flip_pairs
  - affine: {scale: [0.9, 1.1], translate_percent: 0.05, rotate: 10, p: 0.7}
  - random_brightness_contrast: {brightness_limit: 0.2, contrast_limit: 0.2, p: 0.5}
  - one_of:                # at most one of these, half of the time
      p: 0.5
      transforms:
        - gaussian_noise: {std: [2, 8]}
        - gaussian_blur: {sigma: [0.3, 1.2]}
"""

MASKS_PIPELINE = """\
pipeline:                  # every transform: augtool transforms (docs/transforms.md)
  - hflip: {p: 0.5}
  - rotate: {limit: 10, p: 0.5}   # masks are resampled nearest: class ids are never blended
  - random_resized_crop: {size: [256, 256], scale: [0.6, 1.0]}   # [height, width]
  - color_jitter: {brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.02}
"""

CLASSIFICATION_PIPELINE = """\
pipeline:                  # every transform: augtool transforms (docs/transforms.md)
  - hflip: {p: 0.5}
  - rotate: {limit: 15, border: reflect, p: 0.7}
  - random_resized_crop: {size: [224, 224], scale: [0.6, 1.0]}   # [height, width]
  - one_of:                # at most one of these, half of the time
      p: 0.5
      transforms:
        - gaussian_noise: {std: [2, 8]}
        - gaussian_blur: {sigma: [0.3, 1.2]}
  - color_jitter: {brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.02}
"""

BODIES = {
    "yolo": TARGETS + DETECTION_PIPELINE,
    "coco": TARGETS + DETECTION_PIPELINE,
    "masks": MASKS_PIPELINE,
    "imagefolder": CLASSIFICATION_PIPELINE,
    "flat": CLASSIFICATION_PIPELINE,
}
LAYOUTS = tuple(BODIES)


class StarterExists(AugtoolError):
    """``recipe new`` never replaces a file unasked (exit 2)."""


def starter(layout: str, file: str = "recipe.yaml") -> str:
    """The starter recipe's text for ``layout``, its comments naming ``file``."""
    if layout not in BODIES:
        raise UsageError(
            "{layout}: expected one of " + ", ".join(LAYOUTS) + ", got {value!r}", value=layout
        )
    head = HEAD.format(file=file, layout=layout, layout_comment=LAYOUT_COMMENTS[layout])
    return head + BODIES[layout]


def write_starter(path: Path, layout: str, force: bool = False) -> None:
    """Write the starter to ``path``; an existing file is kept unless ``force``."""
    text = starter(layout, path.name)
    if path.exists() and not force:
        raise StarterExists(f"{path}: already exists; give another name, or --force to replace it")
    path.write_text(text, encoding="utf-8")
