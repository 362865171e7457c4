"""Which library resamples the warps: Pillow (the default, always installed) or OpenCV (opt-in).

A recipe chooses with its top-level ``kernels`` key (``auto``: OpenCV when installed, else
Pillow; settled once, when the recipe is read, and recorded as the library it picked, so the run,
its manifest and ``validate --recompute`` only ever see a library: a manifest replays with what
made it, never with what the validating machine has). The choice changes the bytes of every
output that goes through a warp (rotate, affine, perspective, and the fused runs that contain
them), so it is part of the normalised recipe and OpenCV's version is recorded in the manifest
header beside Pillow's and numpy's. Everything else (resizes, crops, flips, colour, noise, blur,
the codecs) is the same code whichever is chosen.

Why OpenCV at all: Pillow's bilinear and bicubic affine transforms run a generic per-pixel loop,
about three times slower than OpenCV's fixed-point ``warpAffine``; at 640x480 that loop was half
of augtool's time per output. OpenCV is an optional extra (``pip install 'augtool[opencv]'``),
never a silent switch: the same recipe gives the same bytes wherever it runs, unless it says
``kernels: auto`` (then the bytes depend on the pick, which the manifest records).

The choice is an argument: :func:`augtool.run.derive` hands the recipe's ``kernels`` to the
pipeline runner (``compose.run``/``replay``), which hands it to every warp. Lookup tables and
table noise also have an OpenCV path; it gives the very bytes of Pillow's (a table is a table),
so those kernels take it whenever OpenCV is loaded, whatever the recipe chose (:func:`loaded`).
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

KERNELS = ("pillow", "opencv")
DEFAULT = "pillow"
#: what a recipe may write: a library, or ``auto`` (OpenCV when installed, else Pillow)
CHOICES = (*KERNELS, "auto")
INSTALL_HINT = "pip install 'augtool[opencv]'"


def check(kernels: str) -> str:
    """``kernels`` itself, once known and usable: OpenCV is imported (and checked) here."""
    if kernels not in KERNELS:
        raise ValueError(f"unknown kernels {kernels!r}; expected one of {', '.join(KERNELS)}")
    if kernels == "opencv":
        opencv()
    return kernels


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


def loaded() -> bool:
    """Whether OpenCV has been imported by :func:`opencv`: the byte-identical speed paths
    (lookup tables, table noise) take it then, and never import it themselves."""
    return _cv2 is not None


def opencv_version() -> str:
    return str(opencv().__version__)
