"""`bench.int8_cpus`: the boxes and counts it compares across CPUs, found here with the real demo models.

Its emulated half needs qemu-user, which CI lacks; both halves run the same code in a child process.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.int8_cpus import analysed_frames, boxes, counted, letterboxed, same_frames
from runner.cli import analyze_file
from scenes.generator import write_scene
from tests.conftest import DEMO_ONNX, ROOT
from tools import quantize_model
from videoanalysis.onnx_model import load_onnx
from videoanalysis.settings import Settings

FP32 = ROOT / "models" / "demo-yolo26n.onnx"


def test_same_frames_are_bit_for_bit(tmp_path: Path) -> None:
    images = tmp_path / "frames.npz"
    letterboxed(list(quantize_model.scene_frames((5000,), (1.0, 4.0))), load_onnx(str(FP32)), images)
    int8 = boxes(DEMO_ONNX, images, None)
    assert len(int8) == 2 and all(len(frame) for frame in int8)
    assert same_frames(int8, boxes(DEMO_ONNX, images, None)) == 2
    assert same_frames(int8, boxes(FP32, images, None)) == 0


def test_the_analysed_frames_detected_again_count_as_the_run(tmp_path: Path) -> None:
    """The frames it reads back from a run's video are the ones the app analysed: detected again with the run's
    model and counted in place of the stored detections, they give the run's counts."""
    video = tmp_path / "scene.mp4"
    truth = write_scene(video, tmp_path / "truth.json", seed=424243, seconds=12, codec="h264")
    out = tmp_path / "run" / "summary.json"
    settings = Settings(model_path=str(DEMO_ONNX), chunk_seconds=6.0, sample_fps=5.0)
    assert analyze_file(video, out, settings, workers=1, progress=False)["status"] == "succeeded"
    times, frames = analysed_frames(out.parent, video)
    assert len(times) == 60
    images = tmp_path / "frames.npz"
    letterboxed(frames, load_onnx(str(FP32)), images)
    recount = counted(out.parent, times, boxes(DEMO_ONNX, images, None), tmp_path)
    run = {name: entry["unique"] for name, entry in json.loads(out.read_text())["classes"].items()}
    assert sum(truth["unique"].values()) > 0
    assert recount == {name: run.get(name, 0) for name in recount}
