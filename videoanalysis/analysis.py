"""Analyse one chunk: decode its window, detect in batches, and store what the fan-in needs to track the video.

Per-class statistics use raw detections on the frames the chunk owns (its core), so they add up across chunks to
exactly what one sequential pass computes. Tracking is not the chunk's: the fan-in runs one tracker over every
chunk's stored detections (`videoanalysis.video_tracks`), so the chunk stores, per core frame, its detections and the
camera's motion since the analysed frame before it. The window starts one analysed frame before the core for that.

The chunk still runs a tracker over its core, to crop each object's most confident box while the frame is decoded
(there is no second pass): the thumbnails a person checks the count against. Each stored detection names the crop
of the object it belongs to, and the fan-in's objects take the best crop of their detections.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import TypeVar

import cv2
import numpy as np

from videoanalysis.contracts import Chunk, ChunkResult, Timing, VideoInfo
from videoanalysis.detector import Detections, Detector
from videoanalysis.models import resolve_backend
from videoanalysis.regions import Box
from videoanalysis.settings import NO_REGIONS, Settings
from videoanalysis.stats import ClassStats
from videoanalysis.tracking import CameraMotion, TrackedBox, Tracker, new_tracker
from videoanalysis.video import Frame, FrameReader
from videoanalysis.video_tracks import FrameRecord, frame_line

_T = TypeVar("_T")

THUMBNAIL_MARGIN = 0.15
"""Context around the box on each side, as a fraction of its width and height: enough to see what the object is."""

THUMBNAIL_MAX_SIDE = 160
"""Pixels of a thumbnail's longer side: small enough that a report inlines hundreds of them."""

THUMBNAIL_JPEG_QUALITY = 85

FRAME_MAX_SIDE = 960
"""Pixels of the longer side of the representative frame the report draws the lines and zones over."""


@dataclass
class _Crops:
    """The most confident crop of each object this chunk's tracker follows, numbered in the order first seen.

    The chunk tracks only to choose these: the counts come from the fan-in's pass over every chunk's detections
    (`videoanalysis.video_tracks`), whose objects take the best crop of their detections. Each class a track takes
    is an object of its own here as there.
    """

    ids: dict[tuple[int, int], int] = field(default_factory=dict)
    conf: dict[int, float] = field(default_factory=dict)
    images: dict[int, np.ndarray] = field(default_factory=dict)

    def frame(self, image: np.ndarray, found: Detections, tracked: list[TrackedBox]) -> list[int | None]:
        """Offer one frame's tracked boxes; returns for each detection the id of its crop (None: not tracked)."""
        crops: list[int | None] = [None] * len(found)
        for track in tracked:
            crop_id = self.ids.setdefault((track.track_id, track.cls), len(self.ids) + 1)
            crops[track.det] = crop_id
            # Cropping only on improvement keeps it cheap.
            if track.conf > self.conf.get(crop_id, -1.0) and (crop := thumbnail_crop(image, track.xyxy)) is not None:
                self.conf[crop_id], self.images[crop_id] = round(track.conf, 4), crop
        return crops


@dataclass(frozen=True)
class WindowAnalysis:
    """The chunk's result and what goes to storage beside it: per-frame detections and one JPEG per crop id."""

    result: ChunkResult
    detections_jsonl: bytes
    thumbnails: Mapping[int, bytes] = field(default_factory=dict)
    frame_jpeg: bytes | None = None  # chunk 0's first core frame, downscaled, when there are lines or zones


def analyze_window(source: str, info: VideoInfo, chunk: Chunk, settings: Settings) -> WindowAnalysis:
    started = time.perf_counter()
    tracker_ready = _tracker_when_needed(settings.sample_fps or info.fps, settings)
    detector = Detector.from_settings(settings)
    reader = FrameReader(source, chunk.window_start_ms, chunk.end_ms, settings.sample_fps, chunk.start_ms, chunk.end_ms)
    frames = _CoreFrames(reader, CameraMotion(settings.tracker_gmc, tracker_ready))
    classes: dict[str, ClassStats] = {}
    crops = _Crops()
    lines: list[str] = []
    frame_jpeg = None
    keep_frame = chunk.index == 0 and settings.count_regions != NO_REGIONS
    infer_s = track_s = 0.0
    for batch in _batched(frames, settings.batch_size):
        tick = time.perf_counter()
        detections = detector.detect([frame.image for frame, _ in batch])
        infer_s += time.perf_counter() - tick
        tracker = tracker_ready()
        for (frame, motion), found in zip(batch, detections, strict=True):
            tick = time.perf_counter()
            tracked = tracker.update(found, frame.image.shape[:2], motion)
            track_s += time.perf_counter() - tick
            crop_ids = crops.frame(frame.image, found, tracked)
            _count(classes, frame, found, detector.names)
            lines.append(frame_line(_record(frame.t_ms, found, detector.names, motion, chunk.index, crop_ids)))
            if keep_frame and frame_jpeg is None:
                frame_jpeg = encode_jpeg(_shrunk(frame.image, FRAME_MAX_SIDE))
    stats = reader.stats
    result = ChunkResult(
        index=chunk.index,
        status="ok",
        start_ms=chunk.start_ms,
        end_ms=chunk.end_ms,
        window_start_ms=chunk.window_start_ms,
        frames_decoded=stats.frames_decoded,
        frames_analyzed=stats.frames_sampled_owned,
        classes=dict(sorted(classes.items())),
        thumbnails=dict(crops.conf),
        timing=Timing(
            decode_s=round(stats.decode_s, 3),
            infer_s=round(infer_s, 3),
            track_s=round(track_s + frames.motion_s, 3),
            total_s=round(time.perf_counter() - started, 3),
        ),
    )
    thumbnails = {crop_id: encode_jpeg(image) for crop_id, image in crops.images.items()}
    return WindowAnalysis(result, "".join(lines).encode(), thumbnails, frame_jpeg)


