"""The README and docs/ say what the code does: every example in them runs or says why it cannot.

A fenced block in bash, sh, python or yaml is an example, and the line before it (blank lines
aside) is a marker saying what to do with it:

- ``<!-- example: run -->``: bash runs under ``bash -euo pipefail``, python under this Python;
- ``<!-- example: recipe -->``: yaml, a whole recipe, loaded as if it sat in ``configs/``;
- ``<!-- example: fragment -->``: yaml, top-level recipe keys added to configs/quickstart.yaml;
- ``<!-- example: steps -->``: yaml, pipeline steps in place of configs/quickstart.yaml's;
- ``<!-- example: skip: REASON -->``: not run (a cluster, PyPI), and the reason says why;
- ``<!-- ci:main -->``, ``<!-- ci:test -->``: the README's two commands, which .ci/run runs;
- ``<!-- test:api -->``: the API example tests/test_api.py runs.

A page's runnable blocks run in order in one temporary copy of configs/, samples/ and docs/, as
a reader following the page from the repository root would, with this environment's ``augtool``
first on the PATH. Blocks without a language (a listing, a synopsis) are not examples.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import augtool
from augtool import docs
from augtool.media import registry as media_registry
from augtool.media.image.transforms import BLOCKS, REGISTRY

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("docs/*.md"))]
README = (ROOT / "README.md").read_text(encoding="utf-8")
LANGUAGES = {"bash", "sh", "python", "yaml"}
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
MARKER = re.compile(r"^\s*<!-- (?P<marker>example: [\w-]+(?::.*?)?|ci:\w+|test:api) -->\s*$")
MARKERS = {
    "example: run",
    "example: recipe",
    "example: fragment",
    "example: steps",
    "ci:main",
    "ci:test",
    "test:api",
}


@dataclass(frozen=True)
class Example:
    page: str
    line: int
    lang: str
    marker: str | None
    code: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def examples(page: str) -> list[Example]:
    """Every fenced block with a language in ``page``, with the marker before it."""
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
    found, number = [], 0
    while number < len(lines):
        fence = FENCE.match(lines[number])
        number += 1
        if not fence:
            continue
        indent, lang, start = fence["indent"], fence["lang"], number
        while number < len(lines) and lines[number].strip() != "```":
            number += 1
        number += 1  # past the closing fence
        if lang:
            body = [line[len(indent) :] for line in lines[start : number - 1]]
            found.append(Example(page, start, lang, _marker(lines, start - 1), "\n".join(body)))
    return found


def _marker(lines: list[str], fence: int) -> str | None:
    before = [line for line in lines[:fence] if line.strip()]
    marker = MARKER.match(before[-1]) if before else None
    return marker["marker"] if marker else None


def _marked(marker: str) -> list[Example]:
    return [e for page in PAGES for e in examples(page) if e.marker == marker]


@pytest.mark.parametrize("page", PAGES)
def test_every_example_is_run_or_says_why_not(page: str) -> None:
    for example in examples(page):
        if example.lang not in LANGUAGES:
            continue
        marker = example.marker or ""
        skipped = marker.startswith("example: skip:") and marker.split(":", 2)[2].strip()
        assert marker in MARKERS or skipped, (
            f"{example}: a {example.lang} block needs a marker on the line before it, e.g. "
            "<!-- example: run --> or <!-- example: skip: REASON --> (tests/test_docs.py)"
        )


def test_the_markers_are_found() -> None:
    """The parser finds each kind of block, so the checks above are not vacuous."""
    kinds = {e.marker for page in PAGES for e in examples(page)}
    assert {"example: run", "example: recipe", "example: fragment", "example: steps"} <= kinds
    assert {"ci:main", "ci:test", "test:api"} <= kinds
    assert [e.lang for e in _marked("ci:main")] == ["bash"]


def _workspace(tmp_path: Path) -> Path:
    for folder in ("configs", "samples", "docs"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def _run(example: Example, cwd: Path) -> None:
    if example.lang == "python":
        command = [sys.executable, "-c", example.code]
    else:
        command = ["bash", "-euo", "pipefail", "-c", example.code]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    done = subprocess.run(
        command, cwd=cwd, env={**os.environ, "PATH": path}, capture_output=True, text=True
    )
    assert done.returncode == 0, f"{example} exited {done.returncode}:\n{done.stderr[-3000:]}"


RUNNABLE = sorted({e.page for e in _marked("example: run")})


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE)
def test_the_page_examples_run(page: str, tmp_path: Path) -> None:
    cwd = _workspace(tmp_path)
    for example in examples(page):
        if example.marker == "example: run":
            _run(example, cwd)


def _quickstart() -> dict:
    return yaml.safe_load((ROOT / "configs" / "quickstart.yaml").read_text(encoding="utf-8"))


def _as_recipe(example: Example) -> dict:
    value = yaml.safe_load(example.code)
    if example.marker == "example: recipe":
        return value
    recipe = _quickstart()
    if example.marker == "example: steps":
        assert isinstance(value, list), example
        # another medium's steps go in that medium's bundled config (configs/audio.yaml)
        medium = media_registry.medium_of(value)
        if medium != media_registry.DEFAULT:
            config = (ROOT / "configs" / f"{medium}.yaml").read_text(encoding="utf-8")
            recipe = yaml.safe_load(config)
        recipe["pipeline"] = value
    else:
        assert isinstance(value, dict), example
        recipe.update(value)
    return recipe


YAML = [e for m in ("example: recipe", "example: fragment", "example: steps") for e in _marked(m)]


@pytest.mark.parametrize("example", YAML, ids=str)
def test_the_yaml_examples_are_valid_recipes(example: Example, tmp_path: Path) -> None:
    path = tmp_path / "configs" / "example.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(_as_recipe(example), sort_keys=False), encoding="utf-8")
    augtool.load_recipe(path)


def test_the_transform_reference_is_current() -> None:
    """docs/transforms.md is generated from the registry; regenerate it with
    ``python -m augtool.docs docs/transforms.md``."""
    page = (ROOT / "docs" / "transforms.md").read_text(encoding="utf-8")
    assert page == docs.markdown(), "docs/transforms.md is stale: python -m augtool.docs"


@pytest.mark.parametrize("name", sorted([*REGISTRY, *BLOCKS]))
def test_the_docs_list_every_transform(name: str) -> None:
    page = (ROOT / "docs" / "transforms.md").read_text(encoding="utf-8")
    assert f"`{name}`" in page
    assert f"\n### {name}\n" in page
    assert f"- {name}" in page  # its example


@pytest.mark.parametrize("tag", ["<!-- ci:main -->", "<!-- ci:test -->"])
def test_readme_marks_the_two_commands_ci_runs(tag: str) -> None:
    after = README.split(tag, 1)[1].lstrip()
    assert after.startswith("```bash\n")
    command = after.split("\n")[1]
    assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install ")


def test_the_readme_is_a_front_page() -> None:
    assert len(README.splitlines()) <= 250


LINK = re.compile(r"\]\((?!https?://|#)(?P<target>[^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES)
def test_relative_links_lead_to_files(page: str) -> None:
    text = (ROOT / page).read_text(encoding="utf-8")
    folder = (ROOT / page).parent
    missing = [m["target"] for m in LINK.finditer(text) if not (folder / m["target"]).exists()]
    assert not missing, f"{page} links to missing files: {missing}"


def test_shell_completion_completes_commands_and_options() -> None:
    """docs/cli.md documents Typer's completion: the shell asks the command itself."""
    script = Path(sys.executable).parent / "augtool"
    env = {**os.environ, "_AUGTOOL_COMPLETE": "complete_bash", "COMP_CWORD": "1"}
    done = subprocess.run(
        [script], env={**env, "COMP_WORDS": "augtool ex"}, capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.split() == ["expand"], done
    env.update(COMP_WORDS="augtool expand --ba", COMP_CWORD="2")
    done = subprocess.run([script], env=env, capture_output=True, text=True)
    assert done.stdout.split() == ["--backend"], done
