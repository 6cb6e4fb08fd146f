"""The summary built from hand-made chunk results and tracks: status, per-class merge, timeline, lines and zones,
schema, PNG and table; and built again from what the runner stored, to the byte."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from videoanalysis import artefacts
from videoanalysis.chart import render_timeline_png, timeline_figure
from videoanalysis.contracts import BlobRef, ChunkResult, VideoInfo
from videoanalysis.detections_file import read_frames
from videoanalysis.regions import EMPTY, Box, Line, Regions, Zone, entered, trace
from videoanalysis.settings import NO_REGIONS, Settings
from videoanalysis.summary import build_summary, failed_summary
from videoanalysis.summary_records import SCHEMA_VERSION, Summary, SummaryVideo
from videoanalysis.table import format_table
from videoanalysis.tracking.objects import TrackSegment
from videoanalysis.tracking.video_pass import VideoTracks, track_chunks

INFO = VideoInfo(fps=25.0, frame_count=638, duration_s=25.5, width=640, height=360, codec="h264", size_bytes=None)
VIDEO = SummaryVideo("street.mp4", INFO)
SETTINGS = {"sample_fps": 5.0, "chunk_seconds": 10.0}
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


def seg(
    seg_id: int,
    cls: str,
    frames: list[tuple[int, Box]],
    *,
    thumbnail: tuple[int, int] | None = None,
    conf: float | None = None,
    regions: Regions = NO_REGIONS,
) -> TrackSegment:
    """A segment of the fan-in's tracking pass seen on `frames`, traced against the regions as the pass traces it."""
    traces = {line.name: trace(line, frames) for line in regions.lines}
    return TrackSegment(
        seg_id,
        cls,
        frames[0],
        frames[-1],
        len(frames),
        thumbnail,
        conf,
        lines={name: t for name, t in traces.items() if t != EMPTY},
        zones=tuple(zone.name for zone in regions.zones if entered(zone, [box for _, box in frames])),
    )


def chunk(
    index: int,
    start_ms: int,
    end_ms: int | None,
    *,
    classes: dict[str, dict[str, Any]] | None = None,
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
            "timing": {"decode_s": 1.0, "infer_s": 2.0, "track_s": 0.25, "total_s": 3.5},
        }
    )


def failed(index: int, error: str = "cannot decode") -> ChunkResult:
    """A failed chunk as the orchestrator records it after the retries: no plan fields, no stats."""
    return ChunkResult.from_dict({"index": index, "status": "failed", "error": error})


BOX = (10.0, 10.0, 50.0, 40.0)


def three_chunks() -> list[ChunkResult]:
    """Chunks cut at 10.5 s and 20.5 s (the second 10 is split between chunks 0 and 1)."""
    return [
        chunk(0, 0, 10_500, classes={"car": stats(120, 3, 40, 2_000, 10_400, {2: 1, 9: 3, 10: 2})}),
        chunk(1, 10_500, 20_500, classes={"car": stats(80, 5, 30, 10_600, 14_000, {10: 4, 14: 5})}),
        chunk(2, 20_500, None, classes={"person": stats(7, 1, 7, 21_000, 24_000, {21: 1, 24: 1})}),
    ]


def three_tracks(car: tuple[int, int] | None = None, conf: float | None = None) -> VideoTracks:
    """A car across the 10.5 s seam (its crop `car`), a car in chunk 1, a person in chunk 2."""
    return VideoTracks(
        (
            seg(1, "car", [(9_500, BOX), (11_000, BOX)], thumbnail=car, conf=conf),
            seg(2, "car", [(19_500, BOX), (20_000, BOX)]),
            seg(3, "person", [(24_000, BOX)]),
        )
    )


