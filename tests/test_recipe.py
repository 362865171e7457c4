"""The recipe contract: valid recipes normalise and hash stably; every error names file:line:col."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from conftest import invoke

from augtool.canonical import canonical_json
from augtool.errors import RecipeError
from augtool.recipe import load_recipe
from augtool.recipe.fields import LAYOUTS
from augtool.recipe.model import Recipe

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str) -> Recipe:
    return load_recipe(write(tmp_path, text))


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    return str(info.value)


# --- valid recipes ---------------------------------------------------------------------------


def test_single_number_limit_equals_symmetric_range(tmp_path: Path) -> None:
    short = load_text(tmp_path, "version: 1\npipeline:\n  - rotate: {limit: 15}\n")
    long = load_text(tmp_path, "version: 1\npipeline:\n  - rotate: {limit: [-15, 15]}\n")
    assert short.normalised == long.normalised
    assert short.sha256 == long.sha256
    assert short.normalised["pipeline"][0]["rotate"]["limit"] == [-15.0, 15.0]


def test_defaults_are_filled(tmp_path: Path) -> None:
    recipe = load_text(tmp_path, "version: 1\npipeline:\n  - rotate: {limit: 15}\n")
    assert recipe.normalised == {
        "version": 1,
        "seed": 0,
        "variants": 4,
        "input": {
            "layout": "auto",
            "extensions": [".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"],
            "formats": ["JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"],
            "max_pixels": 89_478_485,
            "follow_links": False,
        },
        "output": {
            "format": "same",
            "quality": 92,
            "originals": "copy",
            "strip_metadata": True,
        },
        "splits": {"augment": ["train"], "names": ["train", "val", "test"]},
        "targets": {"bbox": {"min_visibility": 0.0, "min_area": 0.0}, "flip_pairs": []},
        "pipeline": [
            {
                "rotate": {
                    "limit": [-15.0, 15.0],
                    "interpolation": "bilinear",
                    "border": "constant",
                    "fill": 0,
                    "p": 1.0,
                }
            }
        ],
    }
    assert recipe.seed == 0
    assert recipe.variants == 4
    assert len(recipe.steps) == 1


def test_sha256_is_the_hash_of_the_canonical_normalised_recipe(tmp_path: Path) -> None:
    recipe = load_text(tmp_path, "version: 1\nseed: 7\npipeline:\n  - hflip: {p: 0.5}\n")
    expected = hashlib.sha256(canonical_json(recipe.normalised).encode("utf-8")).hexdigest()
    assert recipe.sha256 == expected
    # Stable: loading the same text again gives the same hash.
    assert load_text(tmp_path, "version: 1\nseed: 7\npipeline:\n  - hflip: {p: 0.5}\n").sha256 == (
        expected
    )


@pytest.mark.parametrize(
    "changed",
    [
        "version: 1\nseed: 7\npipeline:\n  - hflip: {p: 0.6}\n",
        "version: 1\nseed: 8\npipeline:\n  - hflip: {p: 0.5}\n",
        "version: 1\nseed: 7\nvariants: 3\npipeline:\n  - hflip: {p: 0.5}\n",
        "version: 1\nseed: 7\noutput: {quality: 80}\npipeline:\n  - hflip: {p: 0.5}\n",
    ],
)
def test_sha256_changes_with_a_parameter(tmp_path: Path, changed: str) -> None:
    base = load_text(tmp_path, "version: 1\nseed: 7\npipeline:\n  - hflip: {p: 0.5}\n")
    assert load_text(tmp_path, changed).sha256 != base.sha256


def test_paths_are_not_part_of_the_hash(tmp_path: Path) -> None:
    a = load_text(tmp_path, "version: 1\ninput: {path: a}\noutput: {path: b}\n")
    b = load_text(tmp_path, "version: 1\ninput: {path: c}\noutput: {path: d}\n")
    assert a.sha256 == b.sha256
    assert a.input["path"] == "a"
    assert a.output["path"] == "b"


def test_key_order_and_flow_style_do_not_change_the_hash(tmp_path: Path) -> None:
    a = load_text(tmp_path, "version: 1\nseed: 3\npipeline:\n  - rotate: {limit: 5, p: 0.5}\n")
    b = load_text(
        tmp_path, "seed: 3\nversion: 1\npipeline:\n  - rotate:\n      p: 0.5\n      limit: 5\n"
    )
    assert a.sha256 == b.sha256


def test_blocks_normalise_their_children(tmp_path: Path) -> None:
    recipe = load_text(
        tmp_path,
        "version: 1\npipeline:\n  - one_of:\n      transforms:\n        - hflip\n"
        "        - vflip: {p: 0.2}\n",
    )
    assert recipe.normalised["pipeline"] == [
        {"one_of": {"p": 1.0, "transforms": [{"hflip": {"p": 0.5}}, {"vflip": {"p": 0.2}}]}}
    ]


def test_repository_configs_load() -> None:
    for name in ("quickstart.yaml", "classification.yaml"):
        recipe = load_recipe(REPO / "configs" / name)
        assert recipe.normalised["version"] == 1
        assert recipe.steps


# --- errors: file:line:column and the expected form -----------------------------------------

ERRORS = {
    "unknown top-level key": (
        "version: 1\npipelin: []\n",
        "2:1: unknown recipe key 'pipelin'; did you mean 'pipeline'?",
    ),
    "unknown section key": (
        "version: 1\ninput: {pth: x}\n",
        "2:9: unknown input key 'pth'; did you mean 'path'?",
    ),
    "unknown transform": (
        "version: 1\npipeline:\n  - rotat: {limit: 15}\n",
        "3:5: unknown transform 'rotat'; did you mean 'rotate'?",
    ),
    "unknown transform inside a block": (
        "version: 1\npipeline:\n  - one_of:\n      transforms:\n        - rotat: {}\n",
        "5:11: unknown transform 'rotat'; did you mean 'rotate'?",
    ),
    "unknown parameter": (
        "version: 1\npipeline:\n  - rotate: {limt: 15}\n",
        "3:14: rotate: unknown parameter 'limt'; did you mean 'limit'?",
    ),
    "unknown block parameter": (
        "version: 1\npipeline:\n  - one_of: {transforms: [hflip], q: 1}\n",
        "3:35: unknown one_of parameter 'q'; expected one of: p, transforms",
    ),
    "bad range": (
        "version: 1\npipeline:\n  - rotate: {limit: [20, 10]}\n",
        "3:21: rotate: parameter 'limit': min must be <= max, got [20, 10]",
    ),
    "p above 1": (
        "version: 1\npipeline:\n  - hflip: {p: 1.5}\n",
        "3:16: hflip: parameter 'p': value must be <= 1.0, got 1.5",
    ),
    "p below 0": (
        "version: 1\npipeline:\n  - hflip: {p: -0.1}\n",
        "3:16: hflip: parameter 'p': value must be >= 0.0, got -0.1",
    ),
    "size not positive": (
        "version: 1\npipeline:\n  - random_resized_crop: {size: [0, 10]}\n",
        "3:33: random_resized_crop: parameter 'size': expected [height, width] of positive "
        "whole numbers, or one positive whole number, got [0, 10]",
    ),
    "wrong type (top level)": (
        "version: 1\nvariants: many\n",
        "2:11: variants: expected a whole number in [0, 10000], got 'many'",
    ),
    "wrong type (parameter)": (
        "version: 1\npipeline:\n  - rotate: {limit: abc}\n",
        "3:21: rotate: parameter 'limit': expected [min, max] of numbers in [-360, 360], "
        "or a number x (meaning [-x, x]), got 'abc'",
    ),
    "wrong type (parameters not a mapping)": (
        "version: 1\npipeline:\n  - rotate: 15\n",
        "3:13: rotate: expected a mapping of parameters, got 15",
    ),
    "negative seed": ("version: 1\nseed: -1\n", "2:7: seed: value must be >= 0, got -1"),
    "unknown input format": (
        "version: 1\ninput: {formats: [JPEG, MPO]}\n",
        "2:18: input.formats: 'MPO' is not an image format Pillow can read; "
        "expected names such as JPEG, PNG, WEBP, BMP, TIFF, GIF",
    ),
    "version missing": (
        "seed: 1\n",
        "1:1: missing 'version: 1' (the recipe format version)",
    ),
    "version 2": ("version: 2\n", "1:10: unsupported recipe version 2; expected 1"),
    "version true": ("version: true\n", "1:10: unsupported recipe version True; expected 1"),
    "duplicate key": (
        "version: 1\nseed: 1\nseed: 2\n",
        "3:1: duplicate key 'seed' (first given on line 2)",
    ),
    "duplicate nested key": (
        "version: 1\npipeline:\n  - rotate:\n      limit: 5\n      limit: 6\n",
        "5:7: duplicate key 'limit' (first given on line 4)",
    ),
    "anchor": (
        "version: 1\nx: &a [1]\n",
        "2:4: YAML anchors and aliases (&name, *name) are not allowed in a recipe",
    ),
    "invalid YAML (unclosed list)": (
        "version: 1\npipeline: [\n",
        "3:1: invalid YAML: expected the node content, but found '<stream end>'",
    ),
    "invalid YAML (bad indent)": (
        "version: 1\n  seed: 2\n",
        "2:7: invalid YAML: mapping values are not allowed here",
    ),
    "control character": (
        "version: 1\npipeline: []\n\x01\n",
        "3:1: invalid YAML: unacceptable character #x0001: special characters are not allowed",
    ),
    "control character after CRLF line breaks": (
        "version: 1\r\npipeline: []\r\n  \x7f\n",
        "3:3: invalid YAML: unacceptable character #x007f: special characters are not allowed",
    ),
    "unsafe tag": (
        "version: 1\nseed: !!python/object:os.system x\n",
        "2:7: invalid value: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object:os.system'",
    ),
    "empty file": ("", "1:1: the recipe is empty; expected a mapping with 'version: 1'"),
    "only a comment": (
        "# nothing here\n",
        "1:1: the recipe is empty; expected a mapping with 'version: 1'",
    ),
    "top level not a mapping": (
        "- hflip\n",
        "1:1: expected a mapping with 'version: 1', 'pipeline: [...]', ...",
    ),
    "pipeline not a list": (
        "version: 1\npipeline: hflip\n",
        "2:11: expected a list of steps, e.g. '- hflip: {p: 0.5}'",
    ),
    "step with two keys": (
        "version: 1\npipeline:\n  - hflip: {}\n    rotate: {}\n",
        "3:5: step pipeline[0]: expected one transform name with its parameters, "
        "e.g. '- hflip: {p: 0.5}'",
    ),
    "step is a list": (
        "version: 1\npipeline:\n  - hflip\n  - [vflip]\n",
        "4:5: step pipeline[1]: expected one transform name with its parameters, "
        "e.g. '- hflip: {p: 0.5}'",
    ),
    "one_of without transforms": (
        "version: 1\npipeline:\n  - one_of:\n      p: 0.5\n",
        "4:7: one_of: expected 'transforms:' with a non-empty list of steps",
    ),
    "one_of with an empty list": (
        "version: 1\npipeline:\n  - one_of: {transforms: []}\n",
        "3:13: one_of: expected 'transforms:' with a non-empty list of steps",
    ),
    "one_of given its steps as a list, as A.OneOf takes them": (
        "version: 1\npipeline:\n  - one_of:\n      - hflip: {}\n      - vflip: {}\n",
        "4:7: one_of: expected its steps under 'transforms:' (with p beside it), got a list; "
        "write 'one_of: {p: 0.5, transforms: [...]}'",
    ),
    "some_of n above the children": (
        "version: 1\npipeline:\n  - some_of:\n      n: 3\n      transforms:\n"
        "        - hflip: {}\n        - vflip: {}\n",
        "4:10: some_of: n [3, 3] asks for more than the 2 steps",
    ),
    "some_of n above the children that can be picked": (
        "version: 1\npipeline:\n  - some_of:\n      n: [1, 2]\n      transforms:\n"
        "        - hflip: {p: 0}\n        - vflip: {}\n",
        "4:10: some_of: n [1, 2] asks for up to 2 steps, but only 1 can be picked (the others "
        "have p 0)",
    ),
    "splits.augment names an unknown split": (
        "version: 1\nsplits: {augment: [trian]}\n",
        "2:19: split 'trian' is not among splits.names ['train', 'val', 'test']",
    ),
    "output format misspelt": (
        "version: 1\noutput: {format: jpg}\n",
        "2:18: output.format: expected one of same, jpeg, png, webp, tiff, got 'jpg'; "
        "did you mean 'jpeg'?",
    ),
    "layout in capitals": (
        "version: 1\ninput: {layout: YOLO}\n",
        # Every registered layout is a choice, in the registry's order.
        f"2:17: input.layout: expected one of {', '.join(LAYOUTS)}, "
        "got 'YOLO'; did you mean 'yolo'?",
    ),
    "border misspelt": (
        "version: 1\npipeline:\n  - rotate: {border: reflct}\n",
        "3:22: rotate: parameter 'border': expected one of constant, reflect, replicate, wrap, "
        "got 'reflct'; did you mean 'reflect'?",
    ),
    "input format misspelt": (
        "version: 1\ninput: {formats: [JPG]}\n",
        "2:18: input.formats: 'JPG' is not an image format Pillow can read; "
        "expected names such as JPEG, PNG, WEBP, BMP, TIFF, GIF; did you mean 'JPEG'?",
    ),
    "layout unknown": (
        "version: 1\ninput: {layout: pascal}\n",
        f"2:17: input.layout: expected one of {', '.join(LAYOUTS)}, got 'pascal'",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS), ids=list(ERRORS))
def test_recipe_error_names_file_line_column(tmp_path: Path, case: str) -> None:
    text, expected = ERRORS[case]
    path = write(tmp_path, text)
    assert error_of(tmp_path, text) == f"{path}:{expected}"


def test_error_carries_line_and_column_attributes(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\npipeline:\n  - rotat: {}\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert (info.value.file, info.value.line, info.value.column) == (str(path), 3, 5)
    assert info.value.exit_code == 2


def test_billion_laughs_is_refused_fast(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    text = "version: 1\n" + "\n".join(lines) + "\n"
    started = time.perf_counter()
    message = error_of(tmp_path, text)
    assert time.perf_counter() - started < 1.0
    assert message == (
        f"{tmp_path / 'recipe.yaml'}:2:5: "
        "YAML anchors and aliases (&name, *name) are not allowed in a recipe"
    )


def test_alias_without_anchor_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, "version: 1\nseed: *nothing\n")
    assert message.startswith(f"{tmp_path / 'recipe.yaml'}:2:7: ")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert str(info.value) == f"{path}: no such recipe file"


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(RecipeError) as info:
        load_recipe(tmp_path)
    assert str(info.value) == f"{tmp_path}: is a folder, expected a YAML recipe file"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"version: 1\n# caf\xe9\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert str(info.value).startswith(f"{path}: cannot read the recipe: ")


# --- augtool validate recipe -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["quickstart.yaml", "classification.yaml"])
def test_validate_recipe_accepts_the_shipped_configs(name: str) -> None:
    path = REPO / "configs" / name
    result = invoke("validate", "recipe", path)
    assert result.exit_code == 0, result.output
    sha = load_recipe(path).sha256
    steps = len(load_recipe(path).steps)
    assert result.stdout == f"{path}: OK ({steps} steps, recipe sha256 {sha})\n"
    assert result.stderr == ""


def test_validate_recipe_rejects_a_bad_one_with_one_error_line(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\npipeline:\n  - rotate: {limt: 15}\n")
    result = invoke("validate", "recipe", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {path}:3:14: rotate: unknown parameter 'limt'; did you mean 'limit'?\n"
    )


NON_FINITE = {
    "variants inf": ("variants: .inf", "1:11: variants: value must be a finite number, got inf"),
    "variants nan": ("variants: .nan", "1:11: variants: value must be a finite number, got nan"),
    "seed inf": ("seed: .inf", "1:7: seed: value must be a finite number, got inf"),
    "seed -inf": ("seed: -.inf", "1:7: seed: value must be a finite number, got -inf"),
    "quality nan": (
        "output: {quality: .nan}",
        "1:19: output.quality: value must be a finite number, got nan",
    ),
    "max_pixels inf": (
        "input: {max_pixels: .inf}",
        "1:21: input.max_pixels: value must be a finite number, got inf",
    ),
    "size inf": (
        "pipeline: [random_resized_crop: {size: .inf}]",
        "1:40: random_resized_crop: parameter 'size': value must be a finite number, got inf",
    ),
    "size with nan": (
        "pipeline: [random_resized_crop: {size: [.nan, 8]}]",
        "1:40: random_resized_crop: parameter 'size': value must be a finite number, got nan",
    ),
    "fill nan": (
        "pipeline: [rotate: {limit: 10, fill: .nan}]",
        "1:38: rotate: parameter 'fill': value must be a finite number, got nan",
    ),
    "fill with inf": (
        "pipeline: [rotate: {limit: 10, fill: [0, .inf, 0]}]",
        "1:38: rotate: parameter 'fill': value must be a finite number, got inf",
    ),
    "erasing value nan": (
        "pipeline: [random_erasing: {value: .nan}]",
        "1:36: random_erasing: parameter 'value': value must be a finite number, got nan",
    ),
    "rot90 k inf": (
        "pipeline: [rot90: {k: .inf}]",
        "1:23: rot90: parameter 'k': value must be a finite number, got inf",
    ),
    "resize size inf": (
        "pipeline: [resize: {size: .inf}]",
        "1:27: resize: parameter 'size': value must be a finite number, got inf",
    ),
    "padding nan": (
        "pipeline: [pad: {padding: .nan}]",
        "1:27: pad: parameter 'padding': value must be a finite number, got nan",
    ),
    "whole-number range inf": (
        "pipeline: [coarse_dropout: {num_holes_range: [1, .inf]}]",
        "1:46: coarse_dropout: parameter 'num_holes_range': "
        "range bound must be a finite number, got inf",
    ),
    "size beyond a float": (
        f"pipeline: [random_resized_crop: {{size: {10**400}}}]",
        "1:40: random_resized_crop: parameter 'size': value is too large, "
        "got a number of 401 digits",
    ),
    "range bound beyond a float": (
        f"pipeline: [rotate: {{limit: {10**400}}}]",
        "1:28: rotate: parameter 'limit': range bound is too large, got a number of 401 digits",
    ),
    "probability beyond a float": (
        f"pipeline: [hflip: {{p: {10**400}}}]",
        "1:23: hflip: parameter 'p': value is too large, got a number of 401 digits",
    ),
}


@pytest.mark.parametrize("case", list(NON_FINITE), ids=list(NON_FINITE))
def test_validate_recipe_refuses_non_finite_numbers(tmp_path: Path, case: str) -> None:
    """inf, nan (and whole numbers beyond a float) once crashed int() with a traceback."""
    line, expected = NON_FINITE[case]
    path = write(tmp_path, f"{line}\nversion: 1\n")
    result = invoke("validate", "recipe", path)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == f"Error: {path}:{expected}\n"


def test_the_largest_seed_is_accepted_exactly(tmp_path: Path) -> None:
    """2**63 - 1 once failed its whole-number check: as a float it rounds to 2**63."""
    assert load_text(tmp_path, f"version: 1\nseed: {2**63 - 1}\n").seed == 2**63 - 1
    message = error_of(tmp_path, f"version: 1\nseed: {2**63}\n")
    assert message.endswith(f":2:7: seed: value must be <= {2**63 - 1}, got {2**63}")


def test_validate_recipe_control_character_is_one_line(tmp_path: Path) -> None:
    """PyYAML's message for it spans two lines and gives a character index, not a line."""
    path = write(tmp_path, "version: 1\npipeline: []\n\x01\n")
    result = invoke("validate", "recipe", path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {path}:3:1: invalid YAML: unacceptable character #x0001: "
        "special characters are not allowed\n"
    )


def test_validate_recipe_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    result = invoke("validate", "recipe", path)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {path}: no such recipe file\n"
