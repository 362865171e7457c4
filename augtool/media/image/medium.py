"""The image medium: Pillow codecs, the image transforms, fused warps and their kernels, boxes,
polygons, keypoints and masks moved with the pixels. Registered in
:data:`augtool.media.registry.BUILTIN`; the core reaches it only through the registry."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from augtool.media.image import codecs
from augtool.media.image.codecs import Decoded
from augtool.media.image.targets import (
    NOTHING_LEFT,
    Targets,
    apply_targets,
    filter_objects,
    mirrored,
    moved_geometry,
)
from augtool.media.image.transforms import (
    BLOCKS,
    FAMILIES,
    REGISTRY,
    SYNTHESIS,
    Block,
    fired_leaves,
    kernels,
    partner_needs,
    replay,
    run,
)
from augtool.media.image.transforms.compose import copying_border_steps
from augtool.media.image.transforms.fusion import Reductions
from augtool.media.transform import TARGET_KINDS

Record = dict[str, Any]


FORMAT_EXTENSIONS = {
    "jpeg": ("JPEG", ".jpg"),
    "png": ("PNG", ".png"),
    "webp": ("WEBP", ".webp"),
    "tiff": ("TIFF", ".tif"),
}
# With ``format: same`` these endings are written back in their own format; any other (GIF, TIFF)
# becomes PNG, which holds the same pixels losslessly.
SAME_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP"}


def output_format(source_path: str, setting: str) -> tuple[str, str]:
    """The Pillow format and file ending of a source's variants. The ending decides, not the
    bytes: a variant's name is fixed by the plan, before anything is decoded."""
    if setting != "same":
        return FORMAT_EXTENSIONS[setting]
    ext = os.path.splitext(source_path)[1]
    if ext.lower() in SAME_FORMATS:
        return SAME_FORMATS[ext.lower()], ext
    return "PNG", ".png"


def _kept(decoded: Decoded, cache: Reductions | None) -> np.ndarray:
    """The decoded array, with its decoded picture kept in ``cache`` as the Pillow image a warp
    of it reads (the same pixels: no copy to make)."""
    array = decoded.image
    if cache is not None and decoded.picture is not None:
        cache.keep_pillow(array, decoded.picture)
    return array


