"""Batched detection on one of two backends, behind one small protocol.

`BACKEND` chooses: ONNX Runtime straight (`videoanalysis.onnx_model`, no torch) or Ultralytics' predictor (PyTorch
`.pt` files, export directories, and ONNX if asked). `auto` picks ONNX Runtime for `.onnx` files: the same boxes
at the same speed without importing torch and torchvision for detection, so a worker starts sooner
(docs/decisions/2026-11-25-onnx-runtime.md). Models come from `videoanalysis.models`, loaded once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from videoanalysis.models import load_detection_model, resolve_backend

if TYPE_CHECKING:
    from videoanalysis.onnx_model import OnnxModel
    from videoanalysis.settings import Settings


@dataclass(frozen=True)
class Detections:
    """Detections of one frame in original-frame pixels: N boxes (x1, y1, x2, y2), their confidences and class ids.

    Checked when made: a wrong shape or type would otherwise surface far away, in the tracker or the detections
    file, as a broadcasting error or a box read wrong.

    Raises:
        ValueError: an array is not of its shape and type below.
    """

    xyxy: np.ndarray  # (N, 4) float32
    conf: np.ndarray  # (N,) float32
    cls: np.ndarray  # (N,) int64

    def __post_init__(self) -> None:
        n = self.conf.shape[0] if isinstance(self.conf, np.ndarray) and self.conf.ndim == 1 else None
        for name, shape, dtype in (("conf", (n,), np.float32), ("xyxy", (n, 4), np.float32), ("cls", (n,), np.int64)):
            array = getattr(self, name)
            if not isinstance(array, np.ndarray) or array.shape != shape or array.dtype != dtype:
                wanted = "(N,)" if n is None else str(shape)
                got = f"{array.dtype} {array.shape}" if isinstance(array, np.ndarray) else type(array).__name__
                raise ValueError(f"Detections.{name} must be {np.dtype(dtype)} of shape {wanted}, got {got}")

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.conf)


class Backend(Protocol):
    """One way of running a model: detections of a batch of BGR frames, in frame pixels."""

    names: dict[int, str]

    def detect(self, frames: list[np.ndarray]) -> list[Detections]: ...


class OnnxRuntimeBackend:
    """An Ultralytics ONNX export on ONNX Runtime straight (`videoanalysis.onnx_model`): no torch."""

    def __init__(self, model: OnnxModel, imgsz: int, conf: float, class_ids: list[int] | None) -> None:
        self.model, self.names, self.imgsz, self.conf, self.class_ids = model, model.names, imgsz, conf, class_ids

    def detect(self, frames: list[np.ndarray]) -> list[Detections]:
        out: list[Detections] = []
        for found in self.model.predict(frames, self.imgsz, self.conf):
            if self.class_ids is not None:
                found = found[np.isin(found[:, 5], self.class_ids)]
            out.append(Detections(found[:, :4], found[:, 4].copy(), found[:, 5].astype(np.int64)))
        return out


class UltralyticsBackend:
    """Any model Ultralytics' predictor runs: PyTorch `.pt` files, export directories, ONNX if asked."""

    def __init__(self, model: Any, imgsz: int, conf: float, batch: int, class_ids: list[int] | None) -> None:
        self.model, self.names = model, _names(model.names)
        self.options = {**({"imgsz": imgsz} if imgsz else {}), "conf": conf, "batch": batch, "classes": class_ids}

    def detect(self, frames: list[np.ndarray]) -> list[Detections]:
        out: list[Detections] = []
        for result in self.model.predict(frames, **self.options, verbose=False, save=False):
            boxes = result.boxes.cpu().numpy()
            out.append(
                Detections(
                    xyxy=boxes.xyxy.astype(np.float32).reshape(-1, 4),
                    conf=boxes.conf.astype(np.float32).reshape(-1),
                    cls=boxes.cls.astype(np.int64).reshape(-1),
                )
            )
        return out


class Detector:
    """Batched inference with fixed options on the backend the settings choose; nothing is written to disk."""

    def __init__(
        self,
        model_path: str,
        imgsz: int = 0,
        conf: float = 0.25,
        batch: int = 8,
        classes: list[str] | tuple[str, ...] | None = None,
        end2end: bool = False,
        backend: str = "auto",
    ):
        self.backend = resolve_backend(model_path, backend)
        self.model = load_detection_model(model_path, end2end, self.backend)
        self.names = _names(self.model.names)
        self.batch = max(1, batch)
        class_ids = _class_ids(self.names, classes)
        self.runner: Backend = (
            OnnxRuntimeBackend(self.model, imgsz, conf, class_ids)
            if self.backend == "onnxruntime"
            else UltralyticsBackend(self.model, imgsz, conf, self.batch, class_ids)
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Detector:
        return cls(
            settings.model_path,
            imgsz=settings.imgsz,
            conf=settings.confidence,
            batch=settings.batch_size,
            classes=settings.classes,
            end2end=settings.end2end,
            backend=settings.backend,
        )

    def detect(self, frames: list[np.ndarray]) -> list[Detections]:
        """Detections for each frame, in order."""
        out: list[Detections] = []
        for i in range(0, len(frames), self.batch):
            out.extend(self.runner.detect(list(frames[i : i + self.batch])))
        return out


def _names(names: dict[Any, Any]) -> dict[int, str]:
    return {int(k): str(v) for k, v in names.items()}


def _class_ids(names: dict[int, str], classes: list[str] | tuple[str, ...] | None) -> list[int] | None:
    if not classes:
        return None
    ids = {v: k for k, v in names.items()}
    unknown = [c for c in classes if c not in ids]
    if unknown:
        raise ValueError(f"unknown classes {unknown}; the model knows {sorted(ids)}")
    return sorted(ids[c] for c in classes)
