"""One chunk's analysis: which frames a chunk shares with its neighbours, where stitching matches their tracks, and
the thumbnail each track gets."""

from __future__ import annotations

import cv2
import numpy as np

from scenes.generator import write_scene
from tests.conftest import ROOT
from videoanalysis.analysis import (
    THUMBNAIL_MAX_SIDE,
    _SharedFrames,
    _TrackBuilder,
    analyze_window,
    encode_jpeg,
    thumbnail_crop,
)
from videoanalysis.chunking import lookahead_seconds, plan_chunks
from videoanalysis.contracts import VideoInfo
from videoanalysis.settings import Settings
from videoanalysis.tracking import TrackedBox
from videoanalysis.video import probe

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


def test_every_track_counted_in_a_window_has_a_thumbnail(tmp_path) -> None:
    """A short generated scene through the real model: each track seen on a core frame gets one JPEG, and only
    those do; the window analysed its frames once (the crops came from that pass)."""
    video = tmp_path / "scene.mp4"
    write_scene(video, seed=11, seconds=3.0, size=(640, 360), codec="h264")
    info = probe(str(video))
    settings = Settings(model_path=str(ROOT / "models" / "demo-yolo26n.onnx"), sample_fps=5.0)
    (chunk,) = plan_chunks(info, 10.0, 1.0)
    window = analyze_window(str(video), info, chunk, settings)
    cropped = {track.id for track in window.result.tracks if track.best_conf is not None}
    assert cropped and cropped == {track.id for track in window.result.tracks if track.core_hits > 0}
    assert set(window.thumbnails) == cropped
    for jpeg in window.thumbnails.values():
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and max(image.shape[:2]) <= THUMBNAIL_MAX_SIDE
    assert window.result.frames_analyzed == 15
