"""The plan: names, seeds and label files per source, and the refusal of two sources that would
write the same file (checked in a sliding window, against a check of every name)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augtool.errors import InputError
from augtool.layouts.discovery import Dataset, Source
from augtool.run.plan import Task, make_plan, variant_paths, variant_seed


def dataset(paths: list[str], layout: str = "flat", annotated: bool = False) -> Dataset:
    sources = tuple(
        Source(p, None, None, True, annotation="labels" if annotated else None)
        for p in sorted(set(paths))
    )
    return Dataset(Path("data"), layout, (), sources, ())


def clash_by_every_name(tasks: list[Task]) -> bool:
    seen: set[str] = set()
    for task in tasks:
        for name in task.names:
            if name in seen:
                return True
            seen.add(name)
    return False


def test_names_seeds_and_labels_are_derived_from_the_source() -> None:
    (task,) = make_plan(dataset(["images/train/cat.jpg"], "yolo", True), 3, 7, "png", "copy")
    assert task.original == "images/train/cat.jpg"
    assert (
        task.variants
        == variant_paths("images/train/cat.jpg", 3, 2, "png")
        == tuple(f"images/train/cat__v0{i}.png" for i in range(3))
    )
    assert task.variants[0] == "images/train/cat__v00.png"
    assert task.seeds == tuple(variant_seed(7, "images/train/cat.jpg", i) for i in range(3))
    assert task.labels == (
        "labels/train/cat.txt",
        "labels/train/cat__v00.txt",
        "labels/train/cat__v01.txt",
        "labels/train/cat__v02.txt",
    )
    assert task.encoder == "PNG"


@pytest.mark.parametrize(
    ("paths", "fmt", "originals", "layout", "name"),
    [
        (["a.jpg", "a.png"], "jpeg", "skip", "flat", "a__v00.jpg"),
        (["d/a.jpg", "d/a__v01.jpg"], "same", "copy", "flat", "d/a__v01.jpg"),
        (["images/x.jpg", "images/x.png"], "same", "skip", "yolo", "labels/x__v00.txt"),
        (["images/y.jpg", "images/y.png"], "same", "copy", "yolo", "labels/y.txt"),
        (["s/a.b.jpg", "s/a.b.jpg.x/y.jpg", "s/a.b.png"], "jpeg", "skip", "flat", "s/a.b__v00.jpg"),
    ],
)
def test_two_sources_that_would_write_one_name_are_refused(
    paths: list[str], fmt: str, originals: str, layout: str, name: str
) -> None:
    with pytest.raises(InputError, match=f"would both write {name!r}; rename one of them"):
        make_plan(dataset(paths, layout, layout == "yolo"), 2, 0, fmt, originals)


def test_the_same_stem_in_other_formats_is_fine_with_format_same() -> None:
    tasks = make_plan(dataset(["a.jpg", "a.png", "a.webp"]), 4, 0, "same", "copy")
    assert not clash_by_every_name(tasks)
    assert [t.variants[0] for t in tasks] == ["a__v00.jpg", "a__v00.png", "a__v00.webp"]


parts = st.sampled_from(["a", "b", "a.b", "a__v0", "a__v00", "a__v01", "x", "_", "a.", "ab"])
endings = st.sampled_from([".jpg", ".png", ".jpeg", ".webp", ".gif"])
paths = st.builds(
    lambda folders, stem, ending: "/".join([*folders, stem]) + ending,
    st.lists(parts, max_size=2),
    parts,
    endings,
)


@settings(max_examples=300, deadline=None)
@given(
    chosen=st.lists(paths, min_size=1, max_size=12, unique=True),
    fmt=st.sampled_from(["same", "jpeg", "png"]),
    originals=st.sampled_from(["copy", "skip"]),
    layout=st.sampled_from(["flat", "yolo"]),
    variants=st.integers(0, 3),
)
def test_the_window_refuses_exactly_what_a_check_of_every_name_refuses(
    chosen: list[str], fmt: str, originals: str, layout: str, variants: int
) -> None:
    if layout == "yolo":
        chosen = [f"images/{p}" for p in chosen]
    data = dataset(chosen, layout, layout == "yolo")
    naming_only = make_plan(Dataset(Path("data"), layout, (), (), ()), variants, 0, fmt, originals)
    assert list(naming_only) == []
    try:
        tasks = make_plan(data, variants, 0, fmt, originals)
    except InputError:
        refused = True
    else:
        refused = False
        assert not clash_by_every_name(tasks)
    if refused:
        # Rebuild the tasks one by one, as the plan would, and find the clash by brute force.
        from augtool.run.plan import Naming, output_format

        naming = Naming(variants, 2, 0, fmt, None if layout == "coco" else layout)
        tasks = [
            Task(s, naming, None if originals == "skip" else s.path, output_format(s.path, fmt)[0])
            for s in data.sources
        ]
        assert clash_by_every_name(tasks)


@pytest.mark.parametrize("originals", ["copy", "skip"])
@pytest.mark.parametrize("counts", [None, {"a.jpg": 3, "c.jpg": 0}])
@pytest.mark.parametrize("layout", ["flat", "table"])
def test_the_image_total_is_the_tasks_image_counts_summed(
    originals: str, counts: dict[str, int] | None, layout: str
) -> None:
    """Counted from the sources (a source not augmented, a balanced count, a packed layout's
    one file of variants), it is what the tasks say."""
    sources = tuple(Source(p, None, None, p != "b.jpg") for p in ["a.jpg", "b.jpg", "c.jpg"])
    data = Dataset(Path("data"), layout, (), sources, ())
    plan = make_plan(data, 4, 0, "same", originals, counts=counts)
    assert plan.image_total() == sum(task.image_count for task in plan)
    assert dataclasses.replace(plan, images=None).image_total() == plan.image_total()
