"""`videoanalysis analyze FOLDER`: many videos as one batch, run as a user runs it (a real process, real clips, the
bundled model), and interrupted for real with SIGINT."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from runner.batch import find_videos
from runner.cli import UsageError
from scenes.generator import write_scene
from tests.conftest import DEMO_ONNX, ROOT
from tests.support import clips
from tests.support.browser import INSTALL_HINT, Browser, find_chromium
from tests.test_runner_faults import _buffered, _descendants, _one_line, _wait_for_exit, _wait_until

BROKEN = "<b>broken<b> & <script>alert(1)<script>.mp4"
"""A file that is no video, named as markup: its row must fail with the reason, and the index show its name as text."""

COMMAND = [sys.executable, "-m", "runner", "analyze"]
OPTIONS = ["--model", str(DEMO_ONNX), "--workers", "2", "--quiet"]


def run_cli(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    command = [*COMMAND, *map(str, args), *OPTIONS]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=_buffered(os.environ))


def table(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((out / "batch.csv").read_text(), newline="")))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two scenes both named cam.mp4, in two site folders, and a file that is no video beside them."""
    root = tmp_path_factory.mktemp("batch") / "videos"
    for seed, site in ((31, "site-a"), (32, "site-b")):
        (root / site).mkdir(parents=True)
        write_scene(root / site / "cam.mp4", seed=seed, seconds=4.0, size=(640, 360), codec="h264")
    clips.write_text(root / "site-b" / BROKEN)
    (root / "site-b" / "notes.txt").write_text("not a video extension: never listed")
    return root


@pytest.fixture(scope="module")
def batch(folder: Path) -> dict[str, Any]:
    out = folder.parent / "out"
    done = run_cli(folder, "--out", out)
    return {"out": out, "done": done, "rows": table(out)}


def test_a_folder_gives_one_row_per_video_and_a_failed_row_for_a_bad_file(batch: dict[str, Any]) -> None:
    done, rows = batch["done"], batch["rows"]
    assert done.returncode == 1, done.stderr  # one video failed
    assert [row["video"] for row in rows] == ["site-a/cam.mp4", f"site-b/{BROKEN}", "site-b/cam.mp4"]
    assert [row["status"] for row in rows] == ["succeeded", "failed", "succeeded"]
    broken = rows[1]
    assert broken["error"] and "\n" not in broken["error"] and broken["duration_s"] == ""
    assert _one_line(done.stderr).startswith(f"error: site-b/{BROKEN}: failed: ")
    assert "3 videos: 2 succeeded, 1 failed" in done.stdout.splitlines()
    header = next(csv.reader(io.StringIO((batch["out"] / "batch.csv").read_text())))
    assert header[:4] == ["video", "status", "duration_s", "error"] and len(header) > 4


def test_each_video_gets_its_own_summary_chart_and_report_and_the_index_links_them(batch: dict[str, Any]) -> None:
    out = batch["out"]
    document = json.loads((out / "batch.json").read_text())
    for row in document["rows"]:
        summary = out / row["summary"]
        assert summary.is_file() and summary.with_suffix(".png").is_file() and (out / row["report"]).is_file()
        assert json.loads(summary.read_text())["video"]["name"] == Path(row["video"]).name
    assert document["statuses"] == {"succeeded": 2, "partial": 0, "failed": 1}
    index = (out / "index.html").read_text()
    assert 'href="site-a/cam.mp4.html"' in index and 'href="site-b/cam.mp4.html"' in index


def test_chromium_shows_the_index_with_names_as_text_and_links_that_reach_each_report(batch: dict[str, Any]) -> None:
    chromium = find_chromium()
    if chromium is None:
        pytest.fail(f"no Chromium to render the index in: {INSTALL_HINT}")
    with Browser(chromium) as browser:
        browser.open((batch["out"] / "index.html").as_uri())
        cells = browser.evaluate("Array.from(document.querySelectorAll('tbody tr'), r => r.cells[0].textContent)")
        links = browser.evaluate("Array.from(document.links, a => a.href)")
        markup = browser.evaluate("document.querySelectorAll('b, script').length")
        failed = browser.evaluate("document.querySelector('tr.failed').textContent")
        log = browser.log_entries()
    assert f"site-b/{BROKEN}" in cells and markup == 0
    assert len(links) == 3 and all(Path(unquote(urlsplit(url).path)).is_file() for url in links)
    assert "Cannot read" in failed or "cannot" in failed.lower()
    assert not [entry for entry in log if "Content Security Policy" in entry.get("text", "")]


