"""What every audio transform is: the image transforms' contract, for clips.

A transform is configured once from the recipe; for each variant, :meth:`AudioTransform.sample`
draws its parameters from the one ``numpy.random.Generator`` it is handed, knowing the clip's
shape and rate (:class:`Clip`), and returns them as plain JSON values; :meth:`apply` is a pure
function of the samples, their rate and those parameters. Samples are float64 arrays of shape
(frames, channels), full scale ±1.0; kernels return a new array and never edit their input.

Parameter names follow audiomentations (``min_gain_db``/``max_gain_db`` become one
``gain_db`` range, as ``*_range`` parameters do for images).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from augtool.errors import ParamError
from augtool.media.transform import Transform

Params = dict[str, Any]

REGISTRY: dict[str, type[AudioTransform]] = {}


@dataclass(frozen=True)
class Clip:
    """What sampling may know of the clip a step is applied to."""

    frames: int
    channels: int
    rate: int

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


class AudioTransform(Transform):
    """Base class of the audio transforms: subclasses set the class attributes and implement
    :meth:`sample` and :meth:`apply`."""

    def sample(self, rng: np.random.Generator, clip: Clip) -> Params:  # type: ignore[override]
        """Draw this step's parameters for ``clip``."""
        raise NotImplementedError

    @staticmethod
    def apply(samples: np.ndarray, rate: int, params: Params) -> np.ndarray:  # type: ignore[override]
        """Apply the step with already-sampled ``params``: a pure function."""
        raise NotImplementedError


@dataclass(frozen=True)
class Choices:
    """One of ``options`` or a list of distinct ones (each step then draws one)."""

    options: tuple[str, ...]

    @property
    def form(self) -> str:
        return "one of " + ", ".join(self.options) + ", or a list of them"

    @property
    def json_schema(self) -> dict[str, Any]:
        one = {"enum": list(self.options)}
        many = {"type": "array", "items": one, "minItems": 1, "uniqueItems": True}
        return {"anyOf": [one, many]}

    def __call__(self, value: Any) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if (
            not isinstance(items, list)
            or not items
            or any(item not in self.options for item in items)
            or len(set(items)) != len(items)
        ):
            raise ParamError(f"expected {self.form}, got {value!r}")
        return [str(item) for item in items]


def register(cls: type[AudioTransform]) -> type[AudioTransform]:
    """Class decorator: add an audio transform to the audio registry under its ``name``."""
    if cls.name in REGISTRY:
        raise RuntimeError(f"audio transform {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls
    return cls


def check_order(lo: float, hi: float, what: str) -> None:
    if lo > hi:
        raise ParamError(f"{what}: min must be <= max")


def seed(rng: np.random.Generator) -> int:
    """A seed for a step's own noise, recorded so a replay draws the same noise."""
    return int(rng.integers(0, 2**63 - 1))


def pick(rng: np.random.Generator, options: list[str]) -> str:
    """One of ``options`` (no draw is spent when there is one)."""
    return options[0] if len(options) == 1 else options[int(rng.integers(len(options)))]


__all__ = [
    "REGISTRY",
    "AudioTransform",
    "Choices",
    "Clip",
    "Params",
    "check_order",
    "pick",
    "register",
    "seed",
]
