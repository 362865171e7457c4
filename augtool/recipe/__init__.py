"""Recipes: YAML in, a checked, normalised and hashed :class:`Recipe` out."""

from augtool.recipe.model import Recipe, canonical_json, load_recipe, recipe_sha256

__all__ = ["Recipe", "canonical_json", "load_recipe", "recipe_sha256"]
