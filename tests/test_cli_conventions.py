"""The command line's conventions (docs/cli.md): usual --help metavars, -v for detail, NO_COLOR,
--json on every command with the documented keys, and a --version that names the libraries."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy
import PIL
import pytest
from conftest import invoke

from augtool import __version__

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"
PHOTOS = ROOT / "samples" / "photos"
COMMANDS = [
    ["expand"],
    ["preview"],
    ["transforms"],
    ["validate", "manifest"],
    ["validate", "recipe"],
    ["recipe", "new"],
    ["recipe", "schema"],
    ["recipe", "import"],
]


@pytest.mark.parametrize("command", [*COMMANDS, ["report"]], ids=" ".join)
def test_help_shows_arguments_and_options_in_the_usual_form(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    usage = result.stdout.splitlines()[0]
    assert "{" not in usage and "<" not in usage, usage
    assert not re.search(r"<(path|str|int|float|int range|float range)>", result.stdout)


def test_the_usage_line_reads_as_a_man_page_does() -> None:
    assert invoke("expand", "--help").stdout.startswith(
        "Usage: augtool expand [OPTIONS] RECIPE [INPUT]\n"
    )
    assert "-o, --output OUT" in invoke("expand", "--help").stdout
    assert "--recompute K|all" in invoke("validate", "manifest", "--help").stdout
    result = invoke("expand")
    assert result.exit_code == 2 and "Missing argument 'RECIPE'" in result.output


def test_version_names_the_libraries_that_decide_the_bytes() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        f"augtool {__version__}",
        f"numpy {numpy.__version__}",
        f"pillow {PIL.__version__}",
    ]
    assert lines[-1].startswith("python ")


def _documented_keys() -> dict[str, tuple[set[str], set[str]]]:
    """Each command's --json keys from docs/cli.md: (always there, only sometimes)."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    found: dict[str, tuple[set[str], set[str]]] = {}
    for section in re.split(r"\n### ", text)[1:]:
        title = re.match(r"`augtool ([a-z ]+) --json`", section)
        if title is None:
            continue
        always: set[str] = set()
        sometimes: set[str] = set()
        for row in re.findall(r"^\| (`[^|]+`) \| ([^|]+) \|$", section, re.MULTILINE):
            keys = set(re.findall(r"`([^`]+)`", row[0]))
            (sometimes if row[1].startswith("only") else always).update(keys)
        found[title.group(1)] = (always, sometimes)
    return found


DOCUMENTED = _documented_keys()


def test_every_command_documents_its_json() -> None:
    assert sorted(DOCUMENTED) == sorted(" ".join(c) for c in COMMANDS)


@pytest.fixture(scope="module")
def expanded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("expanded") / "out"
    assert invoke("expand", QUICKSTART, "-o", out, "-j", "1", "-q").exit_code == 0
    return out


def _saved_pipeline(folder: Path) -> Path:
    """The smallest pipeline Albumentations' A.save writes."""
    flip = {"__class_fullname__": "HorizontalFlip", "p": 0.5}
    saved = {"__class_fullname__": "Compose", "p": 1.0, "transforms": [flip]}
    path = folder / "pipeline.json"
    path.write_text(json.dumps({"__version__": "2.0.8", "transform": saved}), encoding="utf-8")
    return path


def _json_of(command: str, tmp_path: Path, expanded: Path) -> object:
    arguments = {
        "expand": ["expand", QUICKSTART, "-o", tmp_path / "out", "-j", "1"],
        "preview": ["preview", QUICKSTART, "-o", tmp_path / "p.png", "--sources", "1"],
        "transforms": ["transforms"],
        "validate manifest": ["validate", "manifest", expanded / "manifest.jsonl"],
        "validate recipe": ["validate", "recipe", QUICKSTART],
        "recipe new": ["recipe", "new", tmp_path / "r.yaml", "--layout", "yolo"],
        "recipe schema": ["recipe", "schema"],
        "recipe import": ["recipe", "import", _saved_pipeline(tmp_path)],
    }[command]
    result = invoke(*arguments, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("command", sorted(DOCUMENTED))
def test_json_output_has_the_documented_keys(command: str, tmp_path: Path, expanded: Path) -> None:
    found = _json_of(command, tmp_path, expanded)
    items = found if isinstance(found, list) else [found]
    always, sometimes = DOCUMENTED[command]
    for item in items:
        assert isinstance(item, dict)
        assert always <= set(item) <= always | sometimes, sorted(set(item) ^ always)


def test_an_error_under_json_is_a_json_object(tmp_path: Path) -> None:
    for arguments in (["transforms", "rotat"], ["validate", "recipe", tmp_path / "none.yaml"]):
        result = invoke(*arguments, "--json")
        assert result.exit_code == 2
        assert json.loads(result.stdout)["error"]["exit_code"] == 2


def test_verbose_validate_lists_every_problem(expanded: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(expanded, out)
    for path in sorted(out.glob("train/*/*__v0[0-2].*"))[:60]:
        path.unlink()
    short = invoke("validate", "manifest", out / "manifest.jsonl")
    assert short.exit_code == 1
    assert "… and 10 more" in short.stdout
    full = invoke("validate", "manifest", out / "manifest.jsonl", "-v")
    assert full.exit_code == 1
    assert "more" not in full.stdout
    assert len(full.stdout.splitlines()) == 61  # every problem, then the summary


def test_verbose_adds_detail(tmp_path: Path) -> None:
    result = invoke("expand", QUICKSTART, "-o", tmp_path / "out", "-j", "1", "-v")
    assert result.exit_code == 0, result.output
    assert "counts: augmented 108," in result.stdout
    result = invoke("validate", "recipe", QUICKSTART, "-v")
    assert json.loads(result.stdout.split("\n", 1)[1])["variants"] == 4
    result = invoke("transforms", "-v")
    assert "rotate (geometric)" in result.stdout and "hflip (geometric)" in result.stdout


def _colours(data: bytes) -> list[bytes]:
    """The SGR escape sequences in ``data`` that set a colour (30-49, 90-107)."""
    found = []
    for match in re.finditer(rb"\x1b\[([0-9;]*)m", data):
        numbers = [int(n) for n in match.group(1).split(b";") if n]
        if any(30 <= n <= 49 or 90 <= n <= 107 for n in numbers):
            found.append(match.group(0))
    return found


def _on_a_terminal(command: list[str], env: dict[str, str]) -> bytes:
    """What ``command`` writes to stderr when stderr is a terminal."""
    pty = pytest.importorskip("pty")
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower, env=env
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the process closed its end
            break
        if not data:
            break
        chunks.append(data)
    assert process.wait() == 0
    os.close(leader)
    return b"".join(chunks)


@pytest.mark.slow
def test_no_color_takes_the_colour_out_of_the_progress_bar(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    base.update(TERM="xterm-256color", COLUMNS="100")
    command = [sys.executable, "-m", "augtool", "expand", str(QUICKSTART), "-j", "1"]
    coloured = _on_a_terminal([*command, "-o", str(tmp_path / "a")], base)
    assert _colours(coloured), "the bar shows no colour on a terminal: the check proves nothing"
    plain = _on_a_terminal([*command, "-o", str(tmp_path / "b")], {**base, "NO_COLOR": "1"})
    assert b"\x1b[" in plain  # a bar was drawn
    assert _colours(plain) == []
