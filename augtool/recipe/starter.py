"""``augtool recipe new``: a commented starter recipe for a layout, one that runs as written.

Each starter names its layout, uses only defaults a newcomer would otherwise look up, and says
in comments where the data goes and what each step does; a test expands every one on the
bundled sample of its layout.
"""

from __future__ import annotations

from dataclasses import dataclass
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
{input_extra}output:
  path: out                # where the new dataset goes, from this file's folder (or -o OUT)
  format: same             # {formats}
splits:
  augment: [train]         # only these splits are augmented; val and test are copied untouched
variants: 4                # augmented copies of each training {unit}
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

AUDIO_INPUT = """\
  extensions: [.wav]       # add .flac and .ogg with pip install "augtool[audio]"
  max_seconds: 30          # longer clips are skipped, with the reason in the manifest
"""

AUDIO_PIPELINE = """\
pipeline:                  # every transform: augtool transforms (docs/audio.md)
  - time_shift: {shift: [-0.1, 0.1], rollover: false}   # seconds, padded with silence
  - gain: {gain_db: [-6, 6]}
  - one_of:                # at most one of these, 70 % of the time
      p: 0.7
      transforms:
        - pitch_shift: {semitones: [-2, 2]}
        - time_stretch: {rate: [0.9, 1.1]}
  - add_noise: {snr_db: [15, 35], color: [white, pink], p: 0.5}   # SNR measured on the clip
  - time_mask: {fraction: [0, 0.08], p: 0.3}
"""

TEXT_INPUT = """\
  extensions: [.csv]       # one table per split: <split>.csv (or .jsonl, .txt)
  text: [text]             # the column(s) to augment
  label: label             # the column copied unchanged to each variant
"""

TEXT_PIPELINE = """\
pipeline:                  # every transform: augtool transforms (docs/text.md)
  - synonym_replace: {rate: [0.1, 0.3], p: 0.8}
  - random_swap: {rate: [0.05, 0.15], p: 0.3}
  - random_delete: {rate: [0.05, 0.1], p: 0.3}
  - char_typo: {rate: [0.01, 0.03], keyboard: qwerty, p: 0.3}
"""


@dataclass(frozen=True)
class Medium:
    """What a medium's starters say: the layouts they take (the first when none is given),
    and the lines that differ from an image recipe's."""

    layouts: tuple[str, ...]
    unit: str
    formats: str
    input_extra: str = ""
    pipeline: str = ""
    ending: str = ".jpg"


MEDIA = {
    "image": Medium(
        ("imagefolder", *(n for n in LAYOUTS if n != "imagefolder")),
        "image",
        "same | jpeg | png | webp",
    ),
    "audio": Medium(
        ("imagefolder", "flat"),
        "clip",
        "same | wav | flac",
        input_extra=AUDIO_INPUT,
        pipeline=AUDIO_PIPELINE,
        ending=".wav",
    ),
    "text": Medium(
        ("table",),
        "row",
        "same: a table is written as it was read",
        input_extra=TEXT_INPUT,
        pipeline=TEXT_PIPELINE,
    ),
}
LAYOUT_COMMENTS["table"] = "            # <split>.csv, a row an example"


class StarterExists(AugtoolError):
    """``recipe new`` never replaces a file unasked (exit 2)."""


def starter(layout: str | None, file: str = "recipe.yaml", medium: str = "image") -> str:
    """The starter recipe's text for ``layout`` (None: the medium's first) of ``medium``,
    its comments naming ``file``."""
    if medium not in MEDIA:
        raise UsageError(
            "{medium}: expected one of " + ", ".join(MEDIA) + ", got {value!r}", value=medium
        )
    kind = MEDIA[medium]
    layout = kind.layouts[0] if layout is None else layout
    if layout not in kind.layouts:
        named = (
            ", ".join(LAYOUTS) if medium == "image" else ", ".join(kind.layouts) + f" for {medium}"
        )
        raise UsageError("{layout}: expected one of " + named + ", got {value!r}", value=layout)
    head = HEAD.format(
        file=file,
        layout=layout,
        layout_comment=LAYOUT_COMMENTS[layout].replace("x.jpg", f"x{kind.ending}"),
        input_extra=kind.input_extra,
        formats=kind.formats,
        unit=kind.unit,
    )
    return head + (kind.pipeline or BODIES[layout])


def write_starter(
    path: Path, layout: str | None, force: bool = False, medium: str = "image"
) -> None:
    """Write the starter to ``path``; an existing file is kept unless ``force``."""
    text = starter(layout, path.name, medium)
    if path.exists() and not force:
        raise StarterExists(f"{path}: already exists; give another name, or --force to replace it")
    path.write_text(text, encoding="utf-8")