def summary_of(chunks: list[ChunkResult] | None = None, **kwargs: Any) -> dict[str, Any]:
    """The summary of `three_chunks` and `three_tracks` unless told otherwise."""
    video, settings = kwargs.pop("video", VIDEO), kwargs.pop("settings", SETTINGS)
    tracks, wall_s = kwargs.pop("tracks", three_tracks()), kwargs.pop("wall_s", None)
    built = build_summary(
        video, settings, three_chunks() if chunks is None else chunks, tracks, wall_s=wall_s, **kwargs
    )
    return built.to_dict()


@pytest.fixture(scope="module")
def mpl_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep matplotlib's font cache out of $HOME."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MPLCONFIGDIR", str(tmp_path_factory.mktemp("mpl")))
        yield


def test_successful_run_has_schema_and_round_trips_through_json() -> None:
    summary = summary_of(wall_s=12.34567)

    assert summary["schema_version"] == SCHEMA_VERSION == 1
    assert (summary["status"], summary["error"], summary["failed_chunks"]) == ("succeeded", None, [])
    assert summary["video"]["name"] == "street.mp4" and VideoInfo.from_dict(summary["video"]) == INFO
    assert summary["settings"] == SETTINGS
    assert json.loads(json.dumps(summary)) == summary


def test_per_class_stats_are_merged_and_unique_comes_from_the_tracks() -> None:
    classes = summary_of()["classes"]

    assert list(classes) == ["car", "person"]
    car = classes["car"]
    assert (car["unique"], car["peak"], car["detections"], car["frames_present"]) == (2, 5, 200, 70)
    assert (car["first_seen_s"], car["last_seen_s"]) == (2.0, 14.0)
    assert (classes["person"]["unique"], classes["person"]["peak"]) == (1, 1)


def test_each_object_names_its_thumbnail_as_the_caller_says() -> None:
    def name(index: int, crop_id: int) -> str:
        return f"s.chunks/chunk-{index:05d}.track-{crop_id}.jpg"

    objects = summary_of(tracks=three_tracks((1, 3), 0.8), thumbnail=name)["objects"]
    assert [(o["chunks"], o["thumbnail"]) for o in objects] == [
        ([0, 1], "s.chunks/chunk-00001.track-3.jpg"),
        ([1], None),
        ([2], None),
    ]
    assert {o["thumbnail"] for o in summary_of(tracks=three_tracks((1, 3), 0.8))["objects"]} == {None}


def test_timeline_covers_the_duration_and_takes_the_max_of_a_split_second() -> None:
    classes = summary_of()["classes"]

    car = classes["car"]["timeline"]
    assert len(car) == len(classes["person"]["timeline"]) == 26
    assert car[2] == 1 and car[9] == 3 and car[14] == 5
    assert car[10] == 4
    assert sum(car) == 1 + 3 + 4 + 5
    assert classes["person"]["timeline"][21] == classes["person"]["timeline"][24] == 1


def test_timeline_is_never_shorter_than_the_data() -> None:
    chunks = [chunk(0, 0, None, classes={"car": stats(1, 1, 1, 30_200, 30_200, {30: 1})})]

    assert len(summary_of(chunks, tracks=VideoTracks())["classes"]["car"]["timeline"]) == 31
    no_duration = SummaryVideo("clip.mp4")
    assert len(summary_of(chunks, video=no_duration)["classes"]["car"]["timeline"]) == 31


def test_chunk_rows_and_totals() -> None:
    summary = summary_of(wall_s=12.34567)

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


def test_failed_chunk_makes_the_run_partial_and_names_it() -> None:
    chunks = three_chunks()
    chunks[1] = failed(1, "moov atom not found")
    tracks = VideoTracks((seg(1, "car", [(9_500, BOX), (10_000, BOX)]), seg(3, "person", [(24_000, BOX)])))

    summary = summary_of(chunks, tracks=tracks, wall_s=1.0)

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
    summary = summary_of([failed(0), failed(1, "boom")], tracks=VideoTracks(), wall_s=2.0)

    assert summary["status"] == "failed"
    assert summary["error"] == "2 of 2 chunks failed (chunks 0, 1); first error: chunk 0: cannot decode"
    assert summary["classes"] == {}
    assert summary["failed_chunks"] == [0, 1]


