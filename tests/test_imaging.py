"""The Pillow <-> numpy bridges and the process allocator settings."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from augtool.media.image.transforms import imaging
from augtool.media.image.transforms.imaging import copy_into
from augtool.run import allocator


@settings(max_examples=40, deadline=None)
@given(
    mode=st.sampled_from(["L", "RGB", "RGBA"]),
    width=st.integers(1, 40),
    height=st.integers(1, 30),
    seed=st.integers(0, 2**32 - 1),
)
def test_copy_into_gives_the_pixels_of_asarray(mode: str, width: int, height: int, seed: int):
    channels = len(mode)
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    image = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels, mode)
    out = np.full((height, width, channels), 7, dtype=np.uint8)
    assert copy_into(image, out) is out
    np.testing.assert_array_equal(out, pixels)


def test_copy_into_writes_into_a_slice_of_a_larger_array() -> None:
    whole = np.zeros((10, 6, 1), dtype=np.uint8)
    image = Image.fromarray(np.full((4, 6), 200, dtype=np.uint8), "L")
    copy_into(image, whole[3:7])
    assert (whole[3:7] == 200).all()
    assert (whole[:3] == 0).all() and (whole[7:] == 0).all()


def test_copy_into_falls_back_when_pillow_does_not_write_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imaging, "_paste_works", None)
    monkeypatch.setattr(imaging, "_paste_probe", lambda: False)

    def refuse(image: Image.Image, out: np.ndarray) -> None:
        raise AssertionError("the paste path must not be used")

    monkeypatch.setattr(imaging, "_paste", refuse)
    pixels = np.arange(24, dtype=np.uint8).reshape(4, 6)
    out = np.empty((4, 6, 1), dtype=np.uint8)
    copy_into(Image.fromarray(pixels, "L"), out)
    np.testing.assert_array_equal(out[:, :, 0], pixels)


def test_the_paste_probe_passes_on_this_pillow() -> None:
    assert imaging._paste_probe()


def test_the_allocator_is_tuned_on_glibc_and_left_alone_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    try:
        glibc = os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")  # type: ignore[union-attr]
    except (ValueError, OSError):
        glibc = False
    assert allocator._mallopt() is glibc
    monkeypatch.setattr(os, "confstr", lambda name: "musl 1.2")
    assert allocator._mallopt() is False
