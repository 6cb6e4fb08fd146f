"""Inference engines compared by the benchmarks: the product's two detection backends, and OpenVINO.

`pt`, `pt-e2e` and `onnx-ultralytics` run `videoanalysis.detector.Detector` on Ultralytics' predictor (PyTorch, or
ONNX Runtime behind Ultralytics' AutoBackend); `pt` uses NMS (the default), `pt-e2e` YOLO26's NMS-free one-to-one
head (END2END=true). `onnx` is the product's default for an .onnx model: the same Detector straight on ONNX Runtime,
no torch (`videoanalysis.onnx_model`). `openvino-raw` runs the same ONNX file on OpenVINO with the product's letterbox
and NMS: a runtime the product does not ship. It runs at OpenVINO's default inference precision for the CPU, which is
bfloat16 where the CPU has it: that, not the runtime, is its lead; at f32 it runs at ONNX Runtime's speed, and in
bf16 its boxes differ from the f32 ones on some frames (bench/results/latest.md).
This module imports neither torch nor a runtime at import time, so cold starts measure only what they use.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

import cv2
import numpy as np

from videoanalysis.onnx_model import letterbox, letterbox_geometry, postprocess

KINDS = ("pt", "pt-e2e", "onnx-ultralytics", "onnx", "openvino-raw")
PRODUCT_BACKENDS = {
    "pt": "ultralytics",
    "pt-e2e": "ultralytics",
    "onnx-ultralytics": "ultralytics",
    "onnx": "onnxruntime",
}


class Engine(Protocol):
    def detect(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """Per frame an (N, 6) array: x1, y1, x2, y2 in frame pixels, confidence, class id."""
        ...


class ProductEngine:
    """The product's detector (model cached per process) on one backend."""

    def __init__(self, model: str, imgsz: int, conf: float, batch: int, kind: str) -> None:
        from videoanalysis.detector import Detector

        self.detector = Detector(
            model, imgsz=imgsz, conf=conf, batch=batch, end2end=kind == "pt-e2e", backend=PRODUCT_BACKENDS[kind]
        )

    def detect(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        return [
            np.concatenate([d.xyxy, d.conf[:, None], d.cls[:, None].astype(np.float32)], axis=1)
            for d in self.detector.detect(frames)
        ]


class OpenVinoEngine:
    """The product's letterbox and NMS around an OpenVINO compiled model (dynamic ONNX export, stride padding)."""

    def __init__(self, run: Any, imgsz: int, conf: float, batch: int) -> None:
        self.run = run
        self.imgsz = imgsz
        self.conf = conf
        self.batch = batch

    def detect(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for i in range(0, len(frames), self.batch):
            group = frames[i : i + self.batch]
            shape = group[0].shape[:2]
            ratio, pad = letterbox_geometry(shape, self.imgsz)
            blob = cv2.dnn.blobFromImages([letterbox(f, ratio, pad) for f in group], 1 / 255.0, swapRB=True)
            preds = np.asarray(self.run(blob))
            out.extend(postprocess(p, self.conf, ratio, pad, shape) for p in preds)
        return out


def openvino_run(model: str, threads: int, site: str) -> Any:
    if site not in sys.path:
        sys.path.append(site)  # after the venv, so the venv's numpy stays the one imported
    import openvino

    compiled = openvino.Core().compile_model(
        model, "CPU", {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
    )
    return lambda blob: compiled(blob)[0]


def make_engine(
    kind: str, model: str, imgsz: int, conf: float, batch: int, threads: int, openvino_site: str | None = None
) -> Engine:
    """An engine of `kind` limited to `threads` threads; `model` is the .pt (for `pt*`) or the .onnx file."""
    from videoanalysis.models import configure_threads

    configure_threads(threads)
    if kind in PRODUCT_BACKENDS:
        return ProductEngine(model, imgsz, conf, batch, kind)
    if kind == "openvino-raw" and openvino_site:
        return OpenVinoEngine(openvino_run(model, threads, openvino_site), imgsz, conf, batch)
    raise ValueError(f"unknown or unavailable engine {kind!r}")