def test_run_level_error_is_reported_and_makes_a_clean_run_partial() -> None:
    summary = summary_of(error="plan capped at 3 chunks")

    assert (summary["status"], summary["error"]) == ("partial", "plan capped at 3 chunks")


def test_unreadable_video_gives_a_failed_summary() -> None:
    summary = failed_summary("broken.mp4", "not a video: invalid data", SETTINGS).to_dict()

    assert summary["schema_version"] == SCHEMA_VERSION
    assert (summary["status"], summary["error"]) == ("failed", "not a video: invalid data")
    assert summary["video"] == {"name": "broken.mp4"}
    assert summary["classes"] == {} and summary["chunks"] == [] and summary["objects"] == []
    assert summary["totals"]["chunks"] == 0 and summary["totals"]["wall_s"] is None
    assert json.loads(json.dumps(summary)) == summary


def test_timeline_png_is_written(tmp_path: Path, mpl_config: None) -> None:
    summary = summary_of()

    path = render_timeline_png(summary, tmp_path / "out" / "timeline.png")

    assert path == tmp_path / "out" / "timeline.png"
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000


def test_timeline_png_of_partial_and_failed_summaries(tmp_path: Path, mpl_config: None) -> None:
    chunks = three_chunks()
    # The caller may add the plan's time range to a failed chunk; the chart then shades it.
    chunks[1] = replace(failed(1), start_ms=10_500, end_ms=20_500)
    partial = summary_of(chunks)
    assert (partial["chunks"][1]["start_s"], partial["chunks"][1]["end_s"]) == (10.5, 20.5)

    for summary, name in (
        (partial, "partial.png"),
        (failed_summary("broken.mp4", "unreadable", SETTINGS).to_dict(), "f.png"),
    ):
        assert render_timeline_png(summary, tmp_path / name).read_bytes().startswith(PNG_MAGIC)


def test_format_table_lists_the_classes() -> None:
    table = format_table(summary_of())

    lines = table.splitlines()
    assert lines[0].split() == ["class", "unique", "peak", "detections", "first_s", "last_s"]
    assert lines[2].split() == ["car", "2", "5", "200", "2.00", "14.00"]
    assert lines[3].split() == ["person", "1", "1", "7", "21.00", "24.00"]
    assert format_table(failed_summary("x.mp4", "unreadable", SETTINGS).to_dict()) == "no objects detected"


def test_importing_summary_does_not_import_matplotlib() -> None:
    code = "import sys, videoanalysis.summary; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1], check=False).returncode == 0


@pytest.mark.parametrize(
    ("claimed", "warned"),
    [(None, False), (638, False), (645, False), (700, True)],
    ids=["no-claim", "same", "estimate-off-by-7-frames", "62-frames-missing"],
)
def test_a_video_that_ends_before_its_container_says_is_partial_with_a_warning(claimed, warned) -> None:
    video = SummaryVideo("street.mp4", replace(INFO, claimed_frame_count=claimed))
    summary = summary_of(video=video)
    assert bool(summary["warnings"]) is warned
    assert summary["status"] == ("partial" if warned else "succeeded")
    if warned:
        assert summary["warnings"][0] in summary["error"] and "28.0 s (700 frames)" in summary["warnings"][0]


# --- lines and zones -----------------------------------------------------------------------------------------------

DOOR = Line("door", (320, 360), (320, 0))  # vertical, drawn upwards: moving right is "in"
YARD = Zone("yard", ((0, 0), (200, 0), (200, 360), (0, 360)))
DOOR_AND_YARD = Regions((DOOR,), (YARD,))
WITH_REGIONS = {**SETTINGS, "count_regions": DOOR_AND_YARD.to_dict()}


