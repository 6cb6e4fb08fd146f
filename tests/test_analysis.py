"""One chunk's analysis: which frames a chunk shares with its neighbours, where stitching matches their tracks, the
thumbnail each track gets, and what it records of lines and zones on its core frames."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import cv2
import numpy as np

from scenes.generator import write_scene
from tests.conftest import DEMO_ONNX
from videoanalysis.analysis import (
    FRAME_MAX_SIDE,
    THUMBNAIL_MAX_SIDE,
    _RegionWatch,
    _Segments,
    _SharedFrames,
    _TrackBuilder,
    analyze_window,
    encode_jpeg,
    thumbnail_crop,
)
from videoanalysis.chunking import lookahead_seconds, plan_chunks
from videoanalysis.contracts import VideoInfo
from videoanalysis.regions import EMPTY, Line, Regions, Zone, count_inside, trace
from videoanalysis.settings import Settings
from videoanalysis.tracking import TrackedBox
from videoanalysis.video import Frame, probe

VIDEO = VideoInfo(fps=25.0, frame_count=750, duration_s=30.0, width=640, height=360, codec="h264", size_bytes=1)


def test_neighbours_record_boxes_on_the_same_frames_around_each_seam() -> None:
    """Chunk i's window reaches `lookahead` past the seam and chunk i+1's starts `overlap` before it: both keep
    boxes on every frame of [seam - overlap, seam + lookahead), and neither keeps them deep inside its core."""
    settings = Settings(chunk_seconds=10.0, overlap_seconds=1.0, track_lost_seconds=1.0)
    lookahead_ms = round(lookahead_seconds(settings) * 1000)
    chunks = plan_chunks(VIDEO, 10.0, 1.0, lookahead_seconds=lookahead_seconds(settings))
    shared = [_SharedFrames(chunk, 1000, lookahead_ms) for chunk in chunks]
    for before, after, chunk in zip(shared, shared[1:], chunks[1:], strict=False):
        seam = chunk.start_ms
        window = range(seam - 1000, seam + lookahead_ms, 40)
        assert all(before(t) and after(t) for t in window)
        assert chunk.window_start_ms == seam - 1000 and chunks[chunk.index - 1].window_end_ms == seam + lookahead_ms
    assert not shared[1](15_000) and not shared[0](0)
    assert shared[-1](25_000) is False, "the last chunk has no next neighbour"


def test_a_thumbnail_is_the_box_with_a_margin_clipped_to_the_frame() -> None:
    image = np.zeros((360, 640, 3), np.uint8)
    image[100:200, 300:340] = 255  # the object: 40 x 100
    crop = thumbnail_crop(image, (300.0, 100.0, 340.0, 200.0))
    assert crop is not None and crop.shape == (130, 52, 3)  # 15% of each side added: 6 px and 15 px
    assert crop[15:115, 6:46].min() == 255 and crop[:15].max() == 0, "the object in the middle, context around it"
    at_edge = thumbnail_crop(image, (-20.0, 300.0, 30.0, 400.0))
    assert at_edge is not None and at_edge.shape == (75, 38, 3), "clipped to the frame"
    assert thumbnail_crop(image, (700.0, 10.0, 800.0, 50.0)) is None, "nothing of it inside the frame"


def test_a_thumbnail_is_a_small_copy_that_outlives_its_frame() -> None:
    image = np.full((720, 1280, 3), 90, np.uint8)
    crop = thumbnail_crop(image, (100.0, 100.0, 1100.0, 600.0))
    assert crop is not None and max(crop.shape[:2]) == THUMBNAIL_MAX_SIDE and crop.shape[1] > crop.shape[0]
    small = thumbnail_crop(image, (10.0, 10.0, 30.0, 30.0))
    assert small is not None and small.shape == (26, 26, 3), "never enlarged"
    image[:] = 0
    assert small.min() == 90 and crop.min() == 90, "the frame's buffer is reused by the reader; the crop is not"
    decoded = cv2.imdecode(np.frombuffer(encode_jpeg(crop), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == crop.shape


def test_a_track_keeps_the_crop_of_its_most_confident_box() -> None:
    frames = [np.full((100, 100, 3), value, np.uint8) for value in (10, 20, 30)]
    record = _TrackBuilder(id=3, cls="car", first_ms=0, last_ms=0)
    for conf, frame in zip((0.5, 0.9, 0.7), frames, strict=True):
        record.offer(TrackedBox(3, 0, conf, (10.0, 10.0, 50.0, 50.0)), frame)
    assert record.crop is not None and record.crop.min() == 20 and record.segment(0).best_conf == 0.9
    assert _TrackBuilder(id=4, cls="car", first_ms=0, last_ms=0).segment(0).best_conf is None, "no crop, no conf"


MIDDLE = Line("middle", (320, 360), (320, 0))
LEFT_HALF = Zone("left", ((0, 0), (320, 0), (320, 360), (0, 360)))


def test_a_core_frame_feeds_the_line_traces_and_the_zones() -> None:
    """Each track keeps its core boxes for the lines and notes the zones it was inside; a zone's peak is per class,
    the most of that class's segments inside in one frame."""
    watch = _RegionWatch(Regions((MIDDLE,), (LEFT_HALF,)), keep_frame=True)
    car, person = _TrackBuilder(1, "car", 0, 0), _TrackBuilder(2, "person", 0, 0)
    image = np.zeros((720, 1280, 3), np.uint8)
    watch.core_frame(Frame(0, image, True), [(car, (90.0, 50.0, 190.0, 100.0)), (person, (400, 0, 420, 90))])
    watch.core_frame(Frame(200, image, True), [(car, (390.0, 50.0, 490.0, 100.0))])
    watch.core_frame(Frame(400, image, True), [])
    assert watch.peaks == {"left": {"car": 1}}
    assert car.zones == {"left"} and not person.zones
    segment = car.segment(0, watch.regions)
    assert segment.lines == {"middle": trace(MIDDLE, car.core)} and segment.zones == ("left",)
    assert [c.direction for c in segment.lines["middle"].crossings] == ["in"]
    through = Regions((Line("through", (410, 0), (410, 360)),))
    assert person.segment(0, through).lines == {}, "never clearly on a side of it: left out"
    assert watch.frame_jpeg is not None
    shown = cv2.imdecode(np.frombuffer(watch.frame_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert shown.shape == (540, FRAME_MAX_SIDE, 3), "the first core frame, downscaled"


def test_a_track_that_goes_on_as_another_class_is_a_segment_of_its_own() -> None:
    """Tracker id 7 follows a car, then (the tracker having switched objects) a bike, with a one-frame flicker back:
    two segments, each with its own id and class, the flicker's frame counted in the car's."""
    segments = _Segments(lambda t_ms: False)
    image = np.zeros((360, 640, 3), np.uint8)
    names = {0: "car", 1: "bike"}
    for k, cls in enumerate([0, 0, 0, 1, 1, 0, 1, 1]):
        box = (10.0 * k, 100.0, 10.0 * k + 60, 140.0)
        segments.frame(Frame(200 * k, image, True), [TrackedBox(7, cls, 0.9, box)], names)
    car, bike = (record.segment(0) for record in segments.built)
    assert (car.id, car.cls, car.core_hits, car.first_ms, car.last_ms) == (1, "car", 4, 0, 1000)
    assert (bike.id, bike.cls, bike.core_hits, bike.first_ms, bike.last_ms) == (2, "bike", 4, 600, 1400)


def test_without_regions_a_window_records_nothing_of_them() -> None:
    watch = _RegionWatch(Regions(), keep_frame=True)
    assert not watch.active
    segment = _TrackBuilder(1, "car", 0, 0).segment(0)
    assert segment.lines == {} and segment.zones == ()


def test_every_track_counted_in_a_window_has_a_thumbnail(tmp_path) -> None:
    """A short generated scene through the real model: each track seen on a core frame gets one JPEG, and only
    those do; the window analysed its frames once (the crops came from that pass). With a line and a zone, each
    track's trace and zones, and the zone's peak, are those of its boxes on the frames the window reports, and each
    segment is reported there under its own id and class on each of its core frames."""
    video = tmp_path / "scene.mp4"
    write_scene(video, seed=11, seconds=3.0, size=(640, 360), codec="h264")
    info = probe(str(video))
    regions = Regions((MIDDLE,), (LEFT_HALF,))
    settings = Settings(model_path=str(DEMO_ONNX), sample_fps=5.0, count_regions=regions)
    (chunk,) = plan_chunks(info, 10.0, 1.0)
    window = analyze_window(str(video), info, chunk, settings)
    _check_regions(window.detections_jsonl, window.result.tracks, window.result.zone_peaks)
    assert window.frame_jpeg is not None
    cropped = {track.id for track in window.result.tracks if track.best_conf is not None}
    assert cropped and cropped == {track.id for track in window.result.tracks if track.core_hits > 0}
    assert set(window.thumbnails) == cropped
    for jpeg in window.thumbnails.values():
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and max(image.shape[:2]) <= THUMBNAIL_MAX_SIDE
    assert window.result.frames_analyzed == 15
    per_frame = Counter(
        (track["id"], track["cls"])
        for line in window.detections_jsonl.splitlines()
        for track in json.loads(line)["tracks"]
    )
    assert per_frame == {(t.id, t.cls): t.core_hits for t in window.result.tracks if t.core_hits}


def _check_regions(jsonl: bytes, segments, zone_peaks) -> None:
    frames = [json.loads(line) for line in jsonl.splitlines()]
    boxes = defaultdict(list)
    peak: dict[str, int] = {}
    for frame in frames:
        for track in frame["tracks"]:
            boxes[track["id"]].append((frame["t_ms"], tuple(track["box"])))
        for cls in {track["cls"] for track in frame["tracks"]}:
            found = count_inside(LEFT_HALF, [tuple(t["box"]) for t in frame["tracks"] if t["cls"] == cls])
            peak[cls] = max(peak.get(cls, 0), found)
    assert zone_peaks["left"] == {cls: n for cls, n in peak.items() if n}
    for segment in segments:
        assert segment.lines.get("middle", EMPTY) == trace(MIDDLE, boxes[segment.id])
