"""Content (``validate manifest --content``): each image output's perceptual hash against its
recorded source's, a poisoning signal that fixity cannot give. Someone who swaps an image and
rewrites the manifest and SHA256SUMS to match leaves every digest consistent; only the content
(this check) or a re-derivation (``--recompute``) then tells that the file was not made from
its source.

pHash survives re-encoding, colour changes, noise and blur, not crops, rotations or warps, so
it judges only the outputs whose geometry it can follow: originals (copied or re-encoded:
within :data:`ORIGINAL_BITS`) and variants whose fired steps move pixels at most by flips,
quarter turns and scaling, and do not invert (the output is hashed in all 8 orientations, the
nearest counts: within :data:`VARIANT_BITS`). Other variants are counted as not judged.
Outputs are decoded only here, so only when asked; a source's pHash is the one the manifest
recorded (``source_phash``), else that of the ``--source`` file."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augtool.errors import UsageError
from augtool.validate.report import Findings

#: the most bits an original may differ from its source (the near-duplicate default)
ORIGINAL_BITS = 10
#: the most bits a variant of kept geometry may differ from its source: on the bundled photos a
#: strongly photometric pipeline (colour jitter and brightness/contrast 0.3, noise up to 20,
#: JPEG 30, dropout) leaves 6 of 162 variants further (see docs/governance.md)
VARIANT_BITS = 24
#: the geometric steps pHash can follow: flips and quarter turns (tried), scaling (its own
#: thumbnail scales anyway)
KEPT_GEOMETRY = frozenset(
    {"hflip", "vflip", "rot90", "transpose", "d4", "resize", "longest_max_size",
     "smallest_max_size", "random_scale"}
)  # fmt: skip
#: colour steps that turn dark into light, and so a pHash's bits over
UNFOLLOWED = frozenset({"invert", "solarize"})


@dataclass
class _Output:
    path: str
    source: str
    bits: int


@dataclass
class Content:
    """The image outputs to compare, as the manifest streams by."""

    found: Findings
    outputs: list[_Output] = field(default_factory=list)
    recorded: dict[str, int] = field(default_factory=dict)
    not_judged: int = 0

    def take(self, record: dict[str, Any]) -> None:
        if record.get("type") != "file" or record.get("kind") is not None:
            return
        role, source = record.get("role"), record.get("source")
        if role not in ("original", "augmented") or not isinstance(source, dict):
            return
        bits = ORIGINAL_BITS if role == "original" else _variant_bits(record.get("steps"))
        if bits is None:
            self.not_judged += 1
            return
        self.outputs.append(_Output(record["path"], str(source.get("path")), bits))
        value = record.get("source_phash")
        if isinstance(value, str):
            # an unreadable hash: the source file is hashed instead, when given
            with contextlib.suppress(ValueError):
                self.recorded[str(source.get("path"))] = int(value, 16)

    def run(self, root: Path, source_root: Path | None, jobs: int) -> int:
        """Compare every judged output with its source; the number compared."""
        from augtool.run.executors.hashing import dihedral_phash_files, fingerprint_files

        sources = self.recorded
        missing = sorted({o.source for o in self.outputs if o.source not in sources})
        if missing and source_root is None:
            raise UsageError(
                "{content} needs {source}: the manifest records no pHash for "
                "{count} source(s) (it does when the recipe names splits.on_leak)",
                count=len(missing),
            )
        if missing:
            assert source_root is not None
            hashed = fingerprint_files("image", source_root, missing, jobs)
            sources = {**sources, **{p: h for p, h in zip(missing, hashed, strict=True) if h}}
        hashes = dihedral_phash_files(root, [o.path for o in self.outputs], jobs)
        for output, turned in zip(self.outputs, hashes, strict=True):
            self._compare(output, turned, sources.get(output.source))
        return len(self.outputs)

    def _compare(self, output: _Output, turned: tuple[int, ...] | None, source: int | None) -> None:
        if turned is None:
            self.found.add("content", output.path, "cannot be decoded as an image")
            return
        if source is None:
            return  # the source cannot be read: the sources check says so
        distance = min(bin(value ^ source).count("1") for value in turned)
        if distance > output.bits:
            self.found.add(
                "content",
                output.path,
                f"its pHash is {distance} bits from that of its source {output.source} (more "
                f"than {output.bits}): it may not have been made from it",
            )


def _variant_bits(steps: Any) -> int | None:
    """:data:`VARIANT_BITS` when every fired step keeps the geometry up to flips and quarter
    turns (pHash can follow it), else None."""
    if not isinstance(steps, list):
        return None
    from augtool.media.image.transforms import fired_leaves

    try:
        names = {leaf.get("name") for leaf in fired_leaves(steps)}
    except (KeyError, TypeError, AttributeError):
        return None
    from augtool.media.image.transforms import REGISTRY

    for name in names - KEPT_GEOMETRY:
        transform = REGISTRY.get(str(name))
        if transform is None or transform.family == "geometric" or name in UNFOLLOWED:
            return None
    return VARIANT_BITS