def walk(*xs: float, start_ms: int = 0, y: float = 200.0) -> list[tuple[int, Box]]:
    """One object's boxes on analysed frames every 200 ms, its bottom centre at (x, y) in turn."""
    return [(start_ms + 200 * i, (x - 20.0, y - 30.0, x + 20.0, y)) for i, x in enumerate(xs)]


def summarized(
    segments: list[TrackSegment], settings: dict = WITH_REGIONS, zone_peaks: dict | None = None
) -> dict[str, Any]:
    """The summary of one chunk whose tracking pass gave `segments`."""
    tracks = VideoTracks(tuple(segments), zone_peaks or {})
    return build_summary(VIDEO, settings, [chunk(0, 0, None)], tracks, wall_s=None).to_dict()


def car(frames: list[tuple[int, Box]], seg_id: int = 1, regions: Regions = DOOR_AND_YARD) -> TrackSegment:
    return seg(seg_id, "car", frames, regions=regions)


ACROSS = walk(100, 140, 180, 220, 260, 300, 340, 380, 420, 460, 500)
"""A car walking right across the door: at x = 340 (t = 1200 ms) it is first clearly right of it."""


def test_a_crossing_counts_once() -> None:
    assert [c.t_ms for c in trace(DOOR, ACROSS).crossings] == [1200]
    summary = summarized([car(ACROSS)])
    (obj,) = summary["objects"]
    door = summary["lines"]["door"]
    assert door["points"] == [[320, 360], [320, 0]]
    assert door["classes"] == {"car": {"in": 1, "out": 0}}
    assert door["crossings"] == [{"t_s": 1.2, "cls": "car", "direction": "in"}]
    assert obj["crossings"] == [{"line": "door", "t_s": 1.2, "direction": "in"}]


def test_crossing_back_counts_once_each_way() -> None:
    there_and_back = walk(240, 280, 320, 360, 400, 360, 320, 280, 240, 200)
    summary = summarized([car(there_and_back)])
    assert summary["lines"]["door"]["classes"] == {"car": {"in": 1, "out": 1}}
    assert [(c["t_s"], c["direction"]) for c in summary["objects"][0]["crossings"]] == [(0.6, "in"), (1.4, "out")]


@pytest.mark.parametrize(
    ("before", "after", "row"),
    [
        (walk(200, 220, 240, 260, 280, start_ms=2000), walk(400, 420, 440, start_ms=3600, y=250), 0),  # one after
        (walk(240, 260, 280, start_ms=2000), walk(400, 420, 440, 460, 480, start_ms=3200, y=250), 1),  # one before
        (walk(240, 260, 280, start_ms=2000), walk(400, 420, 440, start_ms=3200, y=250), None),  # two fragments
    ],
)
def test_a_crossing_out_of_sight_counts_once_for_the_object_that_counts(
    before: list[tuple[int, Box]], after: list[tuple[int, Box]], row: int | None
) -> None:
    """Lost left of the door, found right of it near where its motion carries it (1.3 box sizes off after 0.8 s, 1 of
    it across its path: too far to be linked into one object, near enough for a crossing): one crossing between the
    two tracks, counted when either counts (5 analysed frames here), on the row of the later one unless only the
    earlier counts (the car's row). Neither is seen at the video's start or end, which would count a fragment."""
    settings = {**WITH_REGIONS, "min_track_seconds": 1.0, "link_gap_seconds": 4.0}
    summary = summarized([car(before), car(after, 2)], settings)
    assert len(summary["objects"]) == 2
    on_rows = [[c["t_s"] for c in obj["crossings"]] for obj in summary["objects"]]
    if row is None:
        assert summary["lines"]["door"]["crossings"] == [] and on_rows == [[], []]
    else:
        assert summary["lines"]["door"]["classes"] == {"car": {"in": 1, "out": 0}}
        assert on_rows[row] == [after[0][0] / 1000] and on_rows[1 - row] == []


