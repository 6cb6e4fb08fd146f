"""Model loading (`videoanalysis.models`) and detection (`videoanalysis.detector`) with the bundled demo model:
PyTorch, ONNX on Ultralytics, and ONNX straight on ONNX Runtime."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

from scenes.generator import Scene
from tests.conftest import DEMO_MODEL, ROOT
from videoanalysis.detector import Detections, Detector
from videoanalysis.models import ModelError, available_cores, load_model, load_onnx_model, resolve_backend
from videoanalysis.onnx_model import letterbox, letterbox_geometry
from videoanalysis.settings import Settings

FP32_ONNX = ROOT / "models" / "demo-yolo26n.onnx"  # the export the .pt and the INT8 copy are compared with
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
    return Detector(str(DEMO_MODEL), imgsz=IMGSZ, conf=0.25, batch=8)


def test_import_is_light() -> None:
    imports = "import sys, videoanalysis.detector, videoanalysis.models"
    code = f"{imports}; print('torch' in sys.modules, 'ultralytics' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


BOXES = np.array([[10, 20, 50, 80], [100, 100, 140, 190]], np.float32)
CONF = np.array([0.9, 0.5], np.float32)
CLS = np.array([0, 2], np.int64)


def test_detections_hold_n_boxes_their_confidences_and_classes() -> None:
    assert len(Detections(BOXES, CONF, CLS)) == 2
    assert len(Detections.empty()) == 0
    assert len(Detections(BOXES[:1], CONF[:1], CLS[:1])) == 1


@pytest.mark.parametrize(
    ("xyxy", "conf", "cls", "wrong"),
    [
        (BOXES[:, :3], CONF, CLS, r"xyxy must be float32 of shape \(2, 4\), got float32 \(2, 3\)"),
        (BOXES[0], CONF[:1], CLS[:1], r"xyxy must be float32 of shape \(1, 4\), got float32 \(4,\)"),
        (BOXES.astype(np.float64), CONF, CLS, r"xyxy must be float32 of shape \(2, 4\), got float64 \(2, 4\)"),
        (BOXES, CONF[:1], CLS, r"xyxy must be float32 of shape \(1, 4\), got float32 \(2, 4\)"),
        (BOXES, CONF[:, None], CLS, r"conf must be float32 of shape \(N,\), got float32 \(2, 1\)"),
        (BOXES, np.float32(0.9), CLS, r"conf must be float32 of shape \(N,\), got float32"),
        (BOXES, CONF, CLS[:1], r"cls must be int64 of shape \(2,\), got int64 \(1,\)"),
        (BOXES, CONF, CLS.astype(np.float32), r"cls must be int64 of shape \(2,\), got float32 \(2,\)"),
        (BOXES, CONF, [0, 2], r"cls must be int64 of shape \(2,\), got list"),
        (BOXES, [0.9, 0.5], CLS, r"conf must be float32 of shape \(N,\), got list"),
    ],
)
def test_detections_refuse_arrays_of_another_shape_or_type(xyxy, conf, cls, wrong: str) -> None:
    with pytest.raises(ValueError, match=f"^Detections.{wrong}$"):
        Detections(xyxy, conf, cls)


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
    assert load_model(str(DEMO_MODEL)) is load_model("models/demo-yolo26n.pt")


def test_an_ultralytics_model_is_one_per_thread_and_an_onnx_session_one_per_process() -> None:
    """The Functions host runs concurrent activities as threads of one process: an Ultralytics model must not be
    shared between them, an ONNX Runtime session may."""
    with ThreadPoolExecutor(1) as other:
        theirs = other.submit(lambda: (load_model(str(DEMO_MODEL)), load_onnx_model(str(FP32_ONNX)))).result()
    assert load_model(str(DEMO_MODEL)) is not theirs[0]
    assert load_model(str(DEMO_MODEL)) is load_model(str(DEMO_MODEL))
    assert load_onnx_model(str(FP32_ONNX)) is theirs[1]


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


@pytest.mark.parametrize("model", [DEMO_MODEL, FP32_ONNX], ids=["pt", "onnx"])
def test_class_filter(model: Path, held_out_frames) -> None:
    detector = Detector(str(model), imgsz=IMGSZ, classes=["car"])
    dets = detector.detect([held_out_frames[0].image])[0]
    assert len(dets) > 0 and {detector.names[int(c)] for c in dets.cls} == {"car"}
    with pytest.raises(ValueError, match="unknown classes"):
        Detector(str(model), classes=["truck"])


def test_onnx_agrees_with_pytorch(pt_detector: Detector, held_out_frames) -> None:
    images = [f.image for f in held_out_frames]
    frames8 = (images * 2)[:8]
    onnx = Detector(str(FP32_ONNX), imgsz=IMGSZ, conf=0.25, batch=8)
    assert onnx.names == pt_detector.names
    pt_dets = pt_detector.detect(images)
    onnx_dets = onnx.detect(frames8)  # one batch of 8 through the dynamic-batch export
    single = Detector(str(FP32_ONNX), imgsz=IMGSZ, conf=0.25, batch=1).detect(images[:1])[0]
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
        f"d = Detector({str(DEMO_MODEL)!r}, end2end={end2end}); d.detect([np.zeros((360, 640, 3), np.uint8)]); "
        "print('torchvision' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == str(imports_torchvision)


@pytest.mark.parametrize("model", [DEMO_MODEL, FP32_ONNX], ids=["pt", "onnx"])
def test_default_image_size_is_the_models_own(model: Path, held_out_frames) -> None:
    """IMGSZ=0: Ultralytics would run a dynamic ONNX export at 640; the model was made for 416."""
    detector = Detector(str(model), backend="ultralytics")
    detector.detect([held_out_frames[0].image])
    assert detector.model.predictor.imgsz == [IMGSZ, IMGSZ]  # what tools/train_demo_model.py makes it for
    assert load_onnx_model(str(FP32_ONNX)).imgsz == IMGSZ


def test_backend_choice() -> None:
    assert resolve_backend("models/x.onnx") == "onnxruntime"
    assert resolve_backend("models/X.ONNX") == "onnxruntime"
    assert resolve_backend("models/x.pt") == resolve_backend("models/x_openvino_model") == "ultralytics"
    assert resolve_backend("models/x.onnx", "ultralytics") == "ultralytics"
    with pytest.raises(ValueError, match="BACKEND"):
        Settings(backend="tensorrt")
    assert Settings.from_env({"BACKEND": "ultralytics"}).backend == "ultralytics"


@pytest.mark.parametrize(("imgsz", "size"), [(IMGSZ, None), (500, (540, 700))], ids=["default", "odd-size-portrait"])
def test_onnx_runtime_backend_gives_ultralytics_boxes(imgsz: int, size: tuple[int, int] | None, held_out_frames):
    """Straight on ONNX Runtime, the export gives the boxes Ultralytics' predictor gives for it: same letterbox
    (also for an image size that is not a multiple of the stride and a portrait frame), NMS and scaling back."""
    images = [f.image if size is None else cv2.resize(f.image, size) for f in held_out_frames]
    ours = Detector(str(FP32_ONNX), imgsz=imgsz, backend="onnxruntime").detect(images)
    theirs = Detector(str(FP32_ONNX), imgsz=imgsz, backend="ultralytics").detect(images)
    assert sum(map(len, ours)) >= 2 * len(images)
    for a, b in zip(ours, theirs, strict=True):
        assert np.array_equal(a.cls, b.cls)
        assert np.allclose(a.xyxy, b.xyxy, atol=0.05) and np.allclose(a.conf, b.conf, atol=1e-4)


def test_static_onnx_export(tmp_path: Path, held_out_frames) -> None:
    """A fixed-size, batch-1 export (Ultralytics' default) is letterboxed to its square and fed a frame at a time."""
    from ultralytics import YOLO

    copy = tmp_path / "static.pt"
    copy.write_bytes(DEMO_MODEL.read_bytes())
    static = YOLO(str(copy)).export(format="onnx", imgsz=320, dynamic=False, simplify=False)
    images = [f.image for f in held_out_frames]
    ours = Detector(static, imgsz=IMGSZ, batch=8, backend="onnxruntime")
    assert (ours.model.static, ours.model.batch, ours.model.imgsz) == (True, 1, 320)
    theirs = Detector(static, batch=8, backend="ultralytics").detect(images)
    for a, b in zip(ours.detect(images), theirs, strict=True):
        assert np.array_equal(a.cls, b.cls) and np.allclose(a.xyxy, b.xyxy, atol=0.05)


@pytest.mark.parametrize("square", [False, True], ids=["stride-padded", "square"])
@pytest.mark.parametrize("shape", [(720, 1280), (480, 640), (701, 333)])
def test_letterbox_is_ultralytics_letterbox(shape: tuple[int, int], square: bool) -> None:
    from ultralytics.data.augment import LetterBox

    image = np.random.default_rng(0).integers(0, 256, (*shape, 3), np.uint8)
    ratio, pad = letterbox_geometry(shape, IMGSZ, square=square)
    assert np.array_equal(letterbox(image, ratio, pad), LetterBox((IMGSZ, IMGSZ), auto=not square)(image=image))


def test_onnx_runtime_backend_needs_no_torch() -> None:
    """Detection on the ONNX Runtime backend works where torch cannot even be imported."""
    code = (
        "import sys; sys.modules['torch'] = None; import numpy as np; from videoanalysis.detector import Detector; "
        f"d = Detector({str(FP32_ONNX)!r}); found = d.detect([np.zeros((360, 640, 3), np.uint8)] * 3); "
        "print(d.backend, len(found), 'ultralytics' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["onnxruntime", "3", "False"]


def test_onnx_file_that_is_no_ultralytics_detector(tmp_path: Path) -> None:
    import onnx

    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"MODEL_PATH.*cannot be loaded"):
        load_onnx_model(str(garbage))
    bare = onnx.load(str(FP32_ONNX))
    del bare.metadata_props[:]
    onnx.save(bare, str(tmp_path / "bare.onnx"))
    with pytest.raises(ModelError, match="no class names"):
        load_onnx_model(str(tmp_path / "bare.onnx"))
    with pytest.raises(ModelError, match="no such file"):
        Detector(str(tmp_path / "missing.onnx"))


def test_onnx_file_with_detection_metadata_but_another_network_is_refused_when_it_loads(tmp_path: Path) -> None:
    """An identity graph wearing the demo model's metadata: refused at load with its output shape, not per frame."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["images"], ["output0"])],
        "identity",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    del model.metadata_props[:]
    model.metadata_props.extend(onnx.load(str(FP32_ONNX)).metadata_props)
    onnx.save(model, str(tmp_path / "identity.onnx"))
    with pytest.raises(ModelError, match=r"MODEL_PATH=.*identity.onnx.*not a detection model \(output shape"):
        load_onnx_model(str(tmp_path / "identity.onnx"))


@pytest.mark.parametrize(
    ("quota", "cap"), [("max 100000", None), ("200000 100000", 2), ("50000 100000", 1), ("", None)]
)
def test_available_cores_follow_a_cgroup_quota(tmp_path: Path, quota: str, cap: int | None) -> None:
    """A function app instance sees its host's cores but may use only its quota's; no quota file: the affinity."""
    cpu_max = tmp_path / "cpu.max"
    if quota:
        cpu_max.write_text(quota + "\n")
    affinity = len(os.sched_getaffinity(0))
    assert available_cores(cpu_max) == (affinity if cap is None else min(affinity, cap))
