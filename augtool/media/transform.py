"""What every transform is: a parameter schema, a sampler and a pure kernel.

A transform is configured once from the recipe (``__init__`` receives the normalised config).
For each variant, :meth:`Transform.sample` draws the parameters from the one
``numpy.random.Generator`` it is handed and returns them as plain JSON values, complete enough
that :meth:`Transform.apply` needs nothing else: ``apply`` is a pure function of the image and
those parameters. That is what lets the manifest replay any output from its record alone.

Images are ``uint8`` arrays of shape ``(height, width, channels)`` with 1 (grey), 3 (RGB) or
4 (RGBA) channels; ``uint16`` for a 16-bit source kept at 16 bits, for the transforms that set
``sixteen_bits``. Kernels return a new array and never edit their input.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from augtool.errors import ParamError
from augtool.media.params import PROBABILITY, Param

Params = dict[str, Any]
Shape = tuple[int, int, int]

REGISTRY: dict[str, type[Transform]] = {}

#: The kinds of label an image can carry besides its pixels, in the targets table's order.
TARGET_KINDS = ("masks", "boxes", "polygons", "keypoints")


class Transform:
    """Base class of the image transforms. Subclasses set the class attributes and implement
    :meth:`sample` and :meth:`apply`."""

    name: ClassVar[str]
    #: One sentence: what the transform does to the image.
    summary: ClassVar[str]
    family: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    #: A recipe snippet (one YAML list item) that uses the transform.
    example: ClassVar[str]
    #: Probability of firing when the recipe gives no ``p``.
    default_p: ClassVar[float] = 1.0
    #: Whether :meth:`apply` keeps ``uint16`` samples at 16 bits (``output.bit_depth: source``);
    #: a recipe with that setting refuses the steps that work on 8-bit samples only.
    sixteen_bits: ClassVar[bool] = False
    #: Whether :meth:`sample` takes a ``targets`` keyword: the image's boxes, polygons,
    #: keypoints and mask where the earlier steps moved them (None for an image without
    #: labels), for the steps that place themselves by the objects (``bbox_safe_random_crop``).
    reads_targets: ClassVar[bool] = False
    #: The parameters whose values name folders of files the transform reads (relative to the
    #: recipe's folder), hashed into the manifest header: see :mod:`augtool.run.resources`.
    #: Its ``sample`` and ``apply`` then take a ``resources`` keyword.
    resources: ClassVar[tuple[str, ...]] = ()

    def check_resources(self, resources: Any) -> None:
        """Refuse, before a run writes anything, resource files this step could not use
        (raising :class:`~augtool.errors.InputError` naming the file): a run that met them
        half way would stop with some outputs written. Nothing to check by default."""

    def __init__(self, **config: Any) -> None:
        self.config = self.normalise(config)
        self.p: float = self.config["p"]
        self.check(self.config)

    @classmethod
    def normalise(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Fill defaults and canonicalise every value; raise on an unknown name or bad value."""
        known = {param.name: param for param in cls.all_params()}
        unknown = sorted(set(config) - set(known))
        if unknown:
            raise UnknownParam(unknown[0], sorted(known))
        out: dict[str, Any] = {}
        for name, param in known.items():
            value = config.get(name, param.default)
            try:
                out[name] = param.normalise(value)
            except ParamError as exc:
                raise BadParam(name, str(exc)) from None
        return out

    @classmethod
    def all_params(cls) -> tuple[Param, ...]:
        p = Param("p", PROBABILITY, cls.default_p, "probability that the step fires")
        return (*cls.params, p)

    @classmethod
    def supported_targets(cls) -> tuple[str, ...]:
        """The label kinds (of :data:`TARGET_KINDS`) this transform handles correctly. A step
        that moves no pixel keeps every kind where it is; a geometric step moves them all
        through its ``geometry`` or, for a warp no matrix describes, its ``move_points``
        (:mod:`augtool.media.image.targets`), and without either moves none (moving labels
        through it raises ``UnsupportedTransform``). A step that can move some kinds only says
        so by overriding this."""
        if cls.family != "geometric":
            return TARGET_KINDS
        moves = hasattr(cls, "geometry") or hasattr(cls, "move_points")
        return TARGET_KINDS if moves else ()

    def check(self, config: dict[str, Any]) -> None:
        """Cross-parameter checks (override when two params constrain each other)."""

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        """Draw this step's parameters for an image of ``shape`` = (height, width, channels)."""
        raise NotImplementedError

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        """Apply the transform with already-sampled ``params``: a pure function."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"


class UnknownParam(ParamError):
    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = known
        super().__init__(f"unknown parameter {name!r}")


class BadParam(ParamError):
    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(f"parameter {name!r}: {message}")


def register(cls: type[Transform]) -> type[Transform]:
    """Class decorator: add a transform to the registry under its ``name``."""
    if cls.name in REGISTRY:
        raise RuntimeError(f"transform {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls
    return cls


def uniform(rng: np.random.Generator, bounds: list[float]) -> float:
    """A plain-float draw from ``[lo, hi]`` (no draw is spent when the range is a point)."""
    lo, hi = bounds
    return float(lo) if lo == hi else float(rng.uniform(lo, hi))


def integers(rng: np.random.Generator, bounds: list[int]) -> int:
    """A plain-int draw from the closed range ``[lo, hi]``."""
    lo, hi = bounds
    return int(lo) if lo == hi else int(rng.integers(lo, hi, endpoint=True))