def test_an_object_lost_behind_something_and_found_where_its_motion_carries_it_counts_once() -> None:
    """Lost for 0.8 s, it reappears 0.1 box sizes from where its speed carries it: the two tracks are linked into
    one object, and its crossing while hidden is found by joining their traces."""
    hidden = walk(200, 220, 240, 260, 280) + walk(365, 385, 405, start_ms=1600)
    segments = [car(hidden[:5]), car(hidden[5:], 2)]
    settings = {**WITH_REGIONS, "link_gap_seconds": 4.0}
    summary = summarized(segments, settings)
    (obj,) = summary["objects"]
    assert obj["hits"] == 8 and obj["counted"]
    assert summary["lines"]["door"]["crossings"] == [{"t_s": 1.6, "cls": "car", "direction": "in"}]
    unlinked = summarized(segments, {**settings, "link_gap_seconds": 0})
    assert len(unlinked["objects"]) == 2 and unlinked["lines"]["door"]["crossings"] == []
    tracks = VideoTracks(tuple(segments))
    narrow = build_summary(
        SummaryVideo("street.mp4", replace(INFO, width=300)), settings, [chunk(0, 0, None)], tracks, wall_s=None
    )
    assert len(narrow.objects) == 2, "in a frame 300 px wide its last box touched the border: it left the view"


def test_a_zone_counts_each_counted_object_once_and_reports_the_pass_peaks() -> None:
    """The car is inside the yard: entered once. A fragment inside is not counted, as in `unique`, but the peaks
    (any tracked box) are the tracking pass's own."""
    segments = [car(walk(150, 160, 170, 180, 190, 200, 190, 180, 170, 160)), car(walk(50, start_ms=1600), 2)]
    peaks = {"yard": {"car": 2, "person": 1}}
    summary = summarized(segments, {**WITH_REGIONS, "min_track_seconds": 1.0}, peaks)
    assert [(o["counted"], o["zones"]) for o in summary["objects"]] == [(True, ["yard"]), (False, ["yard"])]
    yard = summary["zones"]["yard"]
    assert yard["points"] == [[0, 0], [200, 0], [200, 360], [0, 360]]
    assert yard["classes"] == {"car": {"entered": 1, "peak": 2}, "person": {"entered": 0, "peak": 1}}
    assert summary["lines"]["door"]["classes"] == {"car": {"in": 0, "out": 0}}, "every class is listed"


def test_without_regions_the_summary_has_none() -> None:
    summary = summary_of()
    assert summary["lines"] == {} and summary["zones"] == {}
    assert all(o["crossings"] == [] and o["zones"] == [] for o in summary["objects"])


