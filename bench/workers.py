"""Measurements that need a process of their own (thread counts and model caches are per process).

Each function runs in a fresh spawned process (`in_fresh_process`): it decodes its frames from the benchmark video
with the product's `FrameReader` (same sampling as the pipeline), builds an engine, warms it up, then times only
inference.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from typing import Any

import numpy as np

from bench.engines import make_engine


def in_fresh_process(function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)` in a new spawned interpreter (no torch, OpenCV or ORT state inherited)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def sampled_frames(video: str, sample_fps: float, start_ms: int = 0, limit: int | None = None) -> list[np.ndarray]:
    from videoanalysis.video import FrameReader

    return [frame.image for frame in islice(FrameReader(video, start_ms, None, sample_fps), limit)]


def backend_grid(
    kind: str,
    model: str,
    video: str,
    sample_fps: float,
    conf: float,
    threads: int,
    sizes: list[int],
    batches: list[int],
    n_frames: int,
    openvino_site: str | None,
) -> list[dict[str, Any]]:
    """Per-frame latency and frames/s of one engine at each (imgsz, batch), on `n_frames` real frames."""
    frames = sampled_frames(video, sample_fps, start_ms=10_000, limit=n_frames)
    rows = []
    for imgsz in sizes:
        for batch in batches:
            load_s = time.perf_counter()
            engine = make_engine(kind, model, imgsz, conf, batch, threads, openvino_site)
            load_s = time.perf_counter() - load_s
            for _ in range(2):
                engine.detect(frames[:batch])
            start = time.perf_counter()
            found = engine.detect(frames)
            seconds = time.perf_counter() - start
            rows.append(
                {
                    "backend": kind,
                    "threads": threads,
                    "imgsz": imgsz,
                    "batch": batch,
                    "frames": len(frames),
                    "seconds": seconds,
                    "ms_per_frame": 1000 * seconds / len(frames),
                    "fps": len(frames) / seconds,
                    "detections": int(sum(len(d) for d in found)),
                    "setup_s": load_s,
                }
            )
    return rows


def inference_only(
    kind: str,
    model: str,
    video: str,
    sample_fps: float,
    conf: float,
    imgsz: int,
    batch: int,
    openvino_site: str | None,
) -> dict[str, Any]:
    """One thread, warm engine, every sampled frame of the video pre-decoded: pure inference wall and CPU seconds."""
    frames = sampled_frames(video, sample_fps)
    engine = make_engine(kind, model, imgsz, conf, batch, 1, openvino_site)
    engine.detect(frames[:batch])
    wall, cpu = time.perf_counter(), time.process_time()
    found = engine.detect(frames)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "backend": kind,
        "frames": len(frames),
        "wall_s": wall,
        "cpu_s": cpu,
        "detections": int(sum(len(d) for d in found)),
    }


def decode_only(video: str, sample_fps: float | None, threads: int) -> dict[str, Any]:
    """Grab every frame; with `sample_fps`, also retrieve (convert) the sampled ones, chosen by the product's rule.

    `threads` is FFmpeg's decoder thread count (0: OpenCV's default, as the product opens videos).
    """
    import cv2

    from videoanalysis.video import sample_slot, to_t_ms

    params = [cv2.CAP_PROP_N_THREADS, threads] if threads else []
    wall, cpu = time.perf_counter(), time.process_time()
    cap = cv2.VideoCapture(video, cv2.CAP_FFMPEG, params)
    grabbed = retrieved = 0
    slot = None
    while cap.grab():
        grabbed += 1
        if sample_fps is None:
            continue
        t_slot = sample_slot(to_t_ms(cap.get(cv2.CAP_PROP_POS_MSEC)), sample_fps)
        if sample_fps == 0 or t_slot != slot:
            retrieved += cap.retrieve()[1] is not None
        slot = t_slot
    cap.release()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"grabbed": grabbed, "retrieved": retrieved, "threads": threads, "wall_s": wall, "cpu_s": cpu}
