"""Build the annotated sample datasets from scikit-image photos.

Three tiny datasets of real photo crops with hand-set annotations:

* ``samples/detection-yolo``  Ultralytics YOLO layout (``data.yaml``,
  ``images/<split>/*.jpg``, ``labels/<split>/*.txt``);
* ``samples/detection-coco``  COCO instances JSON (``annotations/instances_<split>.json``
  plus ``<split>/*.jpg``), with non-contiguous category ids and person keypoints;
* ``samples/segmentation``    semantic masks (``images/<split>/*.jpg`` and
  ``masks/<split>/*.png``, 8-bit class ids, ``classes.json``).

The source photos ship *inside* the scikit-image wheel (no network access, no
pooch download); see ``samples/LICENSES.md`` for their origin and licence.

Every annotation was set by hand, once, in source-photo pixel coordinates (the
``OBJECTS`` table below: a box and a rough outline polygon per object, and three
face keypoints for the astronaut).  Each sample image is a fixed crop of a source
photo, resized (Lanczos); its annotations are the hand-set source annotations
mapped through the same crop and scale, clipped to the crop, and dropped when
less than half of the object's box is inside the crop.

Regenerate with::

    pip install scikit-image   # build-time only, not a runtime dependency
    python samples/make_annotated_samples.py

The script is deterministic: there is no randomness and no timestamps are
written, so running it twice yields byte-identical files (with the same
Pillow / libjpeg build).
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image, ImageDraw

JPEG_QUALITY = 85
MIN_VISIBLE = 0.5  # keep an object only if >= 50 % of its box area is inside the crop
SOFTWARE = "augtool samples/make_annotated_samples.py"

# EXIF / TIFF tag ids.
TAG_ORIENTATION = 0x0112
TAG_SOFTWARE = 0x0131

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # (left, top, right, bottom)


@dataclass(frozen=True)
class Photo:
    """A photo bundled with scikit-image."""

    loader: str  # name of the ``skimage.data`` function
    filename: str  # file inside the installed ``skimage/data`` directory
    licence: str  # short licence name (key of ``LICENCES``)
    credit: str


@dataclass(frozen=True)
class Obj:
    """One hand-annotated object in source-photo pixel coordinates.

    Coordinates are continuous pixel-edge coordinates: (0, 0) is the top-left
    corner of the photo and (width, height) its bottom-right corner.  ``box``
    is exactly the bounding box of ``polygon`` (checked at build time).
    """

    label: str  # "cat" | "cup" | "rocket" | "person"
    box: Box
    polygon: tuple[Point, ...]
    keypoints: tuple[Point, ...] = ()  # in ``KEYPOINT_NAMES`` order


@dataclass(frozen=True)
class Sample:
    """One output image: a crop of a photo, resized so its long side is ``long_side``."""

    name: str  # file stem
    photo: str  # key of ``PHOTOS``
    crop: tuple[int, int, int, int]  # (left, top, right, bottom) in source pixels
    long_side: int
    orientation: int = 1  # EXIF Orientation of the stored JPEG (1 = none written)


PHOTOS: dict[str, Photo] = {
    "chelsea": Photo("chelsea", "chelsea.png", "CC0", "Stefan van der Walt"),
    "coffee": Photo("coffee", "coffee.png", "CC0", "Rachel Michetti"),
    "rocket": Photo("rocket", "rocket.jpg", "PD", "SpaceX"),
    "astronaut": Photo("astronaut", "astronaut.png", "PD", "NASA"),
}

LICENCES: dict[str, dict[str, object]] = {
    "CC0": {
        "id": 1,
        "name": "CC0 1.0",
        "url": "https://creativecommons.org/publicdomain/zero/1.0/",
    },
    "PD": {
        "id": 2,
        "name": "Public Domain",
        "url": "https://creativecommons.org/publicdomain/mark/1.0/",
    },
}

KEYPOINT_NAMES = ("left_eye", "right_eye", "nose")  # the person's left/right (COCO style)
KEYPOINT_SKELETON = ((1, 2), (1, 3), (2, 3))  # 1-based, as in COCO

# ---------------------------------------------------------------------------
# Hand-set annotations, in source-photo pixel coordinates.  Picked by eye on
# 3-6x zoomed views of each photo with a pixel grid drawn over it.
# ---------------------------------------------------------------------------

# fmt: off
OBJECTS: dict[str, tuple[Obj, ...]] = {
    # chelsea.png (451x300): the whole visible cat (head, ears cut by the top
    # edge, and the shoulder/chest fur at the left and bottom edges).  Right of
    # the cheek and the top-left corner are blurred background.
    "chelsea": (
        Obj(
            "cat",
            box=(0, 0, 400, 300),
            polygon=(
                (40, 0), (400, 0), (388, 20), (376, 40), (363, 60), (360, 95),
                (364, 135), (358, 175), (340, 210), (326, 240), (318, 270),
                (312, 300), (0, 300), (0, 135), (14, 120), (20, 95), (28, 60),
                (36, 25),
            ),
        ),
    ),
    # coffee.png (600x400): the espresso cup, rim to foot, handle included
    # (saucer and spoon excluded).
    "coffee": (
        Obj(
            "cup",
            box=(173, 21, 409, 307),
            polygon=(
                (290, 21), (332, 24), (366, 35), (392, 53), (404, 78), (409, 108),
                (405, 145), (397, 180), (390, 205), (378, 226), (362, 246),
                (345, 266), (325, 283), (290, 286), (258, 284), (244, 278),
                (236, 292), (224, 304), (206, 307), (197, 293), (196, 268),
                (203, 247), (214, 233), (199, 214), (187, 193), (179, 165),
                (174, 135), (173, 105), (178, 80), (190, 56), (210, 37), (245, 25),
            ),
        ),
    ),
    # rocket.jpg (640x427): the Falcon 9 from the fairing tip down to the top
    # of the launch pad (service towers and strongback excluded).
    "rocket": (
        Obj(
            "rocket",
            box=(310, 126, 332, 407),
            polygon=(
                (320, 126), (325, 130), (329, 138), (332, 150), (332, 168),
                (329, 178), (328, 300), (329, 407), (311, 407), (312, 300),
                (312, 178), (310, 168), (310, 150), (312, 138), (315, 130),
            ),
        ),
    ),
    # astronaut.png (512x512): Eileen Collins (hair to the bottom edge; the
    # helmet she holds is outside the outline, its left part inside the box)
    # and the space-shuttle stack model behind her (tank tip cut by the top
    # edge; the display stand is excluded).
    "astronaut": (
        Obj(
            "person",
            box=(19, 14, 362, 512),
            polygon=(
                (226, 14), (262, 20), (290, 40), (300, 70), (299, 105), (287, 128),
                (280, 150), (300, 185), (305, 225), (300, 255), (330, 275),
                (350, 300), (360, 330), (362, 350), (330, 370), (300, 400),
                (285, 440), (278, 480), (275, 512), (19, 512), (20, 440), (28, 360),
                (40, 300), (60, 270), (90, 250), (115, 225), (113, 195), (125, 175),
                (150, 158), (165, 150), (158, 125), (152, 95), (155, 60), (170, 35),
                (195, 20),
            ),
            # left_eye (her left = image right), right_eye, nose tip.
            keypoints=((245, 104), (203, 101), (223, 126)),
        ),
        Obj(
            "rocket",
            box=(353, 0, 456, 275),
            polygon=(
                (398, 0), (422, 0), (430, 30), (441, 42), (447, 38), (452, 50),
                (452, 195), (456, 220), (455, 235), (452, 240), (452, 270),
                (438, 274), (420, 275), (400, 272), (380, 270), (370, 250),
                (353, 232), (353, 222), (372, 195), (378, 100), (380, 45),
                (386, 40), (392, 45), (394, 20),
            ),
        ),
    ),
}
# fmt: on

# ---------------------------------------------------------------------------
# Crops per dataset and split.  Chosen by hand so that the datasets contain
# whole objects, objects clipped by the crop edge, and pure background.
# ---------------------------------------------------------------------------

YOLO_NAMES = ("cat", "cup", "rocket", "person")  # class index = position
YOLO_SPLITS: dict[str, tuple[Sample, ...]] = {
    "train": (
        Sample("cat_001", "chelsea", (0, 0, 451, 300), 320),
        Sample("cat_002", "chelsea", (150, 20, 451, 300), 288),  # cat box clipped
        Sample("cup_001", "coffee", (120, 0, 480, 360), 256),  # polygon (segment) label
        Sample("cup_002", "coffee", (0, 0, 600, 400), 300),
        Sample("rocket_001", "rocket", (160, 60, 480, 427), 300),
        Sample("rocket_002", "rocket", (250, 100, 390, 420), 288, orientation=6),
        Sample("rocket_003", "rocket", (220, 0, 420, 300), 256),  # rocket cut at bottom
        Sample("astronaut_001", "astronaut", (0, 0, 512, 512), 320),  # person + rocket
        Sample("background_001", "coffee", (440, 0, 600, 120), 256),  # no label file
        Sample("background_002", "astronaut", (368, 282, 512, 512), 240),  # empty label
    ),
    "val": (
        Sample("cat_003", "chelsea", (40, 0, 400, 300), 288),
        Sample("cup_003", "coffee", (150, 0, 450, 330), 240),
        Sample("rocket_004", "rocket", (100, 0, 540, 427), 320),
        Sample("astronaut_002", "astronaut", (0, 0, 512, 420), 300),
    ),
}
YOLO_SEGMENT_FILES = frozenset({"cup_001"})  # write the polygon instead of the box
YOLO_NO_LABEL_FILES = frozenset({"background_001"})

COCO_CATEGORIES: dict[str, dict[str, object]] = {
    "cat": {"id": 3, "name": "cat", "supercategory": "animal"},
    "cup": {"id": 7, "name": "cup", "supercategory": "kitchen"},
    "rocket": {"id": 11, "name": "rocket", "supercategory": "vehicle"},
    "person": {
        "id": 18,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(KEYPOINT_NAMES),
        "skeleton": [list(edge) for edge in KEYPOINT_SKELETON],
    },
}
COCO_SPLITS: dict[str, tuple[Sample, ...]] = {
    "train": (
        Sample("cat_001", "chelsea", (0, 0, 451, 300), 300),
        Sample("cat_002", "chelsea", (100, 0, 451, 260), 256),
        Sample("cup_001", "coffee", (100, 0, 500, 340), 280),
        Sample("cup_002", "coffee", (160, 120, 460, 400), 240),  # rim cut off
        Sample("rocket_001", "rocket", (200, 80, 440, 427), 300),
        Sample("rocket_002", "rocket", (260, 200, 380, 427), 240),  # fairing cut off
        Sample("astronaut_001", "astronaut", (0, 0, 512, 512), 320),  # 3 keypoints
    ),
    "val": (
        Sample("cat_003", "chelsea", (50, 0, 451, 300), 280),
        Sample("cup_003", "coffee", (140, 0, 440, 320), 240),
        Sample("astronaut_002", "astronaut", (0, 110, 512, 512), 300),  # eyes cut off
    ),
}

SEG_CLASSES: dict[int, str] = {0: "background", 1: "cat", 2: "cup", 3: "rocket"}
SEG_SPLITS: dict[str, tuple[Sample, ...]] = {
    "train": (
        Sample("cat_001", "chelsea", (0, 0, 451, 300), 288),
        Sample("cat_002", "chelsea", (120, 30, 451, 300), 256),
        Sample("cup_001", "coffee", (100, 0, 500, 340), 272),
        Sample("cup_002", "coffee", (150, 0, 430, 320), 224),
        Sample("rocket_001", "rocket", (180, 60, 460, 427), 256),
        Sample("rocket_002", "rocket", (240, 100, 400, 427), 256),
    ),
    "val": (
        Sample("cat_003", "chelsea", (30, 0, 430, 300), 256),
        Sample("cup_003", "coffee", (60, 0, 560, 380), 288),
    ),
}

# Transpose that turns the upright image into the stored pixels, i.e. the
# inverse of what ``ImageOps.exif_transpose`` applies for the given orientation.
STORE_TRANSPOSE: dict[int, Image.Transpose] = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,  # exif_transpose applies ROTATE_270
    8: Image.Transpose.ROTATE_270,  # exif_transpose applies ROTATE_90
}


# ---------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """An object mapped into an output image (output pixel coordinates)."""

    label: str
    box: Box
    polygon: tuple[Point, ...]  # clipped to the image; may be empty
    keypoints: tuple[tuple[float, float, int], ...]  # (x, y, v); v = 0 when cropped away
    visible: float  # fraction of the source box inside the crop


def output_size(sample: Sample) -> tuple[int, int]:
    """(width, height) of the upright output image."""
    left, top, right, bottom = sample.crop
    cw, ch = right - left, bottom - top
    scale = sample.long_side / max(cw, ch)
    return round(cw * scale), round(ch * scale)


def clip_polygon(polygon: tuple[Point, ...], rect: Box) -> list[Point]:
    """Sutherland-Hodgman clip of ``polygon`` against an axis-aligned rectangle."""
    left, top, right, bottom = rect
    edges = (
        (lambda p: p[0] >= left, lambda a, b: _cross_x(a, b, left)),
        (lambda p: p[0] <= right, lambda a, b: _cross_x(a, b, right)),
        (lambda p: p[1] >= top, lambda a, b: _cross_y(a, b, top)),
        (lambda p: p[1] <= bottom, lambda a, b: _cross_y(a, b, bottom)),
    )
    points = list(polygon)
    for inside, cross in edges:
        if not points:
            break
        result: list[Point] = []
        for i, current in enumerate(points):
            previous = points[i - 1]
            if inside(current):
                if not inside(previous):
                    result.append(cross(previous, current))
                result.append(current)
            elif inside(previous):
                result.append(cross(previous, current))
        points = result
    # Drop consecutive duplicates created by clipping.
    deduped: list[Point] = []
    for point in points:
        if not deduped or point != deduped[-1]:
            deduped.append(point)
    if len(deduped) > 1 and deduped[0] == deduped[-1]:
        deduped.pop()
    return deduped


def _cross_x(a: Point, b: Point, x: float) -> Point:
    t = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + t * (b[1] - a[1]))


def _cross_y(a: Point, b: Point, y: float) -> Point:
    t = (y - a[1]) / (b[1] - a[1])
    return (a[0] + t * (b[0] - a[0]), y)


def polygon_area(polygon: list[Point] | tuple[Point, ...]) -> float:
    """Shoelace area (absolute)."""
    total = 0.0
    for i, (x1, y1) in enumerate(polygon):
        x0, y0 = polygon[i - 1]
        total += x0 * y1 - x1 * y0
    return abs(total) / 2


def place_objects(sample: Sample) -> tuple[list[Placed], list[Placed]]:
    """Map the photo's objects into ``sample``; return (kept, dropped)."""
    left, top, right, bottom = sample.crop
    width, height = output_size(sample)
    sx, sy = width / (right - left), height / (bottom - top)

    def to_out(point: Point) -> Point:
        return ((point[0] - left) * sx, (point[1] - top) * sy)

    kept: list[Placed] = []
    dropped: list[Placed] = []
    for obj in OBJECTS[sample.photo]:
        bl, bt, br, bb = obj.box
        cl, ct = max(bl, left), max(bt, top)
        cr, cb = min(br, right), min(bb, bottom)
        inter = max(0.0, cr - cl) * max(0.0, cb - ct)
        visible = inter / ((br - bl) * (bb - bt))
        polygon = clip_polygon(obj.polygon, sample.crop) if inter > 0 else []
        keypoints = tuple(
            (*to_out(kp), 2) if left < kp[0] < right and top < kp[1] < bottom else (0.0, 0.0, 0)
            for kp in obj.keypoints
        )
        placed = Placed(
            label=obj.label,
            box=(*to_out((cl, ct)), *to_out((cr, cb))) if inter > 0 else (0, 0, 0, 0),
            polygon=tuple(to_out(p) for p in polygon),
            keypoints=keypoints,
            visible=visible,
        )
        (kept if visible >= MIN_VISIBLE else dropped).append(placed)
    return kept, dropped


# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------


def load_bundled(photo: Photo) -> Image.Image:
    """Load a photo that is shipped inside the scikit-image wheel."""
    data_dir = Path(skimage.data.__file__).resolve().parent
    if not (data_dir / photo.filename).is_file():
        raise RuntimeError(
            f"{photo.filename} is not bundled in {data_dir}; refusing to "
            "download it (only wheel-bundled photos may be used)"
        )
    image = np.asarray(getattr(skimage.data, photo.loader)())
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise RuntimeError(f"{photo.loader}: expected RGB uint8, got {image.shape}")
    return Image.fromarray(image)


def check_objects(photos: dict[str, Image.Image]) -> None:
    """Each hand-set box must be the bounding box of its polygon, inside the photo."""
    for key, objects in OBJECTS.items():
        for obj in objects:
            xs = [p[0] for p in obj.polygon]
            ys = [p[1] for p in obj.polygon]
            if (min(xs), min(ys), max(xs), max(ys)) != obj.box:
                raise RuntimeError(f"{key}/{obj.label}: box != bounding box of polygon")
            bl, bt, br, bb = obj.box
            if bl < 0 or bt < 0 or br > photos[key].width or bb > photos[key].height:
                raise RuntimeError(f"{key}/{obj.label}: box outside the photo")


