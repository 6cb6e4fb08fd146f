"""One chunk's analysis: the thumbnails it crops, and what it stores per core frame for the fan-in's tracking pass."""

from __future__ import annotations

import subprocess
import sys

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
from videoanalysis.contracts import Crop
from videoanalysis.detections_file import read_frames
from videoanalysis.detector import Detections
from videoanalysis.regions import Line, Regions
from videoanalysis.settings import Settings
from videoanalysis.video import probe


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


def _found(*boxes: tuple[float, float, float, float, float, int]) -> Detections:
    """Detections of (x1, y1, x2, y2, conf, class)."""
    rows = np.array(boxes, np.float64).reshape(-1, 6)
    return Detections(rows[:, :4].astype(np.float32), rows[:, 4].astype(np.float32), rows[:, 5].astype(np.int64))


def test_a_run_of_nearby_boxes_keeps_the_crop_of_its_most_confident_one() -> None:
    """A car moving 10 px per frame on a 40 px box, missed for two frames, and a bike beside it: one crop each, of
    its most confident detection; a box of another class, or out of reach, starts a run of its own."""
    crops = _Crops()
    for k, conf in enumerate([0.5, 0.9, None, None, 0.7]):
        image = np.full((200, 400, 3), 10 * (k + 1), np.uint8)
        car = [(10.0 * k, 10.0, 10.0 * k + 40, 50.0, conf, 0)] if conf else []
        runs = crops.frame(200 * k, image, _found(*car, (300.0, 100.0, 340.0, 140.0, 0.6, 1)))
        assert runs == ([1] if car else []) + [2]
    assert crops.crops == {1: Crop(200, 0, 0.9), 2: Crop(0, 1, 0.6)}
    assert crops.images[1].min() == 20, "cropped from its own frame"
    image = np.zeros((200, 400, 3), np.uint8)
    crops.frame(1000, image, _found((50.0, 10.0, 90.0, 50.0, 0.8, 1), (140.0, 10.0, 180.0, 50.0, 0.8, 0)))
    assert set(crops.crops) == {1, 2, 3, 4}, "another class at the car's place, and a car 2.5 sizes away"


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
    assert window.result.frames_owned == info.frame_count, "every frame of the core was read, if not analysed"
    assert sum(len(f.boxes) for f in frames) == sum(c.detections for c in window.result.classes.values())
    crops = window.result.thumbnails
    assert crops and set(crops) == set(window.thumbnails)
    shown = {f.t_ms: f for f in frames}
    assert all(abs(crop.conf - shown[crop.t_ms].conf[crop.det]) < 6e-4 for crop in crops.values()), "its detection"
    assert all(shown[crop.t_ms].crops[crop.det] == (0, crop_id) for crop_id, crop in crops.items()), "in its run"
    assert {c for f in frames for c in f.crops} == {(0, crop_id) for crop_id in crops}, "every run has its crop"
    for jpeg in window.thumbnails.values():
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and max(image.shape[:2]) <= THUMBNAIL_MAX_SIDE
    assert window.frame_jpeg is not None
    shown = cv2.imdecode(np.frombuffer(window.frame_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert shown.shape == (360, 640, 3), "the first core frame, never enlarged"
    assert FRAME_MAX_SIDE >= 640
    assert analyze_window(str(video), info, chunk, Settings(model_path=str(DEMO_ONNX))).frame_jpeg is None


def test_a_chunk_with_an_onnx_model_never_imports_torch(tmp_path) -> None:
    """The chunk worker of the default CPU profile: ONNX Runtime and OpenCV, a fixed camera (no motion to measure),
    no tracker. torch is the longest import of a cold start; only the fan-in needs it."""
    video = tmp_path / "scene.mp4"
    write_scene(video, seed=11, seconds=2.0, size=(320, 180), codec="h264")
    code = (
        "import sys\n"
        "from videoanalysis.analysis import analyze_window\n"
        "from videoanalysis.chunking import plan_chunks\n"
        "from videoanalysis.settings import Settings\n"
        "from videoanalysis.video import probe\n"
        f"info = probe({str(video)!r})\n"
        f"settings = Settings(model_path={str(DEMO_ONNX)!r})\n"
        f"window = analyze_window({str(video)!r}, info, plan_chunks(info)[0], settings)\n"
        "assert window.result.frames_analyzed == 10, window.result\n"
        "print(sorted(m for m in ('torch', 'ultralytics') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]", done.stderr[-2000:]
