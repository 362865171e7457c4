"""Per-class balancing (docs/governance.md): the recipe's ``balance:`` section, the variant
count of each source, and a balanced expand that hits its targets, validates and stays the
same at --jobs 1 and 2."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
from conftest import invoke, read_manifest, tree_digest, write_images

from augtool.errors import InputError, RecipeError
from augtool.layouts.discovery import Source
from augtool.recipe.model import load_recipe
from augtool.run.balance import balance, rank_key, spread

SETTINGS = {"strategy": "not_majority", "target": "max", "max_variants": 100}


def sources(sizes: dict[str, int], augment: bool = True) -> list[Source]:
    return [
        Source(f"train/{name}/{name}_{i:03d}.png", "train", name, augment)
        for name, size in sizes.items()
        for i in range(size)
    ]


def per_class(found: dict[str, int]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for path, count in found.items():
        totals[path.split("/")[1]] += count
    return totals


@pytest.mark.parametrize(
    ("strategy", "target", "after"),
    [
        ("not_majority", "max", {"a": 7, "b": 7, "c": 7}),
        ("not_majority", 10, {"a": 7, "b": 10, "c": 10}),  # the majority is left alone
        ("all", 10, {"a": 10, "b": 10, "c": 10}),
        ("minority", "max", {"a": 7, "b": 3, "c": 7}),
        ({"b": 5, "c": 4}, "max", {"a": 7, "b": 5, "c": 4}),
    ],
)
def test_each_class_reaches_its_target(
    strategy: str | dict[str, int], target: str | int, after: dict[str, int]
) -> None:
    sizes = {"a": 7, "b": 3, "c": 2}
    settings = {**SETTINGS, "strategy": strategy, "target": target}
    found = balance(sources(sizes), settings, 0, "r.yaml")
    totals = per_class(found.counts)
    assert {name: sizes[name] + totals[name] for name in sizes} == after
    assert {name: c["after"] for name, c in found.classes.items()} == after
    assert {name: c["before"] for name, c in found.classes.items()} == sizes
    assert not found.warnings


def test_variants_are_spread_evenly_by_identity_not_by_order() -> None:
    paths = [f"train/a/{i}.png" for i in range(7)]
    counts = spread(paths, 17, seed=3)
    assert sorted(counts.values()) == [2, 2, 2, 2, 3, 3, 3]  # 17 = 7 * 2 + 3
    ranked = sorted(paths, key=lambda p: rank_key(3, p))
    assert [counts[p] for p in ranked] == [3, 3, 3, 2, 2, 2, 2]  # the first three in hash order
    shuffled = paths[:]
    random.Random(1).shuffle(shuffled)
    assert spread(shuffled, 17, seed=3) == counts
    assert spread(paths, 17, seed=4) != counts  # the seed decides the order, not the path order


def test_adding_a_source_moves_others_no_more_than_the_even_share_does() -> None:
    """The rule of docs/governance.md: a source's count is E // n, plus one for the first
    E % n in hash order; a new source never reorders the others, so each other source moves by
    the change of E // n and at most one more."""
    rng = random.Random(0)
    for _ in range(200):
        n, extra, seed = rng.randint(1, 30), rng.randint(0, 200), rng.randint(0, 9)
        paths = [f"p{rng.random()}" for _ in range(n)]
        before = spread(paths, extra, seed)
        new_extra = max(0, extra + rng.choice((-1, 0, 1)))
        after = spread([*paths, "new"], new_extra, seed)
        shift = abs(extra // n - new_extra // (n + 1))
        assert all(abs(after[p] - before[p]) <= shift + 1 for p in paths)
        if shift == 0 and new_extra == extra:
            # the new source's variants are taken one each from the others, the fewest that
            # can be: exactly as many sources lose one as the new one gets, none gains
            assert all(before[p] - after[p] in (0, 1) for p in paths)
            assert sum(after[p] != before[p] for p in paths) == after["new"]


def test_a_class_that_cannot_reach_its_target_is_a_warning_naming_it() -> None:
    settings = {**SETTINGS, "max_variants": 2}
    found = balance(sources({"big": 10, "tiny": 2}), settings, 0, "r.yaml")
    assert found.classes["tiny"] == {"before": 2, "target": 10, "after": 6}
    assert len(found.warnings) == 1 and "'tiny'" in found.warnings[0]
    assert "big" not in found.warnings[0]


def test_a_class_the_dataset_lacks_is_a_recipe_error_naming_it() -> None:
    settings = {**SETTINGS, "strategy": {"a": 4, "zebra": 9}}
    with pytest.raises(RecipeError, match="zebra"):
        balance(sources({"a": 2, "b": 3}), settings, 0, "r.yaml")


def test_only_augmented_sources_count_and_get_variants() -> None:
    found = balance(
        [*sources({"a": 4, "b": 1}), *sources({"b": 9}, augment=False)], SETTINGS, 0, "r.yaml"
    )
    assert found.classes["b"] == {"before": 1, "target": 4, "after": 4}
    assert all(path.startswith("train/") for path in found.counts)
    with pytest.raises(InputError, match="class"):
        balance(sources({"a": 2}, augment=False), SETTINGS, 0, "r.yaml")


RECIPE = """\
version: 1
seed: 11
input: {layout: imagefolder}
output: {format: png}
splits: {names: [train, val], augment: [train]}
variants: 3
balance: BALANCE
pipeline:
  - hflip: {p: 0.5}
  - gaussian_noise: {std: [2, 6]}
"""


def balanced_input(root: Path) -> Path:
    images = {f"train/cat/c{i}.png": i for i in range(6)}
    images |= {f"train/dog/d{i}.png": 10 + i for i in range(4)}
    images |= {f"train/owl/o{i}.png": 20 + i for i in range(1)}
    images |= {f"val/owl/v{i}.png": 30 + i for i in range(2)}
    return write_images(root, images)


def recipe_file(tmp_path: Path, section: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE.replace("BALANCE", section), encoding="utf-8")
    return path


def test_recipe_balance_is_checked_and_hashed_only_when_given(tmp_path: Path) -> None:
    plain = load_recipe(recipe_file(tmp_path, "null"))
    assert plain.balance is None and "balance" not in plain.normalised
    given = load_recipe(recipe_file(tmp_path, "{target: 5}"))
    assert given.balance == {"strategy": "not_majority", "target": 5, "max_variants": 100}
    assert given.normalised["balance"] == given.balance and given.sha256 != plain.sha256
    for bad, word in [
        ("{strategy: most}", "strategy"),
        ("{target: 0}", "target"),
        ("{max_variants: -1}", "max_variants"),
        ("{strategy: {cat: x}}", "cat"),
        ("{by: 3}", "by"),
    ]:
        with pytest.raises(RecipeError, match=word):
            load_recipe(recipe_file(tmp_path, bad))


def test_balanced_expand_hits_its_targets_validates_and_is_job_independent(
    tmp_path: Path,
) -> None:
    source = balanced_input(tmp_path / "in")
    recipe = recipe_file(tmp_path, "{strategy: all, target: 8, max_variants: 5}")
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        result = invoke("expand", recipe, source, "-o", out, "--jobs", jobs, "--json")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        digest = tree_digest(out, frozenset({"run.json"}))
        # the made files, the manifest and SHA256SUMS (not the run's own state files)
        outputs.append({k: v for k, v in digest.items() if not k.startswith(".augtool")})
    lines = read_manifest(tmp_path / "out1")
    made = Counter(
        line["path"].split("/")[1]
        for line in lines
        if line.get("role") in ("original", "augmented") and line["path"].startswith("train/")
    )
    assert made == {"cat": 8, "dog": 8, "owl": 6}  # owl: 1 source, at most 5 variants
    assert lines[0]["balance"]["classes"] == {
        "cat": {"before": 6, "target": 8, "after": 8},
        "dog": {"before": 4, "target": 8, "after": 8},
        "owl": {"before": 1, "target": 8, "after": 6},
    }
    assert summary["balance"] == lines[0]["balance"]
    assert any("'owl'" in warning for warning in summary["warnings"])
    assert not any(
        line["path"].startswith("val/") and line.get("variant") is not None
        for line in lines
        if line["type"] == "file"
    )
    assert outputs[0] == outputs[1]
    validated = invoke(
        "validate",
        "manifest",
        tmp_path / "out1/manifest.jsonl",
        "--source",
        source,
        "--recompute",
        "all",
    )
    assert validated.exit_code == 0, validated.output


def test_dry_run_shows_counts_per_class_and_names_a_missing_class(tmp_path: Path) -> None:
    source = balanced_input(tmp_path / "in")
    recipe = recipe_file(tmp_path, "{target: 6}")
    result = invoke("expand", recipe, source, "-o", tmp_path / "out", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dog: 4 -> 6" in result.output and "owl: 1 -> 6" in result.output
    assert not (tmp_path / "out").exists()
    missing = recipe_file(tmp_path, "{strategy: {cat: 9, zebra: 3}}")
    refused = invoke("expand", missing, source, "-o", tmp_path / "out", "--dry-run")
    assert refused.exit_code == 2 and "zebra" in refused.output