class ImageMedium:
    """:class:`augtool.media.base.Medium` for images. Decoded content is a
    :class:`~augtool.media.image.codecs.Decoded`; a variant's content is its kernel array."""

    name = "image"
    default_kernels = kernels.DEFAULT
    kernel_names = kernels.CHOICES
    #: the near-duplicate check's fingerprint (augtool.neardup): what it is, its name in a
    #: pair's message, and the distance (bits) within which two sources pair
    fingerprint_kind = "phash64-v1"
    fingerprint_name = "64-bit pHashes"
    fingerprint_bits = 10

    def fingerprint(self, path: Path) -> int | None:
        """The pHash of the image file at ``path``, or None when it is not an image."""
        from augtool import neardup

        return neardup.file_phash(path)

    def transforms(self) -> Mapping[str, Any]:
        return {**REGISTRY, **SYNTHESIS}

    def blocks(self) -> Mapping[str, Any]:
        return BLOCKS

    def families(self) -> tuple[str, ...]:
        return FAMILIES

    #: The columns of ``augtool transforms``' targets table (each transform's own say is its
    #: ``supported_targets()``).
    target_kinds = TARGET_KINDS

    def make_block(
        self, kind: str, p: float, children: list[Any], n: Any, config: dict[str, Any]
    ) -> Block:
        return Block(kind=kind, p=p, children=children, n=n, config=config)

    def kernels_missing(self, name: str) -> tuple[str, str] | None:
        if name == "opencv" and not kernels.opencv_installed():
            return "OpenCV", kernels.INSTALL_HINT
        return None

    def versions(self, kernels_name: str) -> dict[str, str]:
        """numpy, Pillow, and OpenCV when it resamples (``kernels: opencv``)."""
        import PIL

        found = {"numpy": np.__version__, "pillow": PIL.__version__}
        if kernels_name == "opencv":
            found["opencv"] = kernels.opencv_version()
        return found

    def output_format(self, source_path: str, setting: str) -> tuple[str, str]:
        return output_format(source_path, setting)

    def encoder_settings(
        self, encoder: str, quality: int, decoded: Decoded, same_format: bool
    ) -> dict[str, Any]:
        """With ``format: same``, a lossless WebP source stays lossless."""
        lossless = same_format and decoded.format == encoder == "WEBP" and decoded.lossless
        return codecs.encoder_settings(encoder, quality, lossless)

    def original_encoder(self, decoded: Decoded, quality: int) -> dict[str, Any]:
        """The settings of an original written with ``originals: normalize``: its own format
        (its name stays), a lossless WebP kept lossless, an MPO (a JPEG with more pictures) a
        JPEG. Raise :class:`~augtool.media.base.EncodeError` for a format Pillow cannot
        write."""
        from PIL import Image

        fmt = "JPEG" if decoded.format == "MPO" else decoded.format
        Image.init()
        if fmt not in Image.SAVE:
            raise codecs.EncodeError(f"cannot normalize: Pillow cannot write {fmt}")
        return codecs.encoder_settings(fmt, quality, fmt == "WEBP" and decoded.lossless)

    def loader_trouble(self, decoded: Decoded) -> str | None:
        """What common loaders mishandle in the source as stored (``codecs.loader_trouble``)."""
        return decoded.trouble

    def decode(
        self,
        data: bytes,
        formats: Sequence[str],
        max_pixels: int | None,
        bit_depth: int | str = 8,
    ) -> Decoded:
        """``bit_depth="source"``: a 16-bit source keeps its 16 bits (``Decoded.wide``)."""
        return codecs.decode(data, list(formats), max_pixels, bit_depth)

    def decoded_facts(self, decoded: Decoded) -> dict[str, Any]:
        """``range`` when the data, not the format, decided the values taken as black and
        white (see ``codecs.value_range``); ``bit_depth`` (8 or 16: the samples' bits, the
        output's too) when the recipe set ``output.bit_depth: source``."""
        facts: dict[str, Any] = {
            "format": decoded.format,
            "mode": decoded.mode,
            "orientation": decoded.orientation,
            "frames": decoded.frames,
        }
        if decoded.range is not None:
            facts["range"] = [_number(v) for v in decoded.range]
        if decoded.depth == "source":
            facts["bit_depth"] = decoded.bits
        return facts

    def size(self, decoded: Decoded, content: np.ndarray | None = None) -> list[int]:
        """(height, width)."""
        if content is None:
            return list(decoded.size)
        return [int(content.shape[0]), int(content.shape[1])]

    def new_cache(self) -> Reductions:
        return Reductions()

    def check_kernels(self, name: str) -> str:
        return kernels.check(name)

    def run(
        self,
        steps: Sequence[Any],
        decoded: Decoded,
        seed: int,
        kernels_name: str,
        cache: Any,
        targets: Targets | None = None,
        partners: Sequence[Decoded] = (),
        partner_targets: Sequence[Targets | None] = (),
    ) -> tuple[np.ndarray | None, list[Record]]:
        """``targets``: the source's, which the steps that read them (``bbox_safe_random_crop``)
        are shown as the steps before them moved them; ``partner_targets``: the partners', as
        read, which ``copy_paste`` chooses objects among."""
        rng = np.random.Generator(np.random.PCG64(seed))
        array = _kept(decoded, cache)
        located = None
        if targets is not None:
            located = _locator(targets, kernels_name, _Located(partners, partner_targets))
        image, records = run(
            list(steps),
            array,
            rng,
            kernels_name,
            cache,
            located,
            _Images(partners),
            partner_targets,
        )
        return (None if image is array else image), records

    def replay(
        self,
        records: list[Record],
        decoded: Decoded,
        kernels_name: str,
        cache: Any,
        partners: Sequence[Decoded] = (),
    ) -> np.ndarray | None:
        array = _kept(decoded, cache)
        image = replay(records, array, kernels_name, cache, _Images(partners))
        return None if image is array else image

    def partner_needs(self, steps: Sequence[Any]) -> tuple[tuple[int, bool], ...]:
        """(partner count, same class) of each synthesis step, in pipeline order."""
        return partner_needs(list(steps))

    def shares(self, records: list[Record], partners: int) -> list[float]:
        """The fraction of a variant each source makes (the source's first, then each of its
        ``partners``'): what a classification output's soft label weighs its classes by."""
        weights = [1.0] + [0.0] * partners
        for record in fired_leaves(records):
            step = SYNTHESIS.get(record["name"])
            if step is None:
                continue
            params = record["params"]
            own, *theirs = step.shares(params)
            weights = [w * own for w in weights]
            for slot, share in zip(params["partners"], theirs, strict=True):
                weights[1 + int(slot)] += share
        return weights

    def kept_metadata(self, decoded: Decoded) -> bytes | None:
        """The EXIF block (orientation reset) every variant carries when metadata is kept."""
        return None if decoded.exif is None else codecs.kept_exif(decoded.exif)

    def encode(
        self,
        decoded: Decoded,
        content: np.ndarray | None,
        encoder: dict[str, Any],
        metadata: bytes | None,
    ) -> bytes:
        if content is None:
            # No pixel changed: the decoded picture is encoded as it is, with no array made.
            content = decoded.picture if decoded.picture is not None else decoded.image
        return codecs.encode(content, encoder, decoded.icc_profile, metadata)

    def move_targets(
        self,
        records: list[Record],
        targets: Targets,
        kernels_name: str,
        partners: Sequence[Targets | None] = (),
    ) -> Targets:
        return apply_targets(records, targets, kernels_name, partners)  # type: ignore[arg-type]

    def partners_used(self, records: list[Record]) -> list[int]:
        """The places of the partners the fired synthesis steps took, in order."""
        return [
            int(slot)
            for record in fired_leaves(records)
            if record["name"] in SYNTHESIS
            for slot in record["params"]["partners"]
        ]

    def filter_targets(
        self,
        targets: Targets,
        rules: tuple[float, float],
        records: list[Record],
        min_box_side: float | None,
    ) -> tuple[Targets, list[Any]]:
        # A box that a move left thinner than the layout allows labels nothing a detector can
        # use.
        moved = min_box_side is not None and moved_geometry(records)
        min_side = min_box_side if moved and min_box_side is not None else NOTHING_LEFT
        return filter_objects(targets, *rules, min_side=min_side)

    def copying_steps(self, steps: Sequence[Any]) -> list[tuple[str, str]]:
        return copying_border_steps(list(steps))

    def mirrored(self, records: list[Record]) -> bool:
        return mirrored(records)


