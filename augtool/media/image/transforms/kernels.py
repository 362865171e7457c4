"""Which library resamples the warps: Pillow (the default, always installed) or OpenCV (opt-in).

A recipe chooses with its top-level ``kernels`` key. The choice changes the bytes of every
output that goes through a warp (rotate, affine, perspective, and the fused runs that contain
them), so it is part of the normalised recipe and OpenCV's version is recorded in the manifest
header beside Pillow's and numpy's. Everything else (resizes, crops, flips, colour, noise, blur,
the codecs) is the same code whichever is chosen.

Why OpenCV at all: Pillow's bilinear and bicubic affine transforms run a generic per-pixel loop,
about three times slower than OpenCV's fixed-point ``warpAffine``; at 640x480 that loop was half
of augtool's time per output. OpenCV is an optional extra (``pip install 'augtool[opencv]'``),
never a silent switch: the same recipe gives the same bytes wherever it runs.

The choice travels in a context variable, set around a render by whoever knows the recipe
(the worker, preview, ``validate --recompute``): each thread of a threading pool has its own.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType

KERNELS = ("pillow", "opencv")
DEFAULT = "pillow"
INSTALL_HINT = "pip install 'augtool[opencv]'"

_CHOICE: ContextVar[str] = ContextVar("augtool_kernels", default=DEFAULT)


def current() -> str:
    """The kernels in use in this context: ``pillow`` or ``opencv``."""
    return _CHOICE.get()


@contextmanager
def using(kernels: str) -> Iterator[None]:
    """Run the body with ``kernels``; OpenCV is imported (and checked) on entry."""
    if kernels not in KERNELS:
        raise ValueError(f"unknown kernels {kernels!r}; expected one of {', '.join(KERNELS)}")
    if kernels == "opencv":
        opencv()
    token = _CHOICE.set(kernels)
    try:
        yield
    finally:
        _CHOICE.reset(token)


class OpenCVMissing(ImportError):
    """``kernels: opencv`` was asked for and OpenCV cannot be imported."""


def opencv_installed() -> bool:
    """Whether ``cv2`` can be found, without importing it (an import takes a tenth of a second)."""
    return importlib.util.find_spec("cv2") is not None


_cv2: ModuleType | None = None


def opencv() -> ModuleType:
    """The ``cv2`` module, limited to one thread: augtool's parallelism is one source per worker
    (``--jobs``), and OpenCV's own threads on top would oversubscribe the cores."""
    global _cv2
    if _cv2 is None:
        try:
            import cv2
        except ImportError as exc:
            raise OpenCVMissing(f"kernels: opencv needs OpenCV ({INSTALL_HINT}): {exc}") from None
        cv2.setNumThreads(1)
        _cv2 = cv2
    return _cv2


def opencv_version() -> str:
    return str(opencv().__version__)
