"""The exact symmetries of the pixel grid: ``transpose`` and ``d4`` (all eight at once).

Each is a whole-pixel move (no resampling): a number of quarter turns counter-clockwise, then a
transpose or not. Albumentations names the eight elements of the dihedral group ``e``, ``r90``,
``r180``, ``r270`` (quarter turns), ``t`` (transpose), ``h`` and ``v`` (mirrors) and ``hvt``
(the anti-diagonal transpose); the recorded parameter is that name.
"""

from __future__ import annotations

import numpy as np

from augtool.media.image.transforms.geometric import Rot90
from augtool.media.image.transforms.warp import Geometry
from augtool.media.transform import Params, Shape, Transform, register

FAMILY = "geometric"

#: Each element as (quarter turns counter-clockwise, then transposed?).
ELEMENTS: dict[str, tuple[int, bool]] = {
    "e": (0, False),
    "r90": (1, False),
    "r180": (2, False),
    "r270": (3, False),
    "t": (0, True),
    "h": (1, True),
    "hvt": (2, True),
    "v": (3, True),
}
_TRANSPOSE = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def dihedral_image(image: np.ndarray, turns: int, transposed: bool) -> np.ndarray:
    """``image`` turned ``turns`` quarter turns counter-clockwise, then transposed if asked."""
    out = np.rot90(image, turns, axes=(0, 1)) if turns % 4 else image
    if transposed:
        out = out.transpose(1, 0, 2)
    return out.copy()  # C order, and never a view of the input


def dihedral_geometry(turns: int, transposed: bool, size: tuple[int, int]) -> Geometry:
    """The exact map of :func:`dihedral_image` (pixel-edge coordinates, sides swapped)."""
    turned = Rot90.geometry({"k": turns}, size)
    if not transposed:
        return turned
    height, width = turned.size
    return Geometry(_TRANSPOSE @ turned.matrix, (width, height), exact=True, whole=True)


@register
class Transpose(Transform):
    name = "transpose"
    summary = "Swap rows and columns (mirror about the main diagonal), exactly."
    family = FAMILY
    sixteen_bits = True
    default_p = 0.5
    example = "- transpose: {p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        return dihedral_image(image, 0, True)

    @staticmethod
    def geometry(params: Params, size: tuple[int, int]) -> Geometry:
        return dihedral_geometry(0, True, size)


@register
class D4(Transform):
    name = "d4"
    summary = (
        "Apply one of the eight symmetries of the square (identity, quarter turns, mirrors, "
        "transposes), chosen uniformly, exactly."
    )
    family = FAMILY
    sixteen_bits = True
    example = "- d4: {p: 1}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        names = list(ELEMENTS)
        return {"group_element": names[int(rng.integers(len(names)))]}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        return dihedral_image(image, *ELEMENTS[params["group_element"]])

    @staticmethod
    def geometry(params: Params, size: tuple[int, int]) -> Geometry:
        return dihedral_geometry(*ELEMENTS[params["group_element"]], size)
