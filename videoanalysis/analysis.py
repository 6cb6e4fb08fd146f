"""Analyse one chunk: decode its window, detect in batches, and store what the fan-in needs to track the video.

Per-class statistics use raw detections on the frames the chunk owns (its core), so they add up across chunks to
exactly what one sequential pass computes. Tracking is not the chunk's: the fan-in runs one tracker over every
chunk's stored detections (`videoanalysis.tracking.video_pass`), so the chunk stores, per core frame, its detections
and the camera's motion since the analysed frame before it. The window starts one analysed frame before the core
for that.

The chunk crops each object's most confident box while the frame is decoded (there is no second pass): the
thumbnails a person checks the count against. Each crop names the detection it shows and each stored detection its
run's crop (`_Crops`), and each of the fan-in's objects shows the most confident crop of its own detections. A chunk
runs no tracker, so a worker that runs an `.onnx` model never imports torch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import TypeVar

import cv2
import numpy as np

from videoanalysis.contracts import Chunk, ChunkResult, Crop, Timing, VideoInfo
from videoanalysis.detections_file import FrameRecord, frame_line, rounded_box
from videoanalysis.detector import Detections, Detector
from videoanalysis.settings import NO_REGIONS, Settings
from videoanalysis.stats import ClassStats
from videoanalysis.tracking.camera_motion import CameraMotion
from videoanalysis.tracking.gaps import reaches
from videoanalysis.video import Frame, FrameReader

_T = TypeVar("_T")

THUMBNAIL_MARGIN = 0.15
"""Context around the box on each side, as a fraction of its width and height: enough to see what the object is."""

THUMBNAIL_MAX_SIDE = 160
"""Pixels of a thumbnail's longer side: small enough that a report inlines hundreds of them."""

THUMBNAIL_JPEG_QUALITY = 85

FRAME_MAX_SIDE = 960
"""Pixels of the longer side of the representative frame the report draws the lines and zones over."""


CROP_RUN_REACH = 1.0
"""How far a box may lie from the last box of a run of its class, in sizes of that box (the square root of its area),
to continue the run: a chunk keeps the best crop of each run."""

CROP_RUN_FRAMES = 5
"""Analysed frames a run waits for its next box: an object the detector misses for a frame or two goes on in it."""


@dataclass
class _Crops:
    """The most confident crop of each run of boxes of one class that stay near each other from one analysed frame to
    the next (or the one after, up to CROP_RUN_FRAMES).

    The runs only keep the crops few, about one per object. They need not be objects: the fan-in's objects each take
    the best crop of a detection of their own (`videoanalysis.tracking.video_pass`), so a run that joins two objects
    still shows each its own, and one cut in two costs a crop more.
    """

    crops: dict[int, Crop] = field(default_factory=dict)
    images: dict[int, np.ndarray] = field(default_factory=dict)
    _last: dict[int, tuple[np.ndarray, int, int]] = field(default_factory=dict)  # run: its last box, class, frame
    _frames: int = 0
    _runs_started: int = 0  # run ids count from 1

    def frame(self, t_ms: int, image: np.ndarray, found: Detections) -> list[int]:
        """Offer one frame's detections; returns each one's run, the id of its crop."""
        self._frames += 1
        self._last = {run: last for run, last in self._last.items() if self._frames - last[2] <= CROP_RUN_FRAMES}
        runs = self._runs(found)
        for det, (run, conf) in enumerate(zip(runs, (round(c, 4) for c in found.conf.tolist()), strict=True)):
            best = self.crops.get(run)
            # Cropping only on improvement keeps it cheap.
            if (best is None or conf > best.conf) and (crop := thumbnail_crop(image, found.xyxy[det])) is not None:
                self.crops[run], self.images[run] = Crop(t_ms, det, conf), crop
            self._last[run] = (found.xyxy[det], int(found.cls[det]), self._frames)
        return runs

    def _runs(self, found: Detections) -> list[int]:
        """Each detection's run: the one whose last box of its class is nearest, within reach, each run taken once;
        a new one for the others."""
        runs: list[int | None] = [None] * len(found)
        if self._last and len(found):
            open_runs = list(self._last)
            boxes = np.array([self._last[run][0] for run in open_runs])
            classes = np.array([self._last[run][1] for run in open_runs])
            reach = np.where(found.cls[:, None] == classes[None, :], reaches(boxes, found.xyxy).T, np.inf)
            taken: set[int] = set()
            for det, before in zip(*np.unravel_index(np.argsort(reach, axis=None), reach.shape), strict=True):
                if reach[det, before] >= CROP_RUN_REACH:
                    break
                if runs[det] is None and before not in taken:
                    runs[det] = open_runs[before]
                    taken.add(before)
        return [self._start() if run is None else run for run in runs]

    def _start(self) -> int:
        self._runs_started += 1
        return self._runs_started


@dataclass(frozen=True)
class WindowAnalysis:
    """The chunk's result and what goes to storage beside it: per-frame detections and one JPEG per crop id."""

    result: ChunkResult
    detections_jsonl: bytes
    thumbnails: Mapping[int, bytes] = field(default_factory=dict)
    frame_jpeg: bytes | None = None  # chunk 0's first core frame, downscaled, when there are lines or zones


def analyze_window(source: str, info: VideoInfo, chunk: Chunk, settings: Settings) -> WindowAnalysis:
    started = time.perf_counter()
    detector = Detector.from_settings(settings)
    reader = FrameReader(source, chunk.window_start_ms, chunk.end_ms, settings.sample_fps, chunk.start_ms, chunk.end_ms)
    frames = _CoreFrames(reader, CameraMotion(settings.tracker_gmc))
    classes: dict[str, ClassStats] = {}
    crops = _Crops()
    lines: list[str] = []
    frame_jpeg = None
    keep_frame = chunk.index == 0 and settings.count_regions != NO_REGIONS
    infer_s = 0.0
    for batch in _batched(frames, settings.batch_size):
        tick = time.perf_counter()
        detections = detector.detect([frame.image for frame, _ in batch])
        infer_s += time.perf_counter() - tick
        for (frame, motion), found in zip(batch, detections, strict=True):
            runs = crops.frame(frame.t_ms, frame.image, found)
            _count(classes, frame, found, detector.names)
            lines.append(
                frame_line(_record(frame.t_ms, found, detector.names, motion, [(chunk.index, r) for r in runs]))
            )
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
        thumbnails=dict(crops.crops),
        frames_owned=stats.frames_owned,
        timing=Timing(
            decode_s=round(stats.decode_s, 3),
            infer_s=round(infer_s, 3),
            motion_s=round(frames.motion_s, 3),
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
    t_ms: int, found: Detections, names: Mapping[int, str], motion: np.ndarray | None, crops: list[tuple[int, int]]
) -> FrameRecord:
    return FrameRecord(
        t_ms=t_ms,
        boxes=tuple(rounded_box(box) for box in found.xyxy),
        conf=tuple(round(float(conf), 3) for conf in found.conf),
        cls=tuple(names[cls] for cls in found.cls.tolist()),
        motion=motion,
        crops=tuple(crops),
    )
