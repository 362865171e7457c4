"""The README documents what the code has: every transform, and the two CI-run commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from augtool.media.image.transforms import BLOCKS, REGISTRY

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted([*REGISTRY, *BLOCKS]))
def test_readme_lists_every_transform(name: str) -> None:
    assert f"`{name}`" in README


@pytest.mark.parametrize("tag", ["<!-- ci:main -->", "<!-- ci:test -->"])
def test_readme_marks_the_two_commands_ci_runs(tag: str) -> None:
    after = README.split(tag, 1)[1].lstrip()
    assert after.startswith("```bash\n")
    command = after.split("\n")[1]
    assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install ")
