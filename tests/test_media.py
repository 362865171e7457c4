"""The medium seam: every registered medium goes through the real engine, validate and the
transforms listing by the registry alone.

``BytesMedium`` is a test double, not product code: a medium whose content is the file's bytes
and whose one transform reverses them. Registering it (and nothing else) must be enough for
``expand`` to write its variants, the manifest to name its libraries, ``validate --recompute``
to re-derive them byte for byte and ``augtool transforms`` to list it; that is what adding
audio or text asks of the core.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import augtool
from augtool.errors import ParamError, RecipeError
from augtool.media import registry
from augtool.media.base import DecodeError, EncodeError, Medium
from augtool.media.params import PROBABILITY, Param

Record = dict[str, Any]


class ReverseBytes:
    """The fake medium's one transform: the bytes in reverse order."""

    family: ClassVar[str] = "order"
    summary: ClassVar[str] = "Reverse the bytes."
    example: ClassVar[str] = "pipeline:\n  - reverse_bytes: {p: 0.5}"
    name: ClassVar[str] = "reverse_bytes"

    def __init__(self, p: float = 1.0) -> None:
        self.p = PROBABILITY(p)
        self.config = {"p": self.p}

    @classmethod
    def all_params(cls) -> tuple[Param, ...]:
        return (Param("p", PROBABILITY, 1.0, "probability that it fires"),)


class BytesMedium:
    """A medium whose content is a file's bytes (no pixels, no Pillow)."""

    name = "bytes"
    default_kernels = "plain"
    kernel_names = ("plain",)

    def transforms(self) -> Mapping[str, Any]:
        return {"reverse_bytes": ReverseBytes}

    def blocks(self) -> Mapping[str, Any]:
        return {}

    def families(self) -> tuple[str, ...]:
        return ("order",)

    def make_block(self, kind: str, p: float, children: list[Any], n: Any, config: Any) -> Any:
        raise NotImplementedError

    def kernels_missing(self, kernels: str) -> tuple[str, str] | None:
        return None

    def versions(self, kernels: str) -> dict[str, str]:
        return {"bytesmedium": "1.0"}

    def output_format(self, source_path: str, setting: str) -> tuple[str, str]:
        return "raw", "." + source_path.rsplit(".", 1)[-1]

    def encoder_settings(
        self, encoder: str, quality: int, decoded: bytes, same_format: bool
    ) -> dict[str, Any]:
        return {"format": encoder}

    def decode(self, data: bytes, formats: Sequence[str], max_pixels: int | None) -> bytes:
        if not data:
            raise DecodeError("empty file")
        return data

    def decoded_facts(self, decoded: bytes) -> dict[str, Any]:
        return {"format": "raw"}

    def size(self, decoded: bytes, content: bytes | None = None) -> list[int]:
        return [len(decoded if content is None else content)]

    def new_cache(self) -> None:
        return None

    def check_kernels(self, kernels: str) -> str:
        if kernels not in self.kernel_names:
            raise ValueError(kernels)
        return kernels

    def run(
        self,
        steps: Sequence[Any],
        decoded: bytes,
        seed: int,
        kernels: str,
        cache: Any,
        targets: Any = None,
    ) -> tuple[bytes | None, list[Record]]:
        rng = np.random.Generator(np.random.PCG64(seed))
        records = [{step.name: {} if rng.random() < step.p else None} for step in steps]
        return self.replay(records, decoded, kernels, cache), records

    def replay(
        self, records: list[Record], decoded: bytes, kernels: str, cache: Any
    ) -> bytes | None:
        fired = sum(1 for record in records for params in record.values() if params is not None)
        return decoded[::-1] if fired % 2 else None

    def kept_metadata(self, decoded: bytes) -> None:
        return None

    def encode(self, decoded: bytes, content: bytes | None, encoder: Any, metadata: Any) -> bytes:
        if encoder.get("format") != "raw":
            raise EncodeError("not raw")
        return decoded if content is None else content

    def move_targets(self, records: list[Record], targets: Any, kernels: str) -> Any:
        return targets

    def filter_targets(
        self,
        targets: Any,
        rules: tuple[float, float],
        records: list[Record],
        min_box_side: float | None,
    ) -> tuple[Any, list[Any]]:
        return targets, []

    def copying_steps(self, steps: Sequence[Any]) -> list[tuple[str, str]]:
        return []

    def mirrored(self, records: list[Record]) -> bool:
        return False


@pytest.fixture
def bytes_medium() -> Iterator[BytesMedium]:
    medium = BytesMedium()
    registry.register(medium)
    try:
        yield medium
    finally:
        registry.unregister(medium.name)


