"""Model loading, detection with the bundled demo model (PyTorch and ONNX), and the ByteTrack factory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from videoanalysis.detector import TRACKERS, Detections, Detector, ModelError, load_model, new_tracker
from videoanalysis.synthetic import Scene

ROOT = Path(__file__).resolve().parent.parent
DEMO_PT = ROOT / "models" / "demo-yolo26n.pt"
DEMO_ONNX = ROOT / "models" / "demo-yolo26n.onnx"
IMGSZ = 416  # the size the demo model is meant for
HELD_OUT_SEED = 3  # training used seeds >= 10000


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def held_out_frames():
    scene = Scene(HELD_OUT_SEED, 20.0, 25.0, (1280, 720))
    return [scene.frame(i) for i in (40, 130, 210, 300, 380)]


@pytest.fixture(scope="module")
def pt_detector() -> Detector:
    return Detector(str(DEMO_PT), imgsz=IMGSZ, conf=0.25, batch=8)


def test_import_is_light() -> None:
    code = "import sys, videoanalysis.detector; print('torch' in sys.modules, 'ultralytics' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_missing_model_path(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="MODEL_PATH") as error:
        load_model(str(tmp_path / "missing.pt"))
    assert ".pt or .onnx" in str(error.value)


def test_bare_hub_name_is_not_downloaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError, match="no such file"):
        load_model("yolo26n.pt")
    assert not list(tmp_path.iterdir())
    assert not list(Path(os.environ["YOLO_CONFIG_DIR"]).rglob("yolo26n.pt"))


def test_unloadable_model(tmp_path: Path) -> None:
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="cannot be loaded"):
        load_model(str(bad))


def test_model_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert load_model(str(DEMO_PT)) is load_model("models/demo-yolo26n.pt")


def test_demo_model_finds_held_out_objects(pt_detector: Detector, held_out_frames) -> None:
    """Nearly every visible object is found (IoU > 0.5, right class) and nearly every detection is a real object."""
    assert sorted(pt_detector.names.values()) == ["bike", "car", "person"]
    detections = pt_detector.detect([f.image for f in held_out_frames])
    visible = found = false = 0
    for frame, dets in zip(held_out_frames, detections, strict=True):
        assert dets.xyxy.dtype == np.float32 and dets.xyxy.shape == (len(dets), 4) and dets.cls.shape == (len(dets),)
        names = [pt_detector.names[int(c)] for c in dets.cls]
        for obj in frame.objects:
            if obj.visible:
                visible += 1
                hits = [_iou(b, np.array(obj.box)) > 0.5 for b, n in zip(dets.xyxy, names, strict=True) if n == obj.cls]
                found += any(hits)
        for box, name in zip(dets.xyxy, names, strict=True):  # objects partly outside the frame or hidden count too
            false += not any(o.cls == name and _iou(box, np.array(o.box)) > 0.3 for o in frame.objects)
    assert visible >= 15
    assert found >= 0.9 * visible, f"found {found} of {visible} visible objects"
    assert false <= 1, f"{false} detections match no object"


def test_class_filter(held_out_frames) -> None:
    detector = Detector(str(DEMO_PT), imgsz=IMGSZ, classes=["car"])
    dets = detector.detect([held_out_frames[0].image])[0]
    assert len(dets) > 0 and {detector.names[int(c)] for c in dets.cls} == {"car"}
    with pytest.raises(ValueError, match="unknown classes"):
        Detector(str(DEMO_PT), classes=["truck"])


def test_onnx_agrees_with_pytorch(pt_detector: Detector, held_out_frames) -> None:
    images = [f.image for f in held_out_frames]
    frames8 = (images * 2)[:8]
    onnx = Detector(str(DEMO_ONNX), imgsz=IMGSZ, conf=0.25, batch=8)
    assert onnx.names == pt_detector.names
    pt_dets = pt_detector.detect(images)
    onnx_dets = onnx.detect(frames8)  # one batch of 8 through the dynamic-batch export
    single = Detector(str(DEMO_ONNX), imgsz=IMGSZ, conf=0.25, batch=1).detect(images[:1])[0]
    assert np.allclose(single.xyxy, onnx_dets[0].xyxy, atol=0.5)
    for a, b in zip(pt_dets, onnx_dets[: len(images)], strict=True):
        strong = a.conf > 0.35  # a detection near the threshold may flip; strong ones must all be there
        for box, c in zip(a.xyxy[strong], a.cls[strong], strict=True):
            ious = [_iou(box, other) for other, oc in zip(b.xyxy, b.cls, strict=True) if oc == c]
            assert max(ious, default=0.0) > 0.95
        assert abs(len(a) - len(b)) <= int(np.sum((a.conf > 0.2) & (a.conf < 0.35)))


@pytest.mark.parametrize(("end2end", "imports_torchvision"), [(True, False), (False, True)])
def test_nms_free_head_spares_the_torchvision_import(end2end: bool, imports_torchvision: bool) -> None:
    """END2END runs YOLO26's one-to-one head: no NMS, so Ultralytics does not import torchvision (about 1 s of a
    worker's cold start) before the first detection."""
    code = (
        "import sys, numpy as np; from videoanalysis.detector import Detector; "
        f"d = Detector({str(DEMO_PT)!r}, end2end={end2end}); d.detect([np.zeros((360, 640, 3), np.uint8)]); "
        "print('torchvision' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == str(imports_torchvision)


@pytest.mark.parametrize("kind", TRACKERS)
def test_tracker_buffer_scales_with_sampled_rate(kind: str) -> None:
    assert new_tracker(30.0, kind).track_buffer == 30
    assert new_tracker(5.0, kind).track_buffer == 5
    assert new_tracker(0.5, kind).track_buffer == 1
    with pytest.raises(ValueError):
        new_tracker(0, kind)
    with pytest.raises(ValueError, match="unknown tracker"):
        new_tracker(5.0, "deepocsort")


@pytest.mark.parametrize("kind", TRACKERS)
def test_tracker_keeps_ids_through_a_short_gap(kind: str) -> None:
    tracker = new_tracker(5.0, kind)
    frame = np.zeros((360, 640, 3), np.uint8)
    ids = set()
    for step in range(12):
        if step in (6, 7):  # two sampled frames without detections: shorter than the buffer of 5
            dets = Detections.empty()
        else:
            x = 20.0 + 15 * step
            dets = Detections(
                xyxy=np.array([[x, 100, x + 60, 130], [500 - x, 200, 540 - x, 300]], np.float32),
                conf=np.array([0.9, 0.8], np.float32),
                cls=np.array([0, 1], np.int64),
            )
        for t in tracker.update(dets, frame):
            ids.add((t.track_id, t.cls))
            assert len(t.xyxy) == 4 and 0 < t.conf <= 1
    assert len(ids) == 2 and {c for _, c in ids} == {0, 1}


@pytest.mark.parametrize("model", [DEMO_PT, DEMO_ONNX], ids=["pt", "onnx"])
def test_default_image_size_is_the_models_own(model: Path, held_out_frames) -> None:
    """IMGSZ=0: Ultralytics would run a dynamic ONNX export at 640; the model was made for 416."""
    detector = Detector(str(model))
    detector.detect([held_out_frames[0].image])
    assert detector.model.predictor.imgsz == [IMGSZ, IMGSZ]  # what tools/train_demo_model.py makes it for
