"""The text transforms by name, and their families in the order ``augtool transforms`` lists
them."""

from augtool.media.text.transforms import chars, words  # noqa: F401  (they register themselves)
from augtool.media.text.transforms.base import REGISTRY, TextTransform

FAMILIES = ("word", "sentence", "character")

__all__ = ["FAMILIES", "REGISTRY", "TextTransform"]
