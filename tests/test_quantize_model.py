"""tools/quantize_model.py: an INT8 ONNX that the app loads as it loads the FP32 one, and that finds the same boxes.

The model is quantised here on six frames (the shipped one used 48); agreement is checked on frames of a scene it
was not calibrated on, and the same check fails for a model whose head decoding is INT8 too (so the check is real).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from scenes.writer import write_video
from tests.conftest import ROOT
from tools import quantize_model
from videoanalysis.onnx_model import OnnxModel, load_onnx

FP32 = ROOT / "models" / "demo-yolo26n.onnx"
SHIPPED = ROOT / "models" / "demo-yolo26n-int8.onnx"
CONF = 0.25


@pytest.fixture(scope="module")
def calibration() -> list[np.ndarray]:
    return list(quantize_model.scene_frames((5000, 5003), (10.0, 30.0, 50.0), size=(640, 360)))


@pytest.fixture(scope="module")
def int8(tmp_path_factory: pytest.TempPathFactory, calibration: list[np.ndarray]) -> Path:
    out = tmp_path_factory.mktemp("int8") / "model-int8.onnx"
    quantize_model.quantize(FP32, out, calibration, calibration="six test frames")
    return out


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    """Frames of tuning scenes the test model was not calibrated on (crowded, shaky camera), as the app sees them."""
    return list(quantize_model.scene_frames((5002, 5009), (12.0, 33.0), size=(1280, 720)))


def agreement(reference: OnnxModel, model: OnnxModel, frames: list[np.ndarray]) -> tuple[float, float, float, float]:
    """Recall and precision of `model`'s boxes against `reference`'s (same class, IoU >= 0.5, greedy one to one),
    mean IoU and mean absolute confidence change of the matches."""
    ref_total = got_total = 0
    ious: list[float] = []
    shifts: list[float] = []
    for frame in frames:
        ref, got = reference.predict([frame], 0, CONF)[0], model.predict([frame], 0, CONF)[0]
        ref_total, got_total = ref_total + len(ref), got_total + len(got)
        free = list(range(len(got)))
        for box in ref:
            candidates = [(_iou(box[:4], got[j, :4]), j) for j in free if got[j, 5] == box[5]]
            best = max(candidates, default=(0.0, -1))
            if best[0] >= 0.5:
                free.remove(best[1])
                ious.append(best[0])
                shifts.append(abs(float(got[best[1], 4] - box[4])))
    assert ref_total >= 10, "the frames must hold enough objects for the check to mean something"
    return len(ious) / ref_total, len(ious) / max(got_total, 1), float(np.mean(ious or [0])), float(np.mean(shifts))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def test_int8_model_loads_with_the_source_metadata(int8: Path) -> None:
    source, made = load_onnx(str(FP32)), load_onnx(str(int8))
    assert (made.names, made.imgsz, made.static, made.batch) == (source.names, source.imgsz, source.static, 0)
    props = {p.key: p.value for p in onnx.load(str(int8)).metadata_props}
    assert {p.key: p.value for p in onnx.load(str(FP32)).metadata_props}.items() <= props.items()
    assert "six test frames" in props["quantization"]
    graph = onnx.load(str(int8)).graph
    assert sum(node.op_type == "QuantizeLinear" for node in graph.node) > 50  # really quantised, not a copy
    assert int8.stat().st_size < FP32.stat().st_size / 2


def agrees(numbers: tuple[float, float, float, float]) -> bool:
    """The bar: nearly every box found again, in nearly the same place, with nearly the same confidence."""
    recall, precision, mean_iou, shift = numbers
    return recall >= 0.9 and precision >= 0.9 and mean_iou >= 0.9 and shift <= 0.05


@pytest.mark.parametrize("which", ["made here", "shipped"])
def test_int8_weights_fit_in_seven_bits(which: str, int8: Path) -> None:
    """What keeps boxes the same on x86 CPUs without VNNI: two UINT8 activations times weights of at most 64 fit the
    16-bit sums of their integer kernels (255 * 64 * 2 < 32768), where 8-bit weights would saturate them."""
    graph = onnx.load(str(int8 if which == "made here" else SHIPPED)).graph
    weights = [numpy_helper.to_array(t) for t in graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert len(weights) > 50
    assert max(int(np.abs(w.astype(np.int16)).max()) for w in weights) <= 64


@pytest.mark.parametrize("which", ["made here", "shipped"])
def test_int8_boxes_agree_with_fp32(which: str, int8: Path, frames: list[np.ndarray]) -> None:
    numbers = agreement(load_onnx(str(FP32)), load_onnx(str(int8 if which == "made here" else SHIPPED)), frames)
    assert agrees(numbers), numbers


def test_int8_head_decoding_fails_the_same_check(
    tmp_path: Path, calibration: list[np.ndarray], frames: list[np.ndarray]
) -> None:
    """Why the head's decoding stays FP32: one INT8 scale for pixel coordinates and [0, 1] scores."""
    out = tmp_path / "all-int8.onnx"
    quantize_model.quantize(FP32, out, calibration[:2], keep_head_fp32=False)
    numbers = agreement(load_onnx(str(FP32)), load_onnx(str(out)), frames)
    assert not agrees(numbers), numbers


def test_calibration_folder_reads_images_and_video_frames(tmp_path: Path) -> None:
    image = np.full((90, 160, 3), 80, np.uint8)
    cv2.imwrite(str(tmp_path / "a.jpg"), image)
    (tmp_path / "sub").mkdir()
    cv2.imwrite(str(tmp_path / "sub" / "b.png"), image)
    (tmp_path / "notes.txt").write_text("not a frame")
    write_video((image for _ in range(20)), tmp_path / "clip.mp4", 10.0, "mp4v")
    frames = list(quantize_model.folder_frames(tmp_path, per_video=3))
    assert len(frames) == 5 and all(frame.shape == (90, 160, 3) for frame in frames)


def test_command_refuses_missing_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert quantize_model.main([str(tmp_path / "missing.onnx")]) == 2
    assert quantize_model.main([str(FP32), "--calibration", str(tmp_path / "none"), "--out", str(tmp_path / "x")]) == 2
    assert "error" in capsys.readouterr().err