def test_the_table_and_the_chart_show_the_lines_and_zones(tmp_path: Path, mpl_config: None) -> None:
    regions = Regions((DOOR, Line("$\\frac{_x", (0, 0), (10, 10))), (YARD,))  # names matplotlib must not parse
    summary = summarized([car(ACROSS, regions=regions)], {**SETTINGS, "count_regions": regions.to_dict()})
    tables = format_table(summary).split("\n\n")
    assert [line.split() for line in tables[1].splitlines()[2:3]] == [["door", "car", "1", "0"]]
    assert tables[2].splitlines()[0].split() == ["zone", "class", "entered", "peak"]
    assert render_timeline_png(summary, tmp_path / "t.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize(("start_ms", "counted"), [(25_000, True), (10_000, False), (0, True)])
def test_an_object_the_video_cuts_short_counts_from_half_min_track_seconds(start_ms: int, counted: bool) -> None:
    """3 analysed frames of 5: enough at the start or the end of the 25.5 s video (its last analysed frame 25.4 s)."""
    summary = summarized([car(walk(240, 260, 280, start_ms=start_ms))], {**SETTINGS, "min_track_seconds": 1.0})
    assert [obj["counted"] for obj in summary["objects"]] == [counted]


@pytest.mark.parametrize("name", ["cam$^^$.mp4", "${$", "$a_$", "_hidden", "$\\frac{_x"])
def test_no_name_is_read_as_markup_in_the_chart(tmp_path: Path, mpl_config: None, name: str) -> None:
    """Video, class and line names are drawn as written: matplotlib would parse `$...$` as math (and raise on `${$`)
    and hide a legend label that starts with an underscore."""
    regions = Regions((Line(name, (0, 0), (10, 10)),), ())
    summary = summarized([car(ACROSS, regions=regions)], {**SETTINGS, "count_regions": regions.to_dict()})
    summary["video"]["name"] = name
    summary["classes"] = {name: summary["classes"]["car"]}

    figure = timeline_figure(summary)

    counts, crossings = figure.axes
    assert counts.get_title().startswith(f"{name} (succeeded)\nunique objects: {name} 1")
    assert [text.get_text() for text in counts.get_legend().get_texts()] == [name]
    assert [text.get_text() for text in crossings.get_legend().get_texts()] == [f"{name} in", f"{name} out"]
    assert render_timeline_png(summary, tmp_path / "t.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize(("owned", "status"), [((255, 255, 128), "succeeded"), ((255, 100, 128), "partial")])
def test_chunks_that_read_fewer_frames_than_the_video_holds_are_not_a_success(owned: tuple, status: str) -> None:
    """The video holds 638 frames; the chunks' cores must read them all, sampled or not."""
    chunks = [replace(c, frames_owned=n) for c, n in zip(three_chunks(), owned, strict=True)]
    summary = summary_of(chunks)
    assert summary["status"] == status
    if status == "partial":
        (warning,) = summary["warnings"]
        assert warning.startswith("only 483 of the 638 frames the video holds were read (155 missing")
        assert summary["error"] == warning


def test_chunk_results_written_before_they_counted_their_frames_say_nothing() -> None:
    chunks = [replace(c, frames_owned=n) for c, n in zip(three_chunks(), (255, None, 1), strict=True)]
    assert summary_of(chunks)["status"] == "succeeded"


# --- the JSON as the runner wrote it -------------------------------------------------------------------------------

STORED = ROOT / "tests" / "support" / "summaries"
"""What `runner.cli.analyze_file` stored for the clips of tests/test_summary_schema.py (one crossing a line and
entering a zone, one cut short, a file that is no video) when the summary was still built as a dict: each summary, and
the chunk results and detections its fan-in read. A change to tracking on purpose stores them again the same way."""
RESULTS = artefacts.local_results(BlobRef("summaries", "summary.json"))


def rebuilt(folder: Path) -> Summary:
    """The fan-in again over what the runner stored in `folder`, with its video, settings and wall-clock time."""
    stored = json.loads((folder / "summary.json").read_bytes())
    name, settings = stored["video"]["name"], stored["settings"]
    if not stored["chunks"]:
        return failed_summary(name, stored["error"], settings)
    stored_chunks = [folder / artefacts.chunk(RESULTS, row["index"], "json").name for row in stored["chunks"]]
    chunks = [ChunkResult.from_dict(json.loads(path.read_bytes())) for path in stored_chunks]
    frames = {
        c.index: list(read_frames(c.index, (folder / artefacts.chunk(RESULTS, c.index, "jsonl").name).read_bytes()))
        for c in chunks
    }
    info = VideoInfo.from_dict(stored["video"])
    tracks = track_chunks(chunks, frames, info, Settings.from_dict(settings))
    return build_summary(
        SummaryVideo(name, info),
        settings,
        chunks,
        tracks,
        wall_s=stored["totals"]["wall_s"],
        thumbnail=lambda index, crop_id: artefacts.thumbnail(RESULTS, index, crop_id).name,
    )


@pytest.mark.parametrize("case", ["crossing", "cut", "not-a-video"])
def test_the_summary_json_is_byte_for_byte_what_the_runner_stored(case: str) -> None:
    """The records write the JSON the dict builder wrote: same keys, order, values and types."""
    folder = STORED / case
    assert json.dumps(rebuilt(folder).to_dict(), indent=2) == (folder / "summary.json").read_text()