def _recipe(tmp_path: Path, pipeline: str) -> Path:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "version: 1\nseed: 3\nvariants: 4\n"
        "input: {layout: flat, extensions: ['.bin']}\n"
        f"pipeline:\n{pipeline}"
    )
    return recipe


def _dataset(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        (data / f"clip{i}.bin").write_bytes(bytes(range(i, i + 40)))
    (data / "empty.bin").write_bytes(b"")
    return data


def test_the_image_medium_is_built_in_and_satisfies_the_protocol() -> None:
    assert registry.names()[0] == registry.DEFAULT == "image"
    image = registry.get("image")
    assert isinstance(image, Medium)
    assert {"hflip", "rotate"} <= set(image.transforms())
    assert set(image.versions("pillow")) == {"numpy", "pillow"}
    assert image.output_format("a/b.JPEG", "same") == ("JPEG", ".JPEG")
    with pytest.raises(registry.UnknownMedium):
        registry.get("no-such-medium")


def test_a_recipe_names_its_medium_by_its_transforms(
    tmp_path: Path, bytes_medium: BytesMedium
) -> None:
    assert isinstance(bytes_medium, Medium)
    bytes_recipe = augtool.load_recipe(_recipe(tmp_path, "  - reverse_bytes: {p: 0.5}\n"))
    assert bytes_recipe.medium == "bytes" and bytes_recipe.kernels == "plain"
    assert "kernels" not in bytes_recipe.normalised  # the medium's default, never written
    image_recipe = augtool.load_recipe(_recipe(tmp_path, "  - hflip: {p: 0.5}\n"))
    assert image_recipe.medium == "image"
    with pytest.raises(RecipeError, match="one recipe is one medium"):
        augtool.load_recipe(_recipe(tmp_path, "  - hflip: {}\n  - reverse_bytes: {}\n"))
    with pytest.raises((RecipeError, ParamError)):
        augtool.load_recipe(_recipe(tmp_path, "  - reverse_bytes: {p: 2}\n"))


@pytest.mark.parametrize("backend", ["sequential", "threading"])
def test_a_registered_medium_expands_and_validates_through_the_real_engine(
    tmp_path: Path, bytes_medium: BytesMedium, backend: str
) -> None:
    recipe = _recipe(tmp_path, "  - reverse_bytes: {p: 0.5}\n")
    data = _dataset(tmp_path)
    out = tmp_path / "out"
    summary = augtool.expand(recipe, data, out, jobs=2, backend=backend)
    assert [s["path"] for s in summary.skipped] == ["empty.bin"]
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    header = lines[0]
    assert header["libraries"] == {"bytesmedium": "1.0"}
    augmented = [r for r in lines if r.get("role") == "augmented"]
    assert len(augmented) == 12
    reversed_count = 0
    for record in augmented:
        written = (out / record["path"]).read_bytes()
        assert hashlib.sha256(written).hexdigest() == record["sha256"]
        assert record["path"].endswith(".bin") and "__v" in record["path"]
        source = (data / record["source"]["path"]).read_bytes()
        fired = sum(1 for step in record["steps"] for p in step.values() if p is not None)
        assert written == (source[::-1] if fired % 2 else source)
        assert record["image_size"] == [len(source)] and record["decoded"] == {"format": "raw"}
        reversed_count += written != source
    assert 0 < reversed_count < 12  # p 0.5 fired for some variants, not all
    report = augtool.validate_manifest(out / "manifest.jsonl", source=data, recompute="all")
    assert report.ok, report.problems


def test_expand_is_the_same_for_every_backend(tmp_path: Path, bytes_medium: BytesMedium) -> None:
    recipe = _recipe(tmp_path, "  - reverse_bytes: {p: 0.5}\n")
    data = _dataset(tmp_path)
    made = []
    for backend, jobs in (("sequential", 1), ("threading", 2)):
        out = tmp_path / backend
        augtool.expand(recipe, data, out, jobs=jobs, backend=backend)
        made.append((out / "SHA256SUMS").read_text())
    assert made[0] == made[1]


def test_transforms_lists_every_registered_medium(bytes_medium: BytesMedium) -> None:
    listing = augtool.describe_transforms()
    assert "image geometric:" in listing and "bytes order:" in listing
    assert listing.index("image geometric:") < listing.index("bytes order:")
    assert "Reverse the bytes." in augtool.describe_transforms("reverse_bytes")


def test_the_image_listing_is_unchanged_while_image_is_the_only_medium(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Audio is built in too: an install whose only medium is image is made here.
    monkeypatch.setattr(registry, "BUILTIN", {"image": registry.BUILTIN["image"]})
    loaded = {k: v for k, v in registry._loaded.items() if k == "image"}
    monkeypatch.setattr(registry, "_loaded", loaded)
    assert registry.names() == ["image"]
    assert augtool.describe_transforms().startswith("geometric:\n")
