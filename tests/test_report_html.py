"""The report's HTML page in a real browser: headless Chromium (the Debian package; .ci/run
installs it) loads it from a file, and the test checks that every chart drew something where
the page put it, and that the page asked the network for nothing."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from browser import find_chromium, load_page
from conftest import SAMPLES, expand, invoke
from PIL import Image

pytest.importorskip("matplotlib", reason="the HTML page needs the report extra (matplotlib)")

STRONG = """\
version: 1
seed: 1
variants: 2
pipeline:
  - rotate: {limit: 180, border: constant}
  - random_resized_crop: {size: [96, 96], scale: [0.05, 0.15]}
  - gaussian_noise: {std: [30, 50]}
"""

needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="Chromium is not installed (apt-get install -y chromium; .ci/run installs it)",
)


def region(png: bytes, box: tuple[float, float, float, float]) -> np.ndarray:
    x, y, w, h = (round(v) for v in box)
    with Image.open(io.BytesIO(png)) as shot:
        return np.asarray(shot.convert("L").crop((x, y, x + w, y + h)), dtype=np.float64)


def drawn(pixels: np.ndarray) -> bool:
    """Whether a region holds a drawing: enough ink off the white page, and not one flat tone."""
    return pixels.size > 0 and (pixels < 200).mean() > 0.01 and pixels.std() > 10


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("html")
    source = tmp / "photos"
    for cls in ("cat", "rocket"):
        shutil.copytree(SAMPLES / "train" / cls, source / "train" / cls)
    recipe = tmp / "strong.yaml"
    recipe.write_text(STRONG)
    out = expand(recipe, source, tmp / "out", "--jobs", "1")
    page = tmp / "report.html"
    result = invoke("report", out / "manifest.jsonl", "-o", page, "--no-cache", "-j", "1")
    assert result.exit_code == 0, result.output
    return page


def test_the_page_names_no_network_resource(page_file: Path) -> None:
    text = page_file.read_text(encoding="utf-8")
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in text
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.IGNORECASE)
    assert "<script" not in text.lower()
    assert "@font-face" not in text and "@import" not in text


@needs_chromium
def test_every_chart_renders_in_chromium_and_nothing_is_fetched(page_file: Path) -> None:
    page = load_page(page_file, "figure.chart, #grid")
    charts = [name for name in page.boxes if name.startswith("chart-")]
    assert {"chart-brightness", "chart-sharpness", "chart-width", "chart-class"} <= set(charts)
    assert len(charts) >= 15
    for name, box in page.boxes.items():
        assert box[2] > 100 and box[3] > 100, (name, box)
        assert drawn(region(page.png, box)), f"{name} is blank in the screenshot"
    others = [url for url in page.requests if not url.startswith(("file:", "data:"))]
    assert others == []
    assert [url for url in page.requests if url.startswith("file:")] == [page_file.as_uri()]


@needs_chromium
def test_the_harness_sees_a_blank_chart_and_a_network_request(tmp_path: Path) -> None:
    """The checks above can fail: a page with an empty chart box and an image from the
    network is caught by both."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<html><body><figure class="chart" id="chart-empty" '
        'style="width:300px;height:200px;margin:0"></figure>'
        '<img src="http://127.0.0.1:9/x.png"></body></html>'
    )
    page = load_page(bad, "figure.chart")
    assert not drawn(region(page.png, page.boxes["chart-empty"]))
    assert "http://127.0.0.1:9/x.png" in page.requests