def _locator(
    targets: Targets, kernels_name: str, partners: Sequence[Targets]
) -> Callable[[list[Record]], Targets]:
    """Where ``targets`` are after the fired steps given, joined by the objects of the
    partners the synthesis steps among them took."""
    return lambda records: apply_targets(records, targets, kernels_name, partners)


class _Located(Sequence[Targets]):
    """The partners' targets as read; a partner without labels brings no object (an empty
    ``Targets`` of its size, so a synthesis step still places its pixels)."""

    def __init__(self, partners: Sequence[Decoded], targets: Sequence[Targets | None]) -> None:
        self._partners = partners
        self._targets = targets

    def __len__(self) -> int:
        return len(self._partners)

    def __getitem__(self, index: Any) -> Any:
        found = self._targets[index] if index < len(self._targets) else None
        return found if found is not None else Targets(self._partners[index].image.shape[:2])


class _Images(Sequence[np.ndarray]):
    """The partners' arrays, made from their decodes only when a step asks for one."""

    def __init__(self, partners: Sequence[Decoded]) -> None:
        self._partners = partners

    def __len__(self) -> int:
        return len(self._partners)

    def __getitem__(self, index: Any) -> Any:
        return self._partners[index].image


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 6)


MEDIUM = ImageMedium()

__all__ = ["FORMAT_EXTENSIONS", "MEDIUM", "SAME_FORMATS", "ImageMedium", "output_format"]
