"""One chunk's analysis: the thumbnails it crops, and what it stores per core frame for the fan-in's tracking pass."""

from __future__ import annotations

import cv2
import numpy as np

from scenes.generator import write_scene
from tests.conftest import DEMO_ONNX
from videoanalysis.analysis import (
    FRAME_MAX_SIDE,
    THUMBNAIL_MAX_SIDE,
    _Crops,
    analyze_window,
    encode_jpeg,
    thumbnail_crop,
)
from videoanalysis.chunking import plan_chunks
from videoanalysis.detector import Detections
from videoanalysis.regions import Line, Regions
from videoanalysis.settings import Settings
from videoanalysis.tracking import TrackedBox
from videoanalysis.video import probe
from videoanalysis.video_tracks import read_frames


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


def _one(box: tuple[float, float, float, float]) -> Detections:
    return Detections(np.array([box], np.float32), np.array([0.5], np.float32), np.array([0], np.int64))


def test_an_object_keeps_the_crop_of_its_most_confident_box() -> None:
    """One crop per tracker track and class; each detection names its object's crop."""
    crops = _Crops()
    box = (10.0, 10.0, 50.0, 50.0)
    for value, conf in ((10, 0.5), (20, 0.9), (30, 0.7)):
        image = np.full((100, 100, 3), value, np.uint8)
        assert crops.frame(image, _one(box), [TrackedBox(3, 0, conf, box, 0)]) == [1]
    assert crops.conf == {1: 0.9} and crops.images[1].min() == 20
    image = np.zeros((100, 100, 3), np.uint8)
    assert crops.frame(image, _one(box), [TrackedBox(3, 1, 0.4, box, 0)]) == [2], "the track as another class"
    assert crops.frame(image, _one(box), []) == [None], "a detection no track took"


def test_a_window_stores_each_core_frame_for_the_fan_in(tmp_path) -> None:
    """A short generated scene through the real model: every core frame is stored once, with its detections; each
    crop a detection names was written, and only those; the window analysed its frames once (the crops came from
    that pass). With lines or zones, chunk 0 keeps its first frame for the report."""
    video = tmp_path / "scene.mp4"
    write_scene(video, seed=11, seconds=3.0, size=(640, 360), codec="h264")
    info = probe(str(video))
    regions = Regions((Line("middle", (320, 360), (320, 0)),))
    settings = Settings(model_path=str(DEMO_ONNX), sample_fps=5.0, count_regions=regions)
    (chunk,) = plan_chunks(info, 10.0, sample_fps=5.0)
    window = analyze_window(str(video), info, chunk, settings)
    frames = list(read_frames(0, window.detections_jsonl))
    assert [f.t_ms for f in frames] == list(range(0, 3000, 200)) and window.result.frames_analyzed == 15
    assert sum(len(f.boxes) for f in frames) == sum(c.detections for c in window.result.classes.values())
    named = {crop for f in frames for crop in f.thumbnails if crop is not None}
    assert named and named == {(0, crop_id) for crop_id in window.thumbnails} == {
        (0, c) for c in window.result.thumbnails
    }
    for jpeg in window.thumbnails.values():
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and max(image.shape[:2]) <= THUMBNAIL_MAX_SIDE
    assert window.frame_jpeg is not None
    shown = cv2.imdecode(np.frombuffer(window.frame_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert shown.shape == (360, 640, 3), "the first core frame, never enlarged"
    assert FRAME_MAX_SIDE >= 640
    assert analyze_window(str(video), info, chunk, Settings(model_path=str(DEMO_ONNX))).frame_jpeg is None