@dataclass
class _CoreFrames:
    """The core frames of a window, each with the camera's motion since the analysed frame before it, measured on
    every frame of the window: the window starts one analysed frame before the core for that (`plan_chunks`)."""

    reader: FrameReader
    motion: CameraMotion
    motion_s: float = 0.0

    def __iter__(self) -> Iterator[tuple[Frame, np.ndarray | None]]:
        for frame in self.reader:
            tick = time.perf_counter()
            motion = self.motion(frame.image)
            self.motion_s += time.perf_counter() - tick
            if frame.owned:
                yield frame, motion


def thumbnail_crop(image: np.ndarray, xyxy: Iterable[float]) -> np.ndarray | None:
    """The box with a margin, clipped to the frame and shrunk to THUMBNAIL_MAX_SIDE; a copy, so the frame can go.
    None when nothing of the box lies in the frame."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    margin_x, margin_y = (x2 - x1) * THUMBNAIL_MARGIN, (y2 - y1) * THUMBNAIL_MARGIN
    left, top = max(0, math.floor(x1 - margin_x)), max(0, math.floor(y1 - margin_y))
    right, bottom = min(width, math.ceil(x2 + margin_x)), min(height, math.ceil(y2 + margin_y))
    if right - left < 2 or bottom - top < 2:
        return None
    return _shrunk(image[top:bottom, left:right], THUMBNAIL_MAX_SIDE)


def _shrunk(image: np.ndarray, max_side: int) -> np.ndarray:
    """A copy of the image no longer than `max_side` on either side (never enlarged): the reader reuses its buffer."""
    scale = max_side / max(image.shape[:2])
    if scale >= 1.0:
        return image.copy()
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def encode_jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, THUMBNAIL_JPEG_QUALITY])
    if not ok:
        raise ValueError(f"cannot encode a {image.shape} crop as JPEG")
    return data.tobytes()


def _tracker_when_needed(frame_rate: float, settings: Settings) -> Callable[[], Tracker]:
    """The tracker, made in the background when making it means importing torch (Ultralytics' trackers need it) and
    the detector does not: in a fresh worker that import is the longest step before the first tracked frame, and it
    then runs while the model loads and the first batch is decoded and detected. A worker that has torch already
    (the local runner's forked workers, the `.pt` backend) makes it at once."""
    if "torch" in sys.modules or resolve_backend(settings.model_path, settings.backend) != "onnxruntime":
        tracker = new_tracker(frame_rate, settings)
        return lambda: tracker
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tracker")
    future = pool.submit(new_tracker, frame_rate, settings)
    pool.shutdown(wait=False)  # its one thread ends with the task
    return future.result


def _box(xyxy: Iterable[float]) -> Box:
    x1, y1, x2, y2 = (round(float(v), 1) for v in xyxy)
    return (x1, y1, x2, y2)


def _batched(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _count(classes: dict[str, ClassStats], frame: Frame, found: Detections, names: dict[int, str]) -> None:
    per_class: dict[str, int] = {}
    for cls in found.cls.tolist():
        per_class[names[cls]] = per_class.get(names[cls], 0) + 1
    for name, count in per_class.items():
        classes.setdefault(name, ClassStats()).add_frame(frame.t_ms, count)


def _record(
    t_ms: int,
    found: Detections,
    names: Mapping[int, str],
    motion: np.ndarray | None,
    chunk: int,
    crop_ids: list[int | None],
) -> FrameRecord:
    return FrameRecord(
        t_ms=t_ms,
        boxes=tuple(_box(box) for box in found.xyxy),
        conf=tuple(round(float(conf), 3) for conf in found.conf),
        cls=tuple(names[cls] for cls in found.cls.tolist()),
        motion=motion,
        thumbnails=tuple(None if crop_id is None else (chunk, crop_id) for crop_id in crop_ids),
    )
