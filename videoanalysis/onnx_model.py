"""YOLO detection ONNX exports run straight on ONNX Runtime, with the letterbox and NMS on OpenCV: no torch.

Ultralytics runs the same file through torch tensors and imports torchvision for its NMS, about a second of every
cold start (bench/results/latest.md). This does the same arithmetic as Ultralytics' predictor (rectangular
letterbox padded to the stride, class-aware NMS at IoU 0.7, at most 300 boxes), so both give the same boxes
(tests/test_detector.py), and reads the class names and image size that Ultralytics writes into the export.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

STRIDE = 32
IOU = 0.7  # Ultralytics' default NMS IoU
MAX_DET = 300
PAD_VALUE = (114, 114, 114)


@dataclass(frozen=True)
class OnnxModel:
    """An ONNX Runtime session with what Ultralytics recorded about the model."""

    session: Any  # onnxruntime.InferenceSession
    names: dict[int, str]
    imgsz: int  # the size it was exported for
    static: bool  # fixed input size: letterbox to a square, one frame per call when the batch is fixed too
    batch: int  # frames per call; 0 = any

    def predict(self, frames: list[np.ndarray], imgsz: int, conf: float) -> list[np.ndarray]:
        """Per frame an (N, 6) float32 array: x1, y1, x2, y2 in frame pixels, confidence, class id.

        Frames of one call must share one size (frames of a video do).
        """
        if not frames:
            return []
        size = self.imgsz if self.static or not imgsz else -(-imgsz // STRIDE) * STRIDE  # Ultralytics rounds up
        shape = frames[0].shape[:2]
        ratio, pad = letterbox_geometry(shape, size, square=self.static)
        return self.predict_letterboxed([letterbox(frame, ratio, pad) for frame in frames], ratio, pad, shape, conf)

    def predict_letterboxed(
        self,
        images: list[np.ndarray],
        ratio: float,
        pad: tuple[int, int, int, int],
        shape: tuple[int, int],
        conf: float,
    ) -> list[np.ndarray]:
        """`predict` on frames of `shape` already letterboxed by `ratio` and `pad`: the network and NMS alone, so that
        bench.int8_cpus can run them where decoding a video would be slow (under CPU emulation)."""
        name = self.session.get_inputs()[0].name
        step = self.batch or len(images)
        out: list[np.ndarray] = []
        for i in range(0, len(images), step):
            preds = self.session.run(None, {name: blob(images[i : i + step])})[0]
            out.extend(postprocess(pred, conf, ratio, pad, shape) for pred in preds)
        return out


def load_onnx(path: str, threads: int | None = None) -> OnnxModel:
    """Open `path` on the CPU with `threads` intra-op threads (default: ONNX Runtime's, one per core).

    Raises `ValueError` for a file that is not an Ultralytics detection export.
    """
    session = cpu_session(path, threads)
    meta = session.get_modelmeta().custom_metadata_map
    if "names" not in meta:
        raise ValueError("no class names in its metadata (not an Ultralytics export)")
    if meta.get("task", "detect") != "detect":
        raise ValueError(f"a {meta['task']!r} model, not a detection model")
    shape = session.get_inputs()[0].shape
    if len(shape) != 4 or shape[1] != 3:
        raise ValueError(f"not a detection model (input shape {shape}, expected batch x 3 x height x width)")
    batch, _, height, width = shape
    static = isinstance(height, int) and isinstance(width, int)
    imgsz = max(ast.literal_eval(meta["imgsz"])) if "imgsz" in meta else max(height, width) if static else 640
    names = {int(k): str(v) for k, v in ast.literal_eval(meta["names"]).items()}
    _check_detection_output(session, len(names), int(imgsz), batch if isinstance(batch, int) else 1)
    return OnnxModel(session, names, int(imgsz), static, batch if isinstance(batch, int) else 0)


def _check_detection_output(session: Any, classes: int, imgsz: int, batch: int) -> None:
    """One blank image through the network: a file with an exporter's metadata but another network (a classifier,
    an identity graph) is refused when it loads, with its output shape, instead of failing on every frame."""
    name = session.get_inputs()[0].name
    try:
        output = session.run(None, {name: np.zeros((batch, 3, imgsz, imgsz), np.float32)})[0]
    except Exception as error:  # any runtime failure on a well-formed image means the same
        raise ValueError(f"not a detection model (it fails on a {imgsz}x{imgsz} image: {error})") from error
    shape = tuple(np.shape(output))
    end_to_end = len(shape) == 3 and shape[2] == 6
    raw = len(shape) == 3 and shape[1] == 4 + classes
    if not (end_to_end or raw):
        expected = f"batch x {4 + classes} x anchors, or batch x detections x 6"
        raise ValueError(f"not a detection model (output shape {shape}, expected {expected})")


def cpu_session(path: str, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session with `threads` intra-op threads (None: ONNX Runtime's own choice)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def letterbox_geometry(
    shape: tuple[int, int], imgsz: int, square: bool = False
) -> tuple[float, tuple[int, int, int, int]]:
    """Scale and (top, bottom, left, right) padding that fit `shape` into `imgsz` (Ultralytics `LetterBox`).

    Padded to a multiple of the stride only (Ultralytics' `auto` for dynamic models), or to the square.
    """
    h, w = shape
    ratio = min(imgsz / h, imgsz / w)
    dw, dh = imgsz - round(w * ratio), imgsz - round(h * ratio)
    if not square:
        dw, dh = dw % STRIDE, dh % STRIDE
    half_w, half_h = dw / 2, dh / 2
    return ratio, (round(half_h - 0.1), round(half_h + 0.1), round(half_w - 0.1), round(half_w + 0.1))


def preprocess(frames: list[np.ndarray], ratio: float, pad: tuple[int, int, int, int]) -> np.ndarray:
    """The network input `predict` feeds for BGR `frames`: letterboxed, RGB, NCHW float32 in [0, 1].

    Public so that INT8 calibration (tools/quantize_model.py) sees exactly the tensors the app runs on.
    """
    return blob([letterbox(frame, ratio, pad) for frame in frames])


def blob(images: list[np.ndarray]) -> np.ndarray:
    """Letterboxed BGR images as the network's input: RGB, NCHW float32 in [0, 1]."""
    return cv2.dnn.blobFromImages(images, 1 / 255.0, swapRB=True)


def letterbox(frame: np.ndarray, ratio: float, pad: tuple[int, int, int, int]) -> np.ndarray:
    h, w = frame.shape[:2]
    resized = cv2.resize(frame, (round(w * ratio), round(h * ratio)), interpolation=cv2.INTER_LINEAR)
    return cv2.copyMakeBorder(resized, *pad, cv2.BORDER_CONSTANT, value=PAD_VALUE)


def postprocess(
    pred: np.ndarray, conf: float, ratio: float, pad: tuple[int, int, int, int], shape: tuple[int, int]
) -> np.ndarray:
    """Detections of one frame from an end-to-end (max_det, 6) output, or a (4 + classes, anchors) one plus NMS."""
    if pred.shape[1] == 6 and pred.shape[0] > pred.shape[1]:  # NMS-free head: x1 y1 x2 y2 conf cls, best first
        found = pred[pred[:, 4] > conf]
        boxes, scores, classes = found[:, :4].copy(), found[:, 4], found[:, 5]
    else:
        class_scores = pred[4:]
        classes = class_scores.argmax(0)
        scores = class_scores[classes, np.arange(class_scores.shape[1])]
        keep = scores > conf
        xywh, scores, classes = pred[:4, keep].T, scores[keep], classes[keep]
        corner = xywh[:, :2] - xywh[:, 2:] / 2
        kept = cv2.dnn.NMSBoxesBatched(
            np.concatenate([corner, xywh[:, 2:]], 1).tolist(), scores.tolist(), classes.tolist(), conf, IOU
        )
        picked = np.asarray(kept, dtype=np.int64).reshape(-1)[:MAX_DET]
        boxes = np.concatenate([corner, corner + xywh[:, 2:]], 1)[picked]
        scores, classes = scores[picked], classes[picked]
    top, _, left, _ = pad
    boxes[:, [0, 2]] = ((boxes[:, [0, 2]] - left) / ratio).clip(0, shape[1])
    boxes[:, [1, 3]] = ((boxes[:, [1, 3]] - top) / ratio).clip(0, shape[0])
    return np.concatenate([boxes, scores[:, None], classes[:, None]], 1).astype(np.float32)
