"""`bench.empty_scenes`: the detector's false objects in a scene's background, with the real demo model."""

from __future__ import annotations

from bench.empty_scenes import FRAMES, empty_scene_detections
from tests.conftest import DEMO_ONNX
from videoanalysis.onnx_model import load_onnx


def test_a_background_feature_passes_for_a_walker_at_640x360_only() -> None:
    """The held-out pillars scene whose 3-minute run counted walkers 5 too many (docs/decisions, things that stay
    put): a patch of its background is a walker to the detector at 640x360, in every frame, and nothing at 1280x720.
    The stage 3 demo model is less sure of it than stage 2 was (0.3-0.4 against 0.6 and more), not rid of it."""
    model = load_onnx(str(DEMO_ONNX), threads=1)
    small = empty_scene_detections(model, 6016, "poles", (640, 360))
    walker = [(frame, conf) for frame, cls, box, conf in small if cls == "person" and abs(box[1] - 161) <= 3]
    assert [frame for frame, _ in walker] == list(FRAMES) and max(conf for _, conf in walker) < 0.6
    assert empty_scene_detections(model, 6016, "poles", (1280, 720)) == []
