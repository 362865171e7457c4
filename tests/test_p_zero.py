"""A step of p 0 never fires, inside one_of and some_of too; a block that could only pick p 0
children is refused when the recipe is read (and by ``validate recipe``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from augtool.cli import app
from augtool.errors import RecipeError
from augtool.media.image.transforms import REGISTRY, Block, run
from augtool.recipe import load_recipe
from augtool.recipe.model import parse_recipe
from augtool.recipe.yaml_source import load

SEEDS = range(100)


def _fired_children(records: list[dict]) -> list[str]:
    return [child["name"] for child in records[0]["steps"] if child["fired"]]


def _count_fired(block: Block, name: str) -> int:
    image = np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    fired = 0
    for seed in SEEDS:
        _, records = run([block], image, np.random.default_rng(seed))
        fired += _fired_children(records).count(name)
    return fired


@pytest.mark.parametrize(
    "block",
    [
        "one_of: {transforms: [{hflip: {p: 0}}, {invert: {p: 0}}, {vflip: {p: 0.3}}]}",
        "some_of: {n: [0, 1], transforms: [{hflip: {p: 0}}, {invert: {p: 0}}, vflip]}",
        "some_of: {n: [1, 2], transforms: [{hflip: {p: 0}}, {invert: {p: 0}}, vflip, rot90]}",
    ],
)
def test_a_p_zero_child_never_fires_in_100_seeds(block: str) -> None:
    (step,) = parse_recipe(load(f"version: 1\npipeline:\n  - {block}\n", "r.yaml")).steps
    assert _count_fired(step, "hflip") == 0
    assert _count_fired(step, "invert") == 0
    assert _count_fired(step, "vflip") > 0


@pytest.mark.parametrize(
    ("kind", "n"), [("one_of", None), ("some_of", [0, 1]), ("some_of", [1, 2])]
)
def test_a_block_built_in_code_with_only_p_zero_children_applies_none(
    kind: str, n: list[int] | None
) -> None:
    children = [REGISTRY["hflip"](p=0.0), REGISTRY["invert"](p=0.0)]
    block = Block(kind=kind, p=1.0, children=children, n=n)
    assert _count_fired(block, "hflip") + _count_fired(block, "invert") == 0


ALL_P_ZERO = {
    "one_of": (
        "version: 1\npipeline:\n  - one_of:\n      transforms:\n"
        "        - hflip: {p: 0}\n        - invert: {p: 0}\n",
        "5:9: one_of: every child has p 0, so none can ever be picked; "
        "give at least one child a p above 0",
    ),
    "some_of": (
        "version: 1\npipeline:\n  - some_of:\n      n: [0, 1]\n      transforms:\n"
        "        - hflip: {p: 0}\n        - invert: {p: 0}\n",
        "6:9: some_of: every child has p 0, so none can ever be picked; "
        "give at least one child a p above 0",
    ),
    "nested block of p 0": (
        "version: 1\npipeline:\n  - one_of:\n      transforms:\n"
        "        - sequence: {p: 0, transforms: [hflip]}\n        - invert: {p: 0}\n",
        "5:9: one_of: every child has p 0, so none can ever be picked; "
        "give at least one child a p above 0",
    ),
}


@pytest.mark.parametrize("case", list(ALL_P_ZERO))
def test_a_block_whose_children_all_have_p_zero_is_a_recipe_error(
    tmp_path: Path, case: str
) -> None:
    text, expected = ALL_P_ZERO[case]
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert str(info.value) == f"{path}:{expected}"
    result = CliRunner().invoke(app, ["validate", "recipe", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: {path}:{expected}\n"


def test_a_sequence_of_p_zero_steps_is_allowed_and_applies_nothing() -> None:
    text = (
        "version: 1\npipeline:\n  - sequence: {transforms: [{hflip: {p: 0}}, {invert: {p: 0}}]}\n"
    )
    (step,) = parse_recipe(load(text, "r.yaml")).steps
    assert _count_fired(step, "hflip") + _count_fired(step, "invert") == 0
