"""The fan-in's tracking pass: the chunks' detections files, segments per class, regions, holes, and seams that
change nothing, on a real model over a real shaking camera."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from scenes.generator import write_scene
from scenes.scenarios import scenario
from tests.conftest import DEMO_ONNX
from videoanalysis.analysis import analyze_window
from videoanalysis.chunking import plan_chunks
from videoanalysis.contracts import ChunkResult, Crop, VideoInfo
from videoanalysis.detections_file import FrameRecord, frame_line, read_frames
from videoanalysis.regions import Box, Line, Regions, Zone, trace
from videoanalysis.settings import Settings
from videoanalysis.tracking import borders
from videoanalysis.tracking.objects import join_segments
from videoanalysis.tracking.video_pass import VideoTracks, track_chunks, track_video
from videoanalysis.video import probe

SHAPE = (360, 640)
MIDDLE = Line("middle", (320, 360), (320, 0))
LEFT_HALF = Zone("left", ((0, 0), (320, 0), (320, 360), (0, 360)))


def frame(t_ms: int, *found: tuple[Box, str], crops: tuple[tuple[int, int], ...] = ()) -> FrameRecord:
    boxes, classes = tuple(box for box, _ in found), tuple(cls for _, cls in found)
    return FrameRecord(t_ms, boxes, (0.9,) * len(found), classes, crops=crops)


def box(x: float, y: float = 100.0) -> Box:
    return (x, y, x + 60.0, y + 40.0)


def test_a_frame_goes_through_its_line_of_the_detections_file_unchanged() -> None:
    motion = np.array([[1.0001, 2e-05, -3.123456789], [-2e-05, 0.9999, 1.5]])
    record = FrameRecord(400, (box(10.5), box(200)), (0.91, 0.3), ("car", "person"), motion, ((2, 7), None))
    (parsed,) = read_frames(2, frame_line(record).encode())
    assert parsed.motion is not None and np.array_equal(parsed.motion, motion), "bit for bit"
    assert parsed == FrameRecord(400, record.boxes, record.conf, record.cls, parsed.motion, record.crops)


def test_a_detections_file_of_a_chunk_that_tracked_itself_still_reads() -> None:
    """Written before the fan-in tracked: no motion, no crops, its own tracks (which the pass ignores)."""
    old = {"t_ms": 200, "detections": [{"cls": "car", "conf": 0.8, "box": [1, 2, 3, 4]}], "tracks": [{"id": 1}]}
    (parsed,) = read_frames(0, json.dumps(old).encode())
    assert (parsed.motion, parsed.crops, parsed.boxes) == (None, (None,), ((1.0, 2.0, 3.0, 4.0),))


@pytest.mark.parametrize("line", [b"not json", b'{"t_ms": 1}', b'{"t_ms": 1, "detections": [{"cls": "car"}]}'])
def test_a_damaged_detections_file_raises(line: bytes) -> None:
    with pytest.raises((ValueError, KeyError)):
        list(read_frames(0, line))


def test_a_track_that_goes_on_as_another_class_is_a_segment_of_its_own() -> None:
    """One tracker track follows a car, then (the tracker having switched objects) a bike, with a one-frame flicker
    back: two segments, the flicker's frame counted in the car's."""
    classes = ["car", "car", "car", "bike", "bike", "car", "bike", "bike"]
    frames = [frame(200 * k, (box(10.0 * k), cls)) for k, cls in enumerate(classes)]
    tracks = track_video([frames], SHAPE, 5.0, Settings())
    car, bike = tracks.segments
    assert (car.cls, bike.cls) == ("car", "bike")
    assert (car.hits, bike.hits) == (4, 4)
    assert bike.first_ms == 600 and car.last_ms == 1000


def test_segments_trace_the_lines_note_the_zones_and_the_zones_peak_per_class() -> None:
    """A car drives right across the middle line out of the left half, beside a person standing on the line at its
    edge. The chunks' runs put both in one run in chunk 1: the car's thumbnail is the most confident crop of its own
    detections (a tie goes to the earliest chunk); the person, whose own detections were never cropped, shows the
    best crop of its runs."""
    runs = [((0, 1), (0, 2)), ((1, 1), (1, 1)), ((2, 1), (2, 2))]
    frames = [
        frame(200 * k, (box(150.0 + 40 * k), "car"), (box(290.0, 250.0), "person"), crops=runs[k // 4])
        for k in range(10)
    ]
    settings = Settings(count_regions=Regions((MIDDLE,), (LEFT_HALF,)))
    crops = {(0, 1): Crop(200, 0, 0.5), (1, 1): Crop(1000, 0, 0.9), (2, 1): Crop(1600, 0, 0.9), (0, 2): Crop(0, 0, 0.7)}
    tracks = track_video([frames], SHAPE, 5.0, settings, crops)
    car, person = sorted(tracks.segments, key=lambda s: s.cls)
    middle = car.lines["middle"]
    assert middle.crossings == trace(MIDDLE, [(200 * k, box(150.0 + 40 * k)) for k in range(10)]).crossings
    assert [c.direction for c in middle.crossings] == ["in"]
    assert (middle.first and middle.first.t_ms, middle.last and middle.last.t_ms) == (0, 1800)
    assert person.lines == {}, "never clearly on a side of it: left out"
    assert car.zones == person.zones == ("left",)
    assert tracks.zone_peaks == {"left": {"car": 1, "person": 1}}
    assert (car.thumbnail, car.thumbnail_conf) == ((1, 1), 0.9)
    assert (person.thumbnail, person.thumbnail_conf) == ((1, 1), 0.9), "not (0, 2): a crop of the car's detection"


def test_a_segment_starts_where_the_tracker_first_saw_its_object() -> None:
    """The tracker confirms a new track on its third frame; the segment starts two frames earlier, counts them, and
    notes the zone the car was inside in them only."""
    frames = [frame(0), *(frame(200 * k, (box(250.0 + 20 * k), "car")) for k in range(1, 8))]
    (car,) = track_video([frames], SHAPE, 5.0, Settings(count_regions=Regions((), (LEFT_HALF,)))).segments
    assert (car.first, car.hits) == ((200, box(270.0)), 7)
    assert car.zones == ("left",)


def test_a_track_that_turns_back_at_the_border_is_two_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    """A car leaves through the right border; a frame later another comes in there, going left, where the tracker
    expects the first, and the tracker keeps the first car's track for the second (without the cut: one segment).
    The pass cuts that track where it turned back; each segment's crops are its own object's."""

    def clipped(left: float, top: float) -> Box:
        return (left, top, min(640.0, left + 150.0), top + 60.0)

    leaving = [frame(200 * k, (clipped(300.0 + 13 * k, 150.0), "car"), crops=((0, 1),)) for k in range(24)]
    coming = [frame(200 * k, (clipped(601.0 - 20 * (k - 25), 152.0), "car"), crops=((0, 2),)) for k in range(25, 50)]
    crops = {(0, 1): Crop(1000, 0, 0.8), (0, 2): Crop(6000, 0, 0.7)}
    frames = [*leaving, frame(200 * 24), *coming]
    first, second = track_video([frames], SHAPE, 5.0, Settings(), crops).segments
    assert (first.first_ms, first.last_ms, second.first_ms, second.last_ms) == (0, 23 * 200, 25 * 200, 49 * 200)
    assert first.first[1][0] < first.last[1][0] and second.first[1][0] > second.last[1][0], "right, then left"
    assert (first.thumbnail, second.thumbnail) == ((0, 1), (0, 2))
    monkeypatch.setattr(borders, "TURN_MOVE", math.inf)
    (both,) = track_video([frames], SHAPE, 5.0, Settings(), crops).segments
    assert both.hits == first.hits + second.hits


def test_a_track_that_took_over_a_walker_another_track_lost_gives_it_back() -> None:
    """Two walkers cross behind a pillar, the one going left lost first: the real tracker goes on from the other's
    track with it. That track is cut where it did, so each walker is one object (three without the cut)."""

    def walker(x: float) -> tuple[Box, str]:
        return (x, 150.0, x + 60.0, 300.0), "person"

    frames = []
    for k in range(40):
        right = [walker(116.0 + 8 * k)] if k <= 20 else [walker(316.0 + 8 * (k - 25))] if k >= 25 else []
        left = [walker(500.0 - 8 * k)] if k <= 8 else [walker(292.0 - 8 * (k - 21))] if k >= 21 else []
        frames.append(frame(200 * k, *right, *left))
    segments = track_video([frames], SHAPE, 5.0, Settings()).segments
    rest = next(s for s in segments if s.follows is not None)
    assert (rest.first_ms, rest.first[1][0] > rest.last[1][0]) == (4_200, True), "from the first box going left"
    objects = join_segments(segments, link_gap_ms=4_000, frame_size=(SHAPE[1], SHAPE[0]))
    assert objects.unique == {"person": 2}


def test_a_segment_knows_how_far_the_camera_had_panned_at_each_of_its_frames() -> None:
    """The camera pans right 10 px per analysed frame after the first: a parked car moves left as far in the image,
    and stands still where the pans put it."""
    pan = np.array([[1.0, 0.0, -10.0], [0.0, 1.0, 0.0]])
    frames = [
        FrameRecord(200 * k, (box(300.0 - 10 * k),), (0.9,), ("car",), None if k == 0 else pan) for k in range(10)
    ]
    (car,) = track_video([frames], SHAPE, 5.0, Settings()).segments
    assert car.pans == tuple((10.0 * k, 0.0) for k in range(10))
    assert {round(b[0] + p[0]) for (_, b), p in zip(car.boxes, car.pans, strict=True)} == {300}


def test_a_failed_chunk_starts_a_fresh_tracker() -> None:
    """An object seen on both sides of a chunk nobody analysed is two tracks: no track bridges the hole."""
    info = VideoInfo(25.0, 150, 6.0, 640, 360, "h264", 1)
    chunks = [ChunkResult(i, "ok", start_ms=2000 * i, end_ms=2000 * i + 2000) for i in range(3)]
    frames = {i: [frame(2000 * i + 200 * k, (box(10.0 + 40 * i + 4 * k), "car")) for k in range(10)] for i in range(3)}
    assert len(track_chunks(chunks, frames, info, Settings()).segments) == 1
    chunks[1] = ChunkResult(1, "failed", error="decode failed")
    assert len(track_chunks(chunks, frames, info, Settings()).segments) == 2
    del frames[1]
    assert len(track_chunks(chunks, frames, info, Settings()).segments) == 2
    assert track_chunks([], {}, info, Settings()) == VideoTracks()


def test_seams_change_nothing_over_a_shaking_camera(tmp_path: Path) -> None:
    """The real model over 6 s of a shaking camera: chunks of 1.3 s, and of 0.7 s, store what one chunk stores for
    the same frames (detections and camera motions, bit for bit), so the pass gives the same segments and peaks."""
    video = tmp_path / "shaky.mp4"
    write_scene(video, seed=31, seconds=6.0, size=(640, 360), codec="h264", scenario=scenario("shaky"))
    info = probe(str(video))
    settings = Settings(model_path=str(DEMO_ONNX), sample_fps=5.0, count_regions=Regions((MIDDLE,), (LEFT_HALF,)))

    def stored(chunk_seconds: float) -> tuple[list[FrameRecord], VideoTracks]:
        results, frames = [], {}
        for chunk in plan_chunks(info, chunk_seconds, sample_fps=settings.sample_fps):
            window = analyze_window(str(video), info, chunk, settings)
            results.append(window.result)
            frames[chunk.index] = list(read_frames(chunk.index, window.detections_jsonl))
        every = [f for index in sorted(frames) for f in frames[index]]
        return every, track_chunks(results, frames, info, settings)

    one_frames, one = stored(1000.0)
    assert sum(f.motion is not None for f in one_frames) >= 20, "the camera moved"
    assert one.segments
    for chunk_seconds in (1.3, 0.7):
        frames, tracks = stored(chunk_seconds)
        assert [(f.t_ms, f.boxes, f.conf, f.cls) for f in frames] == [
            (f.t_ms, f.boxes, f.conf, f.cls) for f in one_frames
        ]
        for a, b in zip(frames, one_frames, strict=True):
            assert (a.motion is None and b.motion is None) or np.array_equal(a.motion, b.motion), a.t_ms
        strip = [(s.cls, s.first, s.last, s.hits, s.lines, s.zones) for s in tracks.segments]
        assert strip == [(s.cls, s.first, s.last, s.hits, s.lines, s.zones) for s in one.segments]
        assert tracks.zone_peaks == one.zone_peaks