def render(photo: Image.Image, sample: Sample) -> Image.Image:
    """Crop and resize; the upright output image."""
    return photo.crop(sample.crop).resize(output_size(sample), Image.Resampling.LANCZOS)


def save_jpeg(image: Image.Image, path: Path, orientation: int = 1) -> None:
    """Save as JPEG; with ``orientation`` != 1 store rotated pixels + EXIF tag."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if orientation == 1:
        image.save(path, format="JPEG", quality=JPEG_QUALITY)
        return
    exif = Image.Exif()
    exif[TAG_ORIENTATION] = orientation
    exif[TAG_SOFTWARE] = SOFTWARE
    stored = image.transpose(STORE_TRANSPOSE[orientation])
    stored.save(path, format="JPEG", quality=JPEG_QUALITY, exif=exif)


def provenance(sample: Sample, kept: list[Placed], dropped: list[Placed]) -> str:
    width, height = output_size(sample)
    note = f"skimage.data.{sample.photo}() crop box={sample.crop} -> {width}x{height}"
    if sample.orientation != 1:
        note += f"; EXIF Orientation={sample.orientation}"
    parts = [f"{p.label} {p.visible:.0%}" for p in kept]
    parts += [f"{p.label} {p.visible:.0%} DROPPED" for p in dropped]
    return note + "; objects: " + (", ".join(parts) or "none")


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------


def build_yolo(out_dir: Path, photos: dict[str, Image.Image]) -> list[tuple[Path, str]]:
    written: list[tuple[Path, str]] = []
    names = "\n".join(f"  {i}: {name}" for i, name in enumerate(YOLO_NAMES))
    data_yaml = out_dir / "data.yaml"
    write_text(
        data_yaml,
        "# augtool sample detection dataset (Ultralytics YOLO layout).\n"
        "# Built by samples/make_annotated_samples.py; see samples/LICENSES.md.\n"
        f"path: .\ntrain: images/train\nval: images/val\nnames:\n{names}\n",
    )
    written.append((data_yaml, "dataset config"))
    for split, samples in YOLO_SPLITS.items():
        for sample in samples:
            image = render(photos[sample.photo], sample)
            width, height = image.size
            image_path = out_dir / "images" / split / f"{sample.name}.jpg"
            save_jpeg(image, image_path, sample.orientation)
            kept, dropped = place_objects(sample)
            written.append((image_path, provenance(sample, kept, dropped)))
            if sample.name in YOLO_NO_LABEL_FILES:
                if kept:
                    raise RuntimeError(f"{sample.name}: background image has objects")
                continue
            lines = []
            for placed in kept:
                cls = YOLO_NAMES.index(placed.label)
                if sample.name in YOLO_SEGMENT_FILES:
                    coords = [
                        f"{min(max(x / width, 0.0), 1.0):.6f} {min(max(y / height, 0.0), 1.0):.6f}"
                        for x, y in placed.polygon
                    ]
                    lines.append(f"{cls} " + " ".join(coords))
                    continue
                x0, y0, x1, y1 = placed.box
                cx, cy = (x0 + x1) / 2 / width, (y0 + y1) / 2 / height
                bw, bh = (x1 - x0) / width, (y1 - y0) / height
                lines.append(f"{cls} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
            label_path = out_dir / "labels" / split / f"{sample.name}.txt"
            write_text(label_path, "".join(line + "\n" for line in lines))
            written.append((label_path, f"{len(lines)} object(s)"))
    return written


def _r(value: float) -> float:
    return round(float(value), 2)


def build_coco(out_dir: Path, photos: dict[str, Image.Image]) -> list[tuple[Path, str]]:
    written: list[tuple[Path, str]] = []
    for split, samples in COCO_SPLITS.items():
        images: list[dict[str, object]] = []
        annotations: list[dict[str, object]] = []
        used_licences: set[str] = set()
        for image_id, sample in enumerate(samples, start=1):
            image = render(photos[sample.photo], sample)
            image_path = out_dir / split / f"{sample.name}.jpg"
            save_jpeg(image, image_path)
            kept, dropped = place_objects(sample)
            written.append((image_path, provenance(sample, kept, dropped)))
            licence = PHOTOS[sample.photo].licence
            used_licences.add(licence)
            images.append(
                {
                    "id": image_id,
                    "file_name": image_path.name,
                    "width": image.width,
                    "height": image.height,
                    "license": LICENCES[licence]["id"],
                }
            )
            for placed in kept:
                x0, y0, x1, y1 = placed.box
                ann: dict[str, object] = {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": COCO_CATEGORIES[placed.label]["id"],
                    "bbox": [_r(x0), _r(y0), _r(x1 - x0), _r(y1 - y0)],
                    "area": _r(polygon_area(placed.polygon)),
                    "iscrowd": 0,
                    "segmentation": [[_r(c) for point in placed.polygon for c in point]],
                }
                if placed.keypoints:
                    ann["keypoints"] = [
                        v if i % 3 == 2 else _r(v)
                        for i, v in enumerate(c for kp in placed.keypoints for c in kp)
                    ]
                    ann["num_keypoints"] = sum(1 for kp in placed.keypoints if kp[2] > 0)
                annotations.append(ann)
        document = {
            "info": {
                "description": f"augtool sample detection dataset ({split} split)",
                "url": "https://scikit-image.org/docs/stable/api/skimage.data.html",
                "version": "1.0",
                "contributor": "augtool samples/make_annotated_samples.py",
            },
            "licenses": [
                LICENCES[key] for key in sorted(used_licences, key=lambda k: LICENCES[k]["id"])
            ],
            "images": images,
            "annotations": annotations,
            "categories": list(COCO_CATEGORIES.values()),
        }
        json_path = out_dir / "annotations" / f"instances_{split}.json"
        write_text(json_path, json.dumps(document, indent=2) + "\n")
        written.append((json_path, f"{len(images)} images, {len(annotations)} annotations"))
    return written


def build_segmentation(out_dir: Path, photos: dict[str, Image.Image]) -> list[tuple[Path, str]]:
    written: list[tuple[Path, str]] = []
    class_ids = {name: class_id for class_id, name in SEG_CLASSES.items()}
    classes_path = out_dir / "classes.json"
    write_text(
        classes_path,
        json.dumps({str(k): v for k, v in SEG_CLASSES.items()}, indent=2) + "\n",
    )
    written.append((classes_path, "class id -> name"))
    for split, samples in SEG_SPLITS.items():
        for sample in samples:
            image = render(photos[sample.photo], sample)
            image_path = out_dir / "images" / split / f"{sample.name}.jpg"
            save_jpeg(image, image_path)
            kept, dropped = place_objects(sample)
            written.append((image_path, provenance(sample, kept, dropped)))
            # Masks use every object that reaches into the crop (also those the
            # 50 % rule would drop for detection): pixels are pixels.
            mask = Image.new("L", image.size, 0)
            draw = ImageDraw.Draw(mask)
            for placed in kept + dropped:
                if len(placed.polygon) >= 3:
                    draw.polygon(placed.polygon, fill=class_ids[placed.label])
            mask_path = out_dir / "masks" / split / f"{sample.name}.png"
            mask_path.parent.mkdir(parents=True, exist_ok=True)
            mask.save(mask_path, format="PNG")
            present = np.unique(np.asarray(mask)).tolist()
            written.append((mask_path, f"class ids {present}"))
    return written


BUILDERS = {
    "detection-yolo": build_yolo,
    "detection-coco": build_coco,
    "segmentation": build_segmentation,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="parent directory of the three datasets (each is deleted and rebuilt; "
        "default: samples/)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print provenance per file")
    args = parser.parse_args(argv)
    photos = {key: load_bundled(photo) for key, photo in PHOTOS.items()}
    check_objects(photos)
    for name, builder in BUILDERS.items():
        out_dir = args.out / name
        if out_dir.exists():
            shutil.rmtree(out_dir)
        written = builder(out_dir, photos)
        if args.verbose:
            for path, note in written:
                print(f"{name}/{path.relative_to(out_dir)}: {note}")
        total = sum(path.stat().st_size for path, _ in written)
        print(f"wrote {len(written)} files ({total / 1024:.0f} KiB) to {out_dir}")


if __name__ == "__main__":
    main()
