"""The report of a real run, in a real browser: a short generated clip analysed by the command line, its report
opened in headless Chromium (`tests/support/browser.py`).

Chromium missing fails these tests, it never skips them, in CI and everywhere else: a report nobody rendered must
not pass for one that renders. `.ci/run` installs it (`apt-get install -y chromium`) on a fresh machine.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from scenes.generator import write_scene
from tests.conftest import DEMO_ONNX
from tests.support.browser import INSTALL_HINT, Browser, find_chromium

NAME = "<b>street<b> & <script>alert(1)<script> cam.mp4"
"""A video name a page could mistake for markup (no '/': it is a file name here)."""

LINE = '<i>door</i> & "in"'
"""A line's name a page could mistake for markup, drawn in the report's SVG."""

IMAGES = """Promise.all(Array.from(document.images, image => image.decode().then(() => true, () => false).then(ok => ({
    ok, alt: image.alt, width: image.naturalWidth, height: image.naturalHeight,
    shown: image.getBoundingClientRect().width > 0,
    where: image.closest('section') ? image.closest('section').className : 'chart'}))))"""

BLOCKED = """new Promise(done => { const image = new Image(); image.onload = () => done('loaded');
    image.onerror = () => done('blocked'); image.src = %s; })"""


@pytest.fixture(scope="module")
def chromium() -> str:
    executable = find_chromium()
    if executable is None:
        pytest.fail(f"no Chromium to render the report in: {INSTALL_HINT}")
    return executable


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`videoanalysis analyze V --out S.json` on a 6 s scene in three chunks, so objects are tracked across seams,
    with a line and a zone."""
    folder = tmp_path_factory.mktemp("report")
    video = folder / NAME
    write_scene(video, seed=21, seconds=6.0, size=(640, 360), codec="h264")
    out = folder / "results" / "S.json"
    command = [str(Path(sys.executable).with_name("videoanalysis")), "analyze", str(video), "--out", str(out)]
    options = ["--model", str(DEMO_ONNX), "--chunk-seconds", "2", "--workers", "2", "--quiet"]
    options += ["--line", f"{LINE}=320,360,320,0", "--zone", "kerb=0,300,640,300,640,360,0,360"]
    done = subprocess.run([*command, *options], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return {"out": out, "stdout": done.stdout, "summary": json.loads(out.read_text())}


def test_the_command_line_writes_the_report_beside_the_summary_and_prints_its_path(run: dict[str, Any]) -> None:
    out, summary = run["out"], run["summary"]
    report = out.with_suffix(".html")
    assert f"report:  {report}" in run["stdout"].splitlines()
    counted = [obj for obj in summary["objects"] if obj["counted"]]
    assert counted and any(len(obj["chunks"]) > 1 for obj in counted), "objects crossing seams"
    page = report.read_text()
    for obj in counted:
        thumbnail = out.parent / obj["thumbnail"]
        assert thumbnail.is_file() and obj["thumbnail"].startswith("S.chunks/"), obj
        assert base64.b64encode(thumbnail.read_bytes()).decode() in page


@pytest.fixture(scope="module")
def rendered(run: dict[str, Any], chromium: str) -> dict[str, Any]:
    report = run["out"].with_suffix(".html")
    with Browser(chromium, width=1000, height=1400) as browser:
        browser.open(report.as_uri())
        page = {
            "images": browser.evaluate(IMAGES),
            "title": browser.evaluate("document.title"),
            "heading": browser.evaluate("document.querySelector('h1').textContent"),
            "markup_in_heading": browser.evaluate("document.querySelectorAll('h1 *, title *').length"),
            "markup_from_names": browser.evaluate("document.querySelectorAll('i, script').length"),
            "region_names": browser.evaluate("Array.from(document.querySelectorAll('svg text'), t => t.textContent)"),
            "scripts": browser.evaluate("document.scripts.length"),
            "text": browser.evaluate("document.body.innerText"),
            "screenshot": browser.screenshot(),
            "file_image": browser.evaluate(BLOCKED % json.dumps(run["out"].with_suffix(".png").as_uri())),
            "log": browser.log_entries(),
        }
    return page


def test_chromium_decodes_every_image_of_the_report(run: dict[str, Any], rendered: dict[str, Any]) -> None:
    images = rendered["images"]
    assert images and all(image["ok"] and image["width"] > 0 and image["shown"] for image in images), images
    counted = sum(obj["counted"] for obj in run["summary"]["objects"])
    fragments = len(run["summary"]["objects"]) - counted
    wheres = [image["where"] for image in images]
    assert (wheres.count("counted"), wheres.count("fragments"), wheres.count("chart")) == (counted, fragments, 1)
    chart = next(image for image in images if image["where"] == "chart")
    assert (chart["width"], chart["height"]) == (1000, 650), "the timeline and, below it, the line's crossings"
    (frame,) = [image for image in images if image["where"] == "regions"]
    assert (frame["width"], frame["height"]) == (640, 360), "the frame the lines and zones are drawn over"


def test_the_page_is_not_blank(rendered: dict[str, Any]) -> None:
    shot = cv2.imdecode(np.frombuffer(rendered["screenshot"], np.uint8), cv2.IMREAD_COLOR)
    assert shot.shape[:2] == (1400, 1000)
    ink = (shot.min(axis=2) < 200).mean()
    assert 0.03 < ink < 0.9 and shot.std() > 20, f"{ink:.1%} of the pixels drawn"
    for heading in ("Video", "Counts", "Timeline", "Counted objects", "Chunks"):
        assert heading in rendered["text"]


def test_the_video_and_region_names_show_as_text_and_nothing_runs_or_loads(rendered: dict[str, Any]) -> None:
    assert rendered["heading"] == f"{NAME}: object counts" and rendered["title"] == rendered["heading"]
    assert rendered["markup_in_heading"] == 0 and rendered["scripts"] == 0
    assert rendered["region_names"] == ["kerb", LINE] and rendered["markup_from_names"] == 0
    assert rendered["file_image"] == "blocked", "the page's own policy stops a load from anywhere but data:"
    violations = [entry for entry in rendered["log"] if "Content Security Policy" in entry.get("text", "")]
    assert len(violations) == 1 and "S.png" in violations[0]["text"], "the report itself needs nothing it forbids"