def test_counts_in_a_batch_equal_each_videos_own_run(folder: Path, batch: dict[str, Any]) -> None:
    out = batch["out"]
    for name in ("site-a/cam.mp4", "site-b/cam.mp4"):
        single = out.parent / "single" / f"{name.replace('/', '-')}.json"
        done = run_cli(folder / name, "--out", single)
        assert done.returncode == 0, done.stderr
        alone, in_batch = json.loads(single.read_text()), json.loads((out / f"{name}.json").read_text())
        assert in_batch["classes"] == alone["classes"] and in_batch["classes"]
        row = next(row for row in batch["rows"] if row["video"] == name)
        assert {cls: int(row[cls]) for cls in alone["classes"]} == {
            cls: stats["unique"] for cls, stats in alone["classes"].items()
        }


def test_a_second_run_skips_what_is_done_and_force_redoes_it(folder: Path, batch: dict[str, Any]) -> None:
    out = batch["out"]
    summary = out / "site-a" / "cam.mp4.json"
    written = summary.stat().st_mtime_ns
    again = run_cli(folder, "--out", out)
    assert again.returncode == 1
    assert "[" in again.stdout and again.stdout.count("unchanged since the last run") == 2
    assert summary.stat().st_mtime_ns == written and table(out) == batch["rows"]
    forced = run_cli(folder, "--out", out, "--force")
    assert forced.returncode == 1, forced.stderr
    assert summary.stat().st_mtime_ns > written and "unchanged" not in forced.stdout
    assert table(out) == batch["rows"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere"], "no such video file: nowhere"),
        (["a", "nowhere"], "no such video file or folder: nowhere"),
        (["a/cam.mp4", "b/cam.mp4"], "two videos would both be named 'cam.mp4'"),
        (["empty"], "no videos in empty"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    for name in ("a", "b", "empty"):
        (tmp_path / name).mkdir()
    for name in ("a", "b"):
        (tmp_path / name / "cam.mp4").write_bytes(b"x")
    done = subprocess.run(
        [*COMMAND, *args, *OPTIONS], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert message in _one_line(done.stderr)


def test_the_output_folder_is_never_searched_for_videos(tmp_path: Path) -> None:
    (tmp_path / "out" / "old").mkdir(parents=True)
    for path in (tmp_path / "v.mp4", tmp_path / "out" / "old" / "scene.mp4"):
        path.write_bytes(b"x")
    assert [video.name for video in find_videos([tmp_path], [".mp4"], tmp_path / "out")] == ["v.mp4"]
    with pytest.raises(UsageError, match="no videos"):
        find_videos([tmp_path / "out"], [".mp4"], tmp_path / "out")


def test_an_interrupted_batch_keeps_a_true_table_and_the_next_run_completes_it(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    for index in range(3):
        clips.write_numbered(videos / f"clip-{index}.mp4", "h264", 125)
    out = tmp_path / "out"
    command = [*COMMAND, str(videos), "--out", str(out), *OPTIONS, "--chunk-seconds", "2"]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_buffered(os.environ),
        start_new_session=True,
    )  # fmt: skip
    try:
        _wait_until(lambda: (out / "batch.csv").exists() or process.poll() is not None, 240, "the first video")
        assert process.poll() is None, process.communicate()
        children = _descendants(process.pid)
        os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C
        started = time.monotonic()
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130 and time.monotonic() - started < 3.0
    assert _one_line(stderr.decode()) == "interrupted"
    _wait_for_exit(children)
    finished = table(out)
    assert 1 <= len(finished) < 3
    for row in finished:
        assert row["status"] == "succeeded" and (out / f"{row['video']}.json").is_file()
    assert not list(out.rglob("*.partial"))
    done = run_cli(videos, "--out", out, "--chunk-seconds", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("unchanged since the last run") == len(finished)
    assert [row["video"] for row in table(out)] == [f"clip-{index}.mp4" for index in range(3)]
