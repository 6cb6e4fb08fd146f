"""The summary's JSON Schema (docs/summary.schema.json) against real summaries of the real pipeline.

The schema pins the JSON: every object in it forbids fields it does not name, so a renamed, added or dropped field
fails here until the schema, and with it the docs, say so. The summaries are the local runner's (the app's
orchestrator and activities, real decoding and the bundled model) for a clip that crosses a line and enters a zone,
a video cut short, a file that is no video, and a model that cannot load.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from runner.cli import analyze_file
from scenes.generator import Actor, Scene
from scenes.writer import write_video
from tests.conftest import DEMO_ONNX, ROOT
from tests.support import clips
from videoanalysis.contracts import VideoInfo
from videoanalysis.regions import Line, Regions, Zone
from videoanalysis.settings import CHOICES, Settings

SCHEMA = json.loads((ROOT / "docs" / "summary.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
SETTINGS = Settings(model_path=str(DEMO_ONNX), chunk_seconds=3.0, sample_fps=5.0, chunk_retry_attempts=1)
REGIONS = Regions(
    (Line("middle", (320, 360), (320, 0)),), (Zone("right", ((480, 0), (640, 0), (640, 360), (480, 360))),)
)


def _errors(summary: Any) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in VALIDATOR.iter_errors(summary)]


def _analyse(video: Path, out: Path, settings: Settings = SETTINGS) -> dict[str, Any]:
    analyze_file(video, out, settings, workers=1, progress=False)
    return json.loads(out.read_text())


def _car(id: int, t_enter: float, bottom: float, direction: int) -> Actor:
    return Actor(
        id=id, cls="car", height=0.15, aspect=2.2, bottom=bottom, drift=0.0, direction=direction, speed=0.25,
        t_enter=t_enter, stop_after=math.inf, stop_for=0.0, look=id,
    )  # fmt: skip


@pytest.fixture(scope="module")
def crossing(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """6 s at 640x360 in two chunks: two cars cross the middle line both ways and drive into the right zone."""
    scene = Scene(seed=3, seconds=6.0, fps=25.0, size=(640, 360), actors=(_car(1, 0.0, 0.6, 1), _car(2, 0.5, 0.4, -1)))
    folder = tmp_path_factory.mktemp("crossing")
    video = folder / "crossing.mp4"
    write_video(scene.frames(), str(video), scene.fps, "h264")
    return _analyse(video, folder / "summary.json", SETTINGS.replace(count_regions=REGIONS))


def test_a_summary_with_lines_zones_and_objects_is_valid(crossing: dict[str, Any]) -> None:
    assert crossing["status"] == "succeeded" and crossing["totals"]["chunks"] == 2
    assert crossing["lines"]["middle"]["crossings"] and crossing["zones"]["right"]["classes"]["car"]["entered"]
    assert any(obj["counted"] and obj["thumbnail"] and obj["crossings"] for obj in crossing["objects"])
    assert _errors(crossing) == []


def test_a_video_cut_short_gives_a_valid_partial_summary(tmp_path: Path) -> None:
    cut = clips.write_truncated(clips.write_numbered(tmp_path / "whole.mp4", "h264", 100), tmp_path / "cut.mp4")
    summary = _analyse(cut, tmp_path / "summary.json")
    assert summary["status"] == "partial" and summary["warnings"]
    assert _errors(summary) == []


def test_a_file_that_is_no_video_gives_a_valid_failed_summary(tmp_path: Path) -> None:
    summary = _analyse(clips.write_text(tmp_path / "notes.mp4"), tmp_path / "summary.json")
    assert summary["status"] == "failed" and summary["video"] == {"name": "notes.mp4"} and summary["chunks"] == []
    assert _errors(summary) == []


def test_failed_chunks_give_a_valid_summary(tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"not a model")
    video = clips.write_numbered(tmp_path / "v.mp4", "mp4v", 100)
    summary = _analyse(video, tmp_path / "summary.json", SETTINGS.replace(model_path=str(model)))
    assert summary["status"] == "failed" and summary["chunks"]
    assert summary["failed_chunks"] == [chunk["index"] for chunk in summary["chunks"] if chunk["error"]]
    assert _errors(summary) == []


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["totals"]["chunk_time_s"].update(motion_s=s["totals"]["chunk_time_s"].pop("track_s")),
        lambda s: s["objects"][0].pop("counted"),
        lambda s: s["classes"]["car"].update(unique=-1),
        lambda s: s.update(schema_version=2),
        lambda s: s["video"].update(rotation=90),
        lambda s: s["lines"]["middle"]["crossings"][0].update(direction="up"),
    ],
    ids=["renamed", "dropped", "negative", "version", "added", "bad-direction"],
)
def test_the_schema_refuses_a_summary_that_drifted(crossing: dict[str, Any], change: Any) -> None:
    drifted = copy.deepcopy(crossing)
    change(drifted)
    assert _errors(drifted)


def test_the_schema_names_every_field_of_the_video_and_every_setting_and_its_choices() -> None:
    assert list(SCHEMA["$defs"]["video"]["properties"]) == ["name", *(field.name for field in fields(VideoInfo))]
    settings = SCHEMA["$defs"]["settings"]["properties"]
    assert list(settings) == [field.name for field in fields(Settings)]
    assert {name: tuple(settings[name]["enum"]) for name in CHOICES} == CHOICES


def test_the_docs_example_summary_is_valid() -> None:
    """The example on the HTTP API page is a real summary, abridged: it must still be one."""
    page = (ROOT / "docs" / "http-api.md").read_text()
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", page, re.DOTALL)]
    summaries = [example for example in examples if "schema_version" in example]
    assert summaries
    for summary in summaries:
        assert _errors(summary) == []
