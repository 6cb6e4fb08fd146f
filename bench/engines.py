"""Inference engines compared by the benchmarks: the product's Ultralytics path and raw runtimes without torch.

`pt`, `pt-e2e` and `onnx` run `videoanalysis.detector.Detector` (Ultralytics `predict` on a PyTorch or an ONNX
Runtime AutoBackend), i.e. exactly what a worker runs; `pt` uses NMS (the default), `pt-e2e` YOLO26's NMS-free
one-to-one head (END2END=true). `onnx-raw` and `openvino-raw` run the same ONNX file straight on
ONNX Runtime / OpenVINO with a letterbox + NMS written here on OpenCV and NumPy: the lean path a worker without torch
would have. This module imports neither torch nor a runtime at import time, so cold starts measure only what they use.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

import cv2
import numpy as np

KINDS = ("pt", "pt-e2e", "onnx", "onnx-raw", "openvino-raw")
STRIDE = 32
IOU = 0.7  # Ultralytics' default NMS IoU
MAX_DET = 300


class Engine(Protocol):
    def detect(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """Per frame an (N, 6) array: x1, y1, x2, y2 in frame pixels, confidence, class id."""
        ...


class UltralyticsEngine:
    """The product's detector (Ultralytics predict, model cached per process)."""

    def __init__(self, model: str, imgsz: int, conf: float, batch: int, end2end: bool = False) -> None:
        from videoanalysis.detector import Detector

        self.detector = Detector(model, imgsz=imgsz, conf=conf, batch=batch, end2end=end2end)

    def detect(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        return [
            np.concatenate([d.xyxy, d.conf[:, None], d.cls[:, None].astype(np.float32)], axis=1)
            for d in self.detector.detect(frames)
        ]


class RawEngine:
    """Letterbox (rectangular, like Ultralytics for dynamic models), one runtime call per batch, NMS on OpenCV."""

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


def letterbox_geometry(shape: tuple[int, int], imgsz: int) -> tuple[float, tuple[int, int, int, int]]:
    """Scale and (top, bottom, left, right) padding that fit `shape` into `imgsz`, padded to the stride only."""
    h, w = shape
    ratio = min(imgsz / h, imgsz / w)
    new_w, new_h = round(w * ratio), round(h * ratio)
    dw, dh = ((imgsz - new_w) % STRIDE) / 2, ((imgsz - new_h) % STRIDE) / 2
    return ratio, (round(dh - 0.1), round(dh + 0.1), round(dw - 0.1), round(dw + 0.1))


def letterbox(frame: np.ndarray, ratio: float, pad: tuple[int, int, int, int]) -> np.ndarray:
    h, w = frame.shape[:2]
    resized = cv2.resize(frame, (round(w * ratio), round(h * ratio)), interpolation=cv2.INTER_LINEAR)
    return cv2.copyMakeBorder(resized, *pad, cv2.BORDER_CONSTANT, value=(114, 114, 114))


def postprocess(
    pred: np.ndarray, conf: float, ratio: float, pad: tuple[int, int, int, int], shape: tuple[int, int]
) -> np.ndarray:
    """Detections of one frame from an end-to-end (300, 6) output or a raw (4 + classes, anchors) one (+ NMS)."""
    if pred.shape[1] == 6 and pred.shape[0] > pred.shape[1]:  # end-to-end head: (max_det, x1 y1 x2 y2 conf cls)
        found = pred[pred[:, 4] > conf]
        boxes, scores, classes = found[:, :4].copy(), found[:, 4], found[:, 5]
    else:
        scores_all = pred[4:]
        classes = scores_all.argmax(0)
        scores = scores_all[classes, np.arange(scores_all.shape[1])]
        keep = scores > conf
        xywh, scores, classes = pred[:4, keep].T, scores[keep], classes[keep]
        corner = xywh[:, :2] - xywh[:, 2:] / 2
        picked = cv2.dnn.NMSBoxesBatched(
            np.concatenate([corner, xywh[:, 2:]], 1).tolist(), scores.tolist(), classes.tolist(), conf, IOU
        )
        picked = np.asarray(picked, dtype=np.int64).reshape(-1)[:MAX_DET]
        boxes = np.concatenate([corner, corner + xywh[:, 2:]], 1)[picked]
        scores, classes = scores[picked], classes[picked]
    top, _, left, _ = pad
    boxes[:, [0, 2]] = ((boxes[:, [0, 2]] - left) / ratio).clip(0, shape[1])
    boxes[:, [1, 3]] = ((boxes[:, [1, 3]] - top) / ratio).clip(0, shape[0])
    return np.concatenate([boxes, scores[:, None], classes[:, None]], 1).astype(np.float32)


def onnxruntime_run(model: str, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda blob: session.run(None, {name: blob})[0]


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
    """An engine of `kind` limited to `threads` threads; `model` is the .pt (for `pt`) or the .onnx file."""
    if kind in ("pt", "pt-e2e", "onnx"):
        from videoanalysis.detector import configure_threads

        configure_threads(threads)
        return UltralyticsEngine(model, imgsz, conf, batch, end2end=kind == "pt-e2e")
    cv2.setNumThreads(threads)
    if kind == "onnx-raw":
        return RawEngine(onnxruntime_run(model, threads), imgsz, conf, batch)
    if kind == "openvino-raw" and openvino_site:
        return RawEngine(openvino_run(model, threads, openvino_site), imgsz, conf, batch)
    raise ValueError(f"unknown or unavailable engine {kind!r}")
