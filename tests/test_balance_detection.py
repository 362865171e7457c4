"""Per-class balancing of detection datasets (docs/governance.md, "Detection datasets"): classes
count instances, an image counts toward every class it holds, and the greedy rule of
augtool.run.balance_instances decides which images get variants."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import invoke, read_manifest, tree_digest, write_images

from augtool.errors import RecipeError
from augtool.layouts.discovery import Source, discover
from augtool.run.balance import balance, balance_instances
from augtool.run.balance_instances import count_instances, plan_instances

SETTINGS = {"strategy": "all", "target": "max", "max_variants": 100}


def test_single_instance_images_plan_as_classification_does_and_hit_targets_exactly() -> None:
    sizes = {"a": 7, "b": 3, "c": 2}
    held = {
        f"train/{n}/{n}{i}.png": Counter({n: 1}) for n, size in sizes.items() for i in range(size)
    }
    for target in (7, 10, 23):
        settings = {**SETTINGS, "target": target}
        found = balance_instances(held, settings, 5, "r.yaml")
        assert {n: c["after"] for n, c in found.classes.items()} == dict.fromkeys(sizes, target)
        sources = [Source(path, "train", path.split("/")[1], True) for path in held]
        assert found.counts == balance(sources, settings, 5, "r.yaml").counts
    assert balance_instances(held, SETTINGS, 5, "r.yaml").as_json()["count"] == "instances"


def test_an_image_of_two_lacking_classes_serves_both_with_the_fewest_variants() -> None:
    held = {
        "x": Counter({"cat": 1}),
        "y": Counter({"cat": 1, "dog": 1}),
        "z": Counter({"dog": 2}),
        "w": Counter({"dog": 1}),
    }
    counts, given_up = plan_instances(held, {"cat": 4, "dog": 6}, 10, list(held))
    # cat 2 -> 4 and dog 4 -> 6: two variants of y fill both, x and z would take four
    assert counts == {"x": 0, "y": 2, "z": 0, "w": 0} and not given_up
    # dog lacks one: w (one dog) fills it, z (two dogs) would overshoot by one
    counts, _ = plan_instances(held, {"dog": 5}, 10, list(held))
    assert counts == {"x": 0, "y": 0, "z": 0, "w": 1}
    # a cat for dog's sake is waste: w before y
    counts, _ = plan_instances(held, {"dog": 5}, 10, ["y", "x", "z", "w"])
    assert counts["w"] == 1 and counts["y"] == 0


def test_a_class_goes_past_its_target_only_when_no_image_with_fewer_would_do() -> None:
    held = {"z": Counter({"dog": 2}), "c": Counter({"cat": 1})}
    found = balance_instances(held, {**SETTINGS, "strategy": {"dog": 5}}, 0, "r.yaml")
    # 2 -> 4 -> 6: every dog image holds two; the plan says so
    assert found.counts == {"z": 2, "c": 0}
    assert found.classes["dog"] == {"before": 2, "target": 5, "after": 6}
    assert found.classes["cat"] == {"before": 1, "target": 1, "after": 1}


def test_the_plan_depends_on_source_identity_not_listing_order() -> None:
    rng = random.Random(4)
    names = ["car", "person", "bike", "dog"]
    held = {
        f"img{i}.jpg": Counter(
            {rng.choice(names): rng.randint(1, 3) for _ in range(rng.randint(1, 3))}
        )
        for i in range(40)
    }
    settings = {**SETTINGS, "strategy": "not_majority"}
    first = balance_instances(held, settings, 9, "r.yaml")
    items = list(held.items())
    rng.shuffle(items)
    again = balance_instances(dict(items), settings, 9, "r.yaml")
    assert first.counts == again.counts and first.classes == again.classes
    totals = Counter({n: 0 for n in names})
    for path, count in held.items():
        for name, n in count.items():
            totals[name] += n * (1 + first.counts[path])
    assert {n: c["after"] for n, c in first.classes.items()} == totals
    assert all(c["after"] >= c["target"] for c in first.classes.values())


def test_unreachable_warns_and_a_missing_class_is_a_recipe_error_naming_it() -> None:
    held = {"a": Counter({"cat": 1}), "b": Counter({"dog": 1}), "c": Counter({"dog": 1})}
    found = balance_instances(held, {**SETTINGS, "target": 9, "max_variants": 2}, 0, "r.yaml")
    assert found.classes["cat"]["after"] == 3 and found.classes["dog"]["after"] == 6
    assert len(found.warnings) == 2 and "'cat'" in found.warnings[0]
    with pytest.raises(RecipeError, match="zebra"):
        balance_instances(held, {**SETTINGS, "strategy": {"zebra": 3}}, 0, "r.yaml")


SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def raw_train_instances(name: str) -> Counter[str]:
    """The train split's objects by class, read from the sample's own files (not augtool's)."""
    root = SAMPLES / name
    if name == "detection-coco":
        data = json.loads((root / "annotations/instances_train.json").read_text())
        names = {c["id"]: c["name"] for c in data["categories"]}
        return Counter(names[a["category_id"]] for a in data["annotations"])
    if name == "detection-labelme":
        shapes = (json.loads(f.read_text())["shapes"] for f in (root / "train").glob("*.json"))
        return Counter(shape["label"] for listed in shapes for shape in listed)
    ids = (root / "ImageSets/Main/train.txt").read_text().split()
    trees = (ElementTree.parse(root / f"Annotations/{i}.xml") for i in ids)
    return Counter(name.text for tree in trees for name in tree.iterfind("object/name"))


@pytest.mark.parametrize(
    ("name", "layout"),
    [("detection-coco", "coco"), ("detection-voc", "voc"), ("detection-labelme", "labelme")],
)
def test_instances_are_counted_per_object_in_each_detection_layout(name: str, layout: str) -> None:
    root = SAMPLES / name
    dataset = discover(root, layout, [".jpg", ".png"], ["train", "val"], ["train"])
    totals: Counter[str] = Counter()
    for count in count_instances(dataset, root).values():
        totals.update(count)
    assert totals == raw_train_instances(name) and totals


RECIPE = """\
version: 1
seed: 5
output: {format: png}
splits: {names: [train, val], augment: [train]}
balance: BALANCE
pipeline:
  - hflip: {p: 0.5}
  - gaussian_noise: {std: [2, 6]}
"""

BOX = "0.5 0.5 0.25 0.25"
LABELS = {
    "train/c0": ["0"],
    "train/c1": ["0"],
    "train/c2": ["0"],
    "train/c3": ["0"],
    "train/m": ["0", "1"],
    "train/d": ["1", "1"],
    "train/bg": [],
    "val/v0": ["1"],
}


def yolo_input(root: Path) -> Path:
    images = {f"images/{key}.png": seed for seed, key in enumerate(LABELS)}
    write_images(root, images)
    for key, classes in LABELS.items():
        label = root / f"labels/{key}.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text("".join(f"{c} {BOX}\n" for c in classes))
    (root / "data.yaml").write_text(
        "path: .\ntrain: images/train\nval: images/val\nnames: {0: cat, 1: dog}\n"
    )
    return root


def counted(out: Path) -> Counter[str]:
    """The instances of each class in the train labels written (originals and variants)."""
    found: Counter[str] = Counter()
    for label in (out / "labels/train").glob("*.txt"):
        for line in label.read_text().splitlines():
            found[("cat", "dog")[int(line.split()[0])]] += 1
    return found


def test_balanced_yolo_expand_hits_its_instance_targets_and_is_job_independent(
    tmp_path: Path,
) -> None:
    source = yolo_input(tmp_path / "in")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.replace("BALANCE", "{strategy: all, target: 9, max_variants: 5}"))
    digests = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        result = invoke("expand", recipe, source, "-o", out, "--jobs", jobs, "--json")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        digest = tree_digest(out, frozenset({"run.json"}))
        digests.append({k: v for k, v in digest.items() if not k.startswith(".augtool")})
    assert digests[0] == digests[1]
    header = read_manifest(tmp_path / "out1")[0]
    classes = header["balance"]["classes"]
    assert header["balance"]["count"] == "instances" and summary["balance"] == header["balance"]
    assert {n: c["before"] for n, c in classes.items()} == {"cat": 5, "dog": 3}
    # what the header says is what the written labels hold, and each class is at its target
    assert {n: c["after"] for n, c in classes.items()} == counted(tmp_path / "out1")
    assert {n: c["after"] for n, c in classes.items()} == {"cat": 9, "dog": 9}
    assert not any("balance" in warning for warning in summary["warnings"])
    assert not list((tmp_path / "out1/images/train").glob("bg__v*"))  # no objects: no variants
    validated = invoke(
        "validate", "manifest", tmp_path / "out1/manifest.jsonl", "--source", source,
        "--recompute", "all",
    )  # fmt: skip
    assert validated.exit_code == 0, validated.output


def test_dry_run_shows_instances_per_class_and_refuses_a_missing_class(tmp_path: Path) -> None:
    source = yolo_input(tmp_path / "in")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.replace("BALANCE", "{strategy: all, target: 5, max_variants: 1}"))
    result = invoke("expand", recipe, source, "-o", tmp_path / "out", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "balance (instances): cat: 5 -> 5, dog: 3 -> 5" in result.output
    assert not (tmp_path / "out").exists()
    recipe.write_text(RECIPE.replace("BALANCE", "{strategy: {dog: 40}, max_variants: 2}"))
    warned = invoke("expand", recipe, source, "-o", tmp_path / "out", "--dry-run")
    assert warned.exit_code == 0 and "class 'dog' reaches" in warned.output
    recipe.write_text(RECIPE.replace("BALANCE", "{strategy: {cat: 9, zebra: 3}}"))
    refused = invoke("expand", recipe, source, "-o", tmp_path / "out", "--dry-run")
    assert refused.exit_code == 2 and "zebra" in refused.output
