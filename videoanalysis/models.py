"""Models, loaded once per process and cached: the ONNX Runtime session or the Ultralytics model for `MODEL_PATH`,
with the process's thread count. torch, ultralytics and onnxruntime are imported inside functions: importing this
module stays cheap, so the function host can index the app and the orchestrator can run without paying for them.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from videoanalysis.onnx_model import OnnxModel

MODEL_SETTING = "MODEL_PATH"
# What every analysing worker imports, whatever the backend; nearly all of its time is torch, which the tracker
# imports (bench/results/latest.md, cold start).
WORKER_IMPORTS = ("cv2", "onnxruntime")
_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()
_THREADS: int | None = None  # set by configure_threads


class ModelError(RuntimeError):
    """The configured model cannot be used (missing, not a detector, or unloadable)."""


def offline_ultralytics() -> None:
    """Ultralytics must never fetch weights or pip-install on a worker, nor write its settings into a home folder
    that is read-only on a function app; set before its first import."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_VERBOSE", "false")  # our progress and errors speak for it; its INFO lines are noise
    os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(tempfile.gettempdir()) / "videoanalysis-ultralytics"))


def _model_error(path: str, reason: str) -> ModelError:
    return ModelError(
        f"{MODEL_SETTING}={path!r}: {reason}. Models are never downloaded at run time: set {MODEL_SETTING} to a local "
        "YOLO detection model file (.pt or .onnx, e.g. models/demo-yolo26n.pt) or an Ultralytics export directory "
        "present on the worker (copy it there, or fetch it from a blob before starting)."
    )


def resolve_backend(path: str, backend: str = "auto") -> str:
    """The backend that runs `path`: `auto` means ONNX Runtime for `.onnx` files, Ultralytics otherwise."""
    if backend == "auto":
        return "onnxruntime" if path.lower().endswith(".onnx") else "ultralytics"
    return backend


def load_detection_model(path: str, end2end: bool = False, backend: str = "auto") -> Any:
    """The model for `path` on its backend (`load_onnx_model` or `load_model`), cached per process."""
    if resolve_backend(path, backend) == "onnxruntime":
        return load_onnx_model(path)
    return load_model(path, end2end)


def warm_up(path: str, end2end: bool = False, backend: str = "auto") -> None:
    """Load the model now, so that a worker's first chunk does not pay for it."""
    load_detection_model(path, end2end, backend)


def load_onnx_model(path: str) -> OnnxModel:
    """The ONNX export at `path` on ONNX Runtime, opened once per process and reused; raises `ModelError`."""
    return _cached(path, "onnxruntime", _open_onnx)


def load_model(path: str, end2end: bool = False) -> Any:
    """The Ultralytics model at `path`, loaded once per thread (and head choice) and reused; raises `ModelError`.

    Per thread because an Ultralytics model is not safe to predict with from two threads at once (its predictor
    keeps the batch in flight on itself), and the Functions host runs concurrent activities as threads of one
    process. ONNX Runtime sessions are thread-safe, so `load_onnx_model` shares one per process.

    `end2end` uses the NMS-free one-to-one head of a PyTorch YOLO26 model (Ultralytics `nms=False`): no NMS to
    run, and no torchvision import, which Ultralytics otherwise pays before the first NMS prediction (cold start).
    Off by default, as in Ultralytics: the demo model's one-to-one head is less precise than its NMS output
    (models/README.md). Models without that head use NMS; exports keep the head they were exported with.
    """
    variant = f"end2end={end2end}|thread={threading.get_ident()}"
    return _cached(path, variant, lambda resolved: _open_ultralytics(resolved, end2end))


def _cached(path: str, variant: str, open_model: Callable[[str], Any]) -> Any:
    """`open_model(absolute path)` once per process for each path and variant; a loader failure or a missing path
    raises `ModelError` naming `path` as the operator wrote it."""
    resolved = str(Path(path).expanduser().resolve()) if path else ""
    key = f"{resolved}|{variant}"
    with _LOCK:
        if key not in _MODELS:
            if not path or not Path(resolved).exists():
                raise _model_error(path, "no such file or directory")
            try:
                _MODELS[key] = open_model(resolved)
            except Exception as error:  # any loader failure means the same to the operator
                reason = str(error) if isinstance(error, ModelError) else f"{type(error).__name__}: {error}"
                raise _model_error(path, f"cannot be loaded ({reason})") from error
        return _MODELS[key]


def _open_onnx(path: str) -> OnnxModel:
    from videoanalysis.onnx_model import load_onnx

    return load_onnx(path, _THREADS)


def _open_ultralytics(path: str, end2end: bool) -> Any:
    offline_ultralytics()
    from ultralytics import YOLO

    _limit_torch_threads()
    model: Any = YOLO(path)  # Ultralytics' attributes are typed loosely
    if model.task != "detect":
        raise ModelError(f"a {model.task!r} model, not a detection model")
    if end2end and _has_end2end_head(model):
        model.overrides["nms"] = False
    # Exported formats load lazily: one tiny prediction loads and fuses the model now, so a broken file fails here and
    # the first real batch is not slowed down.
    model.predict(np.zeros((64, 64, 3), np.uint8), verbose=False, save=False)
    # Ultralytics applies an export's own image size only to static exports; use it as the default for all.
    model.overrides.setdefault("imgsz", max(getattr(model.predictor.model, "imgsz", [640])))
    _limit_onnx_threads(model, path)
    return model


def _has_end2end_head(model: Any) -> bool:
    layers = getattr(model.model, "model", None)
    return layers is not None and getattr(layers[-1], "one2one_cv2", None) is not None


def available_cores(cgroup: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota where there is one.

    A container (a function app instance, a CI job) often sees every core of its host while its quota allows a few;
    a thread count from the host's cores would oversubscribe them.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = cgroup.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota: the affinity is the limit
    return cores


def configure_threads(n: int) -> None:
    """Limit OpenCV now, and torch and ONNX Runtime (models loaded afterwards), to `n` threads in this process.

    Call it from a worker pool initialiser, before loading a model. torch is limited when a model needs it, so a
    worker on the ONNX Runtime backend does not import it for this.
    """
    global _THREADS
    import cv2

    _THREADS = max(1, n)
    cv2.setNumThreads(_THREADS)


def _limit_torch_threads() -> None:
    if _THREADS is None:
        return
    import torch

    torch.set_num_threads(_THREADS)
    with contextlib.suppress(RuntimeError):  # settable only before the first parallel work; intra-op matters most
        torch.set_num_interop_threads(_THREADS)


def _limit_onnx_threads(model: Any, path: str) -> None:
    """Ultralytics opens ONNX Runtime sessions with one thread per core; reopen on CPU with the configured count."""
    backend = getattr(getattr(getattr(model, "predictor", None), "model", None), "backend", None)
    session = getattr(backend, "session", None)
    if _THREADS is None or not path.endswith(".onnx") or backend is None or session is None:
        return
    if session.get_providers()[0] != "CPUExecutionProvider":
        return
    from videoanalysis.onnx_model import cpu_session

    backend.session = cpu_session(path, _THREADS)
