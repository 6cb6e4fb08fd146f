"""The summary built from hand-made chunk results: status, per-class merge, timeline, schema, PNG and table."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from videoanalysis.contracts import ChunkResult
from videoanalysis.summary import SCHEMA_VERSION, build_summary, failed_summary, format_table, render_timeline_png

VIDEO = {"name": "street.mp4", "fps": 25.0, "frame_count": 638, "duration_s": 25.5, "width": 640, "height": 360}
SETTINGS = {"sample_fps": 5.0, "chunk_seconds": 10.0, "overlap_seconds": 1.0}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def stats(
    detections: int, peak: int, frames_present: int, first_ms: int, last_ms: int, timeline: dict[int, int]
) -> dict[str, Any]:
    return {
        "detections": detections,
        "peak": peak,
        "frames_present": frames_present,
        "first_seen_ms": first_ms,
        "last_seen_ms": last_ms,
        "timeline": {str(s): n for s, n in timeline.items()},
    }


def track(
    track_id: int, cls: str, boxes: dict[int, list[float]], core_hits: int = 10, best_conf: float | None = None
) -> dict[str, Any]:
    times = sorted(boxes)
    return {
        "id": track_id,
        "cls": cls,
        "first_ms": times[0],
        "last_ms": times[-1],
        "core_hits": core_hits,
        "boxes": {str(t): b for t, b in boxes.items()},
        "best_conf": best_conf,
    }


def chunk(
    index: int,
    start_ms: int,
    end_ms: int | None,
    *,
    classes: dict[str, dict[str, Any]] | None = None,
    tracks: list[dict[str, Any]] | None = None,
) -> ChunkResult:
    """A successful chunk result as analyze_chunk stores it."""
    return ChunkResult.from_dict(
        {
            "index": index,
            "status": "ok",
            "error": None,
            "start_ms": start_ms,
            "end_ms": end_ms,
            "window_start_ms": max(0, start_ms - 1000),
            "frames_decoded": 260,
            "frames_analyzed": 50,
            "detections_key": f"street.mp4/abc/chunk-{index:05d}.jsonl",
            "classes": classes or {},
            "tracks": tracks or [],
            "timing": {"decode_s": 1.0, "infer_s": 2.0, "track_s": 0.25, "total_s": 3.5},
        }
    )


def failed(index: int, error: str = "cannot decode") -> ChunkResult:
    """A failed chunk as the orchestrator records it after the retries: no plan fields, no stats."""
    return ChunkResult.from_dict({"index": index, "status": "failed", "error": error})


BOX = [10.0, 10.0, 50.0, 40.0]


def three_chunks() -> list[ChunkResult]:
    """A car crossing the 10.5 s boundary (the second 10 is split between chunks 0 and 1), a person in chunk 2."""
    return [
        chunk(
            0,
            0,
            10_500,
            classes={"car": stats(120, 3, 40, 2_000, 10_400, {2: 1, 9: 3, 10: 2})},
            tracks=[track(1, "car", {9_500: BOX, 10_000: BOX})],
        ),
        chunk(
            1,
            10_500,
            20_500,
            classes={"car": stats(80, 5, 30, 10_600, 14_000, {10: 4, 14: 5})},
            tracks=[track(1, "car", {9_500: BOX, 10_000: BOX}), track(2, "car", {19_500: BOX, 20_000: BOX})],
        ),
        chunk(
            2,
            20_500,
            None,
            classes={"person": stats(7, 1, 7, 21_000, 24_000, {21: 1, 24: 1})},
            tracks=[track(4, "person", {24_000: BOX})],
        ),
    ]


@pytest.fixture(scope="module")
def mpl_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep matplotlib's font cache out of $HOME."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MPLCONFIGDIR", str(tmp_path_factory.mktemp("mpl")))
        yield


def test_successful_run_has_schema_and_round_trips_through_json() -> None:
    summary = build_summary(VIDEO, SETTINGS, three_chunks(), wall_s=12.34567)

    assert summary["schema_version"] == SCHEMA_VERSION == 1
    assert (summary["status"], summary["error"], summary["failed_chunks"]) == ("succeeded", None, [])
    assert summary["video"] == VIDEO
    assert summary["settings"] == SETTINGS
    assert json.loads(json.dumps(summary)) == summary


def test_per_class_stats_are_merged_and_unique_comes_from_stitching() -> None:
    classes = build_summary(VIDEO, SETTINGS, three_chunks(), wall_s=None)["classes"]

    assert list(classes) == ["car", "person"]
    car = classes["car"]
    # Chunk 1's car track 1 continues chunk 0's; its track 2 is a second car. The person is one more object.
    assert (car["unique"], car["peak"], car["detections"], car["frames_present"]) == (2, 5, 200, 70)
    assert (car["first_seen_s"], car["last_seen_s"]) == (2.0, 14.0)
    assert (classes["person"]["unique"], classes["person"]["peak"]) == (1, 1)


def test_each_object_names_the_thumbnail_of_its_best_segment_as_the_caller_says() -> None:
    chunks = three_chunks()
    chunks[0] = chunk(0, 0, 10_500, tracks=[track(1, "car", {9_500: BOX, 10_000: BOX}, best_conf=0.6)])
    chunks[1] = chunk(1, 10_500, 20_500, tracks=[track(3, "car", {9_500: BOX, 10_000: BOX}, best_conf=0.8)])
    chunks[2] = chunk(2, 20_500, None, tracks=[track(4, "person", {24_000: BOX})])  # stored before thumbnails

    def name(index: int, track_id: int) -> str:
        return f"s.chunks/chunk-{index:05d}.track-{track_id}.jpg"

    objects = build_summary(VIDEO, SETTINGS, chunks, wall_s=None, thumbnail=name)["objects"]
    assert [(o["chunks"], o["thumbnail"]) for o in objects] == [
        ([0, 1], "s.chunks/chunk-00001.track-3.jpg"),
        ([2], None),
    ]
    assert {o["thumbnail"] for o in build_summary(VIDEO, SETTINGS, chunks, wall_s=None)["objects"]} == {None}


def test_timeline_covers_the_duration_and_takes_the_max_of_a_split_second() -> None:
    classes = build_summary(VIDEO, SETTINGS, three_chunks(), wall_s=None)["classes"]

    car = classes["car"]["timeline"]
    assert len(car) == len(classes["person"]["timeline"]) == 26
    assert car[2] == 1 and car[9] == 3 and car[14] == 5
    assert car[10] == 4
    assert sum(car) == 1 + 3 + 4 + 5
    assert classes["person"]["timeline"][21] == classes["person"]["timeline"][24] == 1


def test_timeline_is_never_shorter_than_the_data() -> None:
    chunks = [chunk(0, 0, None, classes={"car": stats(1, 1, 1, 30_200, 30_200, {30: 1})})]

    assert len(build_summary(VIDEO, SETTINGS, chunks, wall_s=None)["classes"]["car"]["timeline"]) == 31
    no_duration = {"name": "clip.mp4"}
    assert len(build_summary(no_duration, SETTINGS, chunks, wall_s=None)["classes"]["car"]["timeline"]) == 31


def test_chunk_rows_and_totals() -> None:
    summary = build_summary(VIDEO, SETTINGS, three_chunks(), wall_s=12.34567)

    assert summary["chunks"][0] == {
        "index": 0,
        "status": "ok",
        "start_s": 0.0,
        "end_s": 10.5,
        "frames_decoded": 260,
        "frames_analyzed": 50,
        "error": None,
        "timing": {"decode_s": 1.0, "infer_s": 2.0, "track_s": 0.25, "total_s": 3.5},
    }
    assert summary["chunks"][2]["end_s"] is None
    assert summary["totals"] == {
        "chunks": 3,
        "chunks_failed": 0,
        "frames_decoded": 780,
        "frames_analyzed": 150,
        "detections": 207,
        "unique_objects": 3,
        "chunk_time_s": {"decode_s": 3.0, "infer_s": 6.0, "track_s": 0.75, "total_s": 10.5},
        "wall_s": 12.346,
    }
    assert [o["chunks"] for o in summary["objects"]] == [[0, 1], [1], [2]]


def test_failed_chunk_makes_the_run_partial_names_it_and_breaks_stitching() -> None:
    chunks = three_chunks()
    chunks[1] = failed(1, "moov atom not found")

    summary = build_summary(VIDEO, SETTINGS, chunks, wall_s=1.0)

    assert summary["status"] == "partial"
    assert summary["failed_chunks"] == [1]
    assert "1 of 3 chunks failed (chunks 1)" in summary["error"]
    assert "moov atom not found" in summary["error"]
    assert summary["chunks"][1] == {
        "index": 1,
        "status": "failed",
        "start_s": None,
        "end_s": None,
        "frames_decoded": 0,
        "frames_analyzed": 0,
        "error": "moov atom not found",
        "timing": {"decode_s": 0.0, "infer_s": 0.0, "track_s": 0.0, "total_s": 0.0},
    }
    car = summary["classes"]["car"]
    assert (car["unique"], car["peak"], car["detections"]) == (1, 3, 120)
    assert summary["totals"]["chunks_failed"] == 1
    assert json.loads(json.dumps(summary)) == summary


def test_every_chunk_failed_means_failed() -> None:
    summary = build_summary(VIDEO, SETTINGS, [failed(0), failed(1, "boom")], wall_s=2.0)

    assert summary["status"] == "failed"
    assert summary["error"] == "2 of 2 chunks failed (chunks 0, 1); first error: chunk 0: cannot decode"
    assert summary["classes"] == {}
    assert summary["failed_chunks"] == [0, 1]


def test_run_level_error_is_reported_and_makes_a_clean_run_partial() -> None:
    summary = build_summary(VIDEO, SETTINGS, three_chunks(), wall_s=None, error="plan capped at 3 chunks")

    assert (summary["status"], summary["error"]) == ("partial", "plan capped at 3 chunks")


def test_unreadable_video_gives_a_failed_summary() -> None:
    summary = failed_summary("broken.mp4", "not a video: invalid data", SETTINGS)

    assert summary["schema_version"] == SCHEMA_VERSION
    assert (summary["status"], summary["error"]) == ("failed", "not a video: invalid data")
    assert summary["video"] == {"name": "broken.mp4"}
    assert summary["classes"] == {} and summary["chunks"] == [] and summary["objects"] == []
    assert summary["totals"]["chunks"] == 0 and summary["totals"]["wall_s"] is None
    assert json.loads(json.dumps(summary)) == summary


def test_timeline_png_is_written(tmp_path: Path, mpl_config: None) -> None:
    summary = build_summary(VIDEO, SETTINGS, three_chunks(), wall_s=None)

    path = render_timeline_png(summary, tmp_path / "out" / "timeline.png")

    assert path == tmp_path / "out" / "timeline.png"
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000


def test_timeline_png_of_partial_and_failed_summaries(tmp_path: Path, mpl_config: None) -> None:
    chunks = three_chunks()
    # The caller may add the plan's time range to a failed chunk; the chart then shades it.
    chunks[1] = replace(failed(1), start_ms=10_500, end_ms=20_500)
    partial = build_summary(VIDEO, SETTINGS, chunks, wall_s=None)
    assert (partial["chunks"][1]["start_s"], partial["chunks"][1]["end_s"]) == (10.5, 20.5)

    for summary, name in ((partial, "partial.png"), (failed_summary("broken.mp4", "unreadable", SETTINGS), "f.png")):
        assert render_timeline_png(summary, tmp_path / name).read_bytes().startswith(PNG_MAGIC)


def test_format_table_lists_the_classes() -> None:
    table = format_table(build_summary(VIDEO, SETTINGS, three_chunks(), wall_s=None))

    lines = table.splitlines()
    assert lines[0].split() == ["class", "unique", "peak", "detections", "first_s", "last_s"]
    assert lines[2].split() == ["car", "2", "5", "200", "2.00", "14.00"]
    assert lines[3].split() == ["person", "1", "1", "7", "21.00", "24.00"]
    assert format_table(failed_summary("x.mp4", "unreadable", SETTINGS)) == "no objects detected"


def test_importing_summary_does_not_import_matplotlib() -> None:
    code = "import sys, videoanalysis.summary; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1], check=False).returncode == 0


@pytest.mark.parametrize(
    ("claimed", "warned"),
    [(None, False), (638, False), (645, False), (700, True)],
    ids=["no-claim", "same", "estimate-off-by-7-frames", "62-frames-missing"],
)
def test_a_video_that_ends_before_its_container_says_is_partial_with_a_warning(claimed, warned) -> None:
    video = {**VIDEO, "claimed_frame_count": claimed}
    summary = build_summary(video, SETTINGS, three_chunks(), wall_s=None)
    assert bool(summary["warnings"]) is warned
    assert summary["status"] == ("partial" if warned else "succeeded")
    if warned:
        assert summary["warnings"][0] in summary["error"] and "28.0 s (700 frames)" in summary["warnings"][0]
