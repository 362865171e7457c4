"""Recipes: YAML in, a checked, normalised and hashed :class:`Recipe` out."""

from augtool.recipe.model import Recipe, load_recipe, recipe_sha256

__all__ = ["Recipe", "load_recipe", "recipe_sha256"]
