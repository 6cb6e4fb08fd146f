"""Analyse one chunk: decode its window, detect in batches, track, and condense it into a small result.

Per-class statistics use raw detections on the frames the chunk owns (its core), so they add up across chunks to
exactly what one sequential pass computes. Tracks run over the whole window, which reaches past the core on both
sides (`chunking.plan_chunks`): before it to warm the tracker up, after it by the tracker's lost-track horizon so
that an object hidden across the seam is re-found by the chunk that lost it. Boxes on the frames a chunk shares with
a neighbour are kept, and `tracks.stitch` joins the two chunks' tracks on them.

Each track's most confident box on a core frame is cropped while that frame is decoded (there is no second pass):
the thumbnail a person checks the count against.

Lines and zones (`videoanalysis.regions`) are watched on core frames only, so that every frame is seen by exactly one
chunk: each track's boxes there are traced against every line, and the summary joins the traces of one object's
segments in chunk order, which finds a crossing at a seam exactly once. With no regions, none of this runs.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice

import cv2
import numpy as np

from videoanalysis.chunking import lookahead_seconds
from videoanalysis.contracts import Box, Chunk, ChunkResult, Timing, TrackSegment, VideoInfo
from videoanalysis.detector import Detections, Detector
from videoanalysis.models import resolve_backend
from videoanalysis.regions import EMPTY, Regions, anchors, inside, trace
from videoanalysis.settings import NO_REGIONS, Settings
from videoanalysis.stats import ClassStats
from videoanalysis.tracking import TrackedBox, Tracker, new_tracker
from videoanalysis.video import Frame, FrameReader

THUMBNAIL_MARGIN = 0.15
"""Context around the box on each side, as a fraction of its width and height: enough to see what the object is."""

THUMBNAIL_MAX_SIDE = 160
"""Pixels of a thumbnail's longer side: small enough that a report inlines hundreds of them."""

THUMBNAIL_JPEG_QUALITY = 85

FRAME_MAX_SIDE = 960
"""Pixels of the longer side of the representative frame the report draws the lines and zones over."""


@dataclass
class _TrackBuilder:
    """A track of one class as it grows frame by frame; frozen into a `TrackSegment` at the end of the window.

    A tracker track takes the class of each detection it matches, and the detector names a box's class far more
    reliably than a tracker keeps an id through an occlusion: a track that goes on as another class has mostly
    switched to another object (a car hidden behind a bike, then the bike). So each class a track takes is a
    segment of its own, numbered in the order the window first saw it; a class taken for a frame or two is a
    fragment too short to count.
    """

    id: int
    cls: str
    first_ms: int
    last_ms: int
    core_hits: int = 0
    boxes: dict[int, Box] = field(default_factory=dict)
    best_conf: float = -1.0
    crop: np.ndarray | None = None
    core: list[tuple[int, Box]] = field(default_factory=list)  # (t_ms, box) on core frames, kept for lines only
    zones: set[str] = field(default_factory=set)
    first_core: tuple[int, Box] | None = None
    last_core: tuple[int, Box] | None = None

    def offer(self, track: TrackedBox, image: np.ndarray) -> None:
        """Keep the crop of the most confident box so far; cropping only on improvement keeps it cheap."""
        if track.conf > self.best_conf and (crop := thumbnail_crop(image, track.xyxy)) is not None:
            self.best_conf, self.crop = track.conf, crop

    def segment(self, chunk: int, regions: Regions = NO_REGIONS) -> TrackSegment:
        """The finished segment; its trace of each line over its core frames (a line it never was clearly on a side
        of is left out: its trace is EMPTY, which the summary assumes for a missing line)."""
        best_conf = None if self.crop is None else round(self.best_conf, 4)
        traces = {line.name: trace(line, self.core) for line in regions.lines}
        return TrackSegment(
            chunk,
            self.id,
            self.cls,
            self.first_ms,
            self.last_ms,
            self.core_hits,
            self.boxes,
            best_conf=best_conf,
            lines={name: line_trace for name, line_trace in traces.items() if line_trace != EMPTY},
            zones=tuple(sorted(self.zones)),
            first_core=self.first_core,
            last_core=self.last_core,
        )


@dataclass
class _Segments:
    """A window's segments as its frames come: each tracker track splits into one `_TrackBuilder` per class."""

    shared: Callable[[int], bool]  # whether a frame is one the window shares with a neighbour (stitching's boxes)
    by_track: dict[tuple[int, str], _TrackBuilder] = field(default_factory=dict)

    @property
    def built(self) -> list[_TrackBuilder]:
        return list(self.by_track.values())

    def frame(
        self, frame: Frame, tracked: list[TrackedBox], names: Mapping[int, str]
    ) -> list[tuple[_TrackBuilder, Box]]:
        """Add one frame's tracked boxes; returns them with their segments when the frame is a core one."""
        seen: list[tuple[_TrackBuilder, Box]] = []
        for track in tracked:
            name = names[track.cls]
            record = self.by_track.get((track.track_id, name))
            if record is None:
                record = _TrackBuilder(len(self.by_track) + 1, name, frame.t_ms, frame.t_ms)
                self.by_track[track.track_id, name] = record
            record.last_ms = frame.t_ms
            record.core_hits += frame.owned
            box = _box(track.xyxy)
            if frame.owned:
                record.offer(track, frame.image)
                record.last_core = (frame.t_ms, box)
                record.first_core = record.first_core or record.last_core
                seen.append((record, box))
            if self.shared(frame.t_ms):
                record.boxes[frame.t_ms] = box
        return seen


@dataclass
class _RegionWatch:
    """Lines and zones on one chunk's core frames: each track's boxes for its line traces, the zones each track was
    inside, per zone and class the most tracked boxes inside in one frame (zones test all of a frame's boxes at
    once), and for chunk 0 the frame the report draws the regions over."""

    regions: Regions
    keep_frame: bool
    peaks: dict[str, dict[str, int]] = field(default_factory=dict)
    frame_jpeg: bytes | None = None

    @property
    def active(self) -> bool:
        return bool(self.regions.lines or self.regions.zones)

    def core_frame(self, frame: Frame, seen: list[tuple[_TrackBuilder, Box]]) -> None:
        """One core frame's tracked boxes, each with its segment."""
        if self.keep_frame and self.frame_jpeg is None:
            self.frame_jpeg = encode_jpeg(_shrunk(frame.image, FRAME_MAX_SIDE))
        if not seen:
            return
        if self.regions.lines:
            for record, box in seen:
                record.core.append((frame.t_ms, box))
        if self.regions.zones:
            points = anchors(box for _, box in seen)
            for zone in self.regions.zones:
                now_inside = inside(zone, points)
                self._zone_frame(zone.name, [record for (record, _), hit in zip(seen, now_inside, strict=True) if hit])

    def _zone_frame(self, zone: str, hits: list[_TrackBuilder]) -> None:
        for record in hits:
            record.zones.add(zone)
        peaks = self.peaks.setdefault(zone, {})
        for cls, count in Counter(record.cls for record in hits).items():
            peaks[cls] = max(peaks.get(cls, 0), count)


@dataclass(frozen=True)
class WindowAnalysis:
    """The chunk's result and what goes to storage beside it: per-frame detections and one JPEG per segment id."""

    result: ChunkResult
    detections_jsonl: bytes
    thumbnails: Mapping[int, bytes] = field(default_factory=dict)
    frame_jpeg: bytes | None = None  # chunk 0's first core frame, downscaled, when there are lines or zones


def analyze_window(source: str, info: VideoInfo, chunk: Chunk, settings: Settings) -> WindowAnalysis:
    started = time.perf_counter()
    tracker_ready = _tracker_when_needed(settings.sample_fps or info.fps, settings)
    detector = Detector.from_settings(settings)
    shared = _SharedFrames(chunk, round(settings.overlap_seconds * 1000), round(lookahead_seconds(settings) * 1000))
    end_ms = chunk.end_ms if chunk.window_end_ms is None else chunk.window_end_ms
    reader = FrameReader(source, chunk.window_start_ms, end_ms, settings.sample_fps, chunk.start_ms, chunk.end_ms)
    classes: dict[str, ClassStats] = {}
    segments = _Segments(shared)
    lines: list[str] = []
    watch = _RegionWatch(settings.count_regions, keep_frame=chunk.index == 0)
    infer_s = track_s = 0.0
    for batch in _batched(reader, settings.batch_size):
        tick = time.perf_counter()
        detections = detector.detect([frame.image for frame in batch])
        infer_s += time.perf_counter() - tick
        tracker = tracker_ready()
        for frame, found in zip(batch, detections, strict=True):
            tick = time.perf_counter()
            tracked = tracker.update(found, frame.image)
            track_s += time.perf_counter() - tick
            seen = segments.frame(frame, tracked, detector.names)
            if frame.owned:
                _count(classes, frame, found, detector.names)
                lines.append(_frame_line(frame, found, seen, detector.names))
                if watch.active:
                    watch.core_frame(frame, seen)
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
        tracks=tuple(record.segment(chunk.index, settings.count_regions) for record in segments.built),
        timing=Timing(
            decode_s=round(stats.decode_s, 3),
            infer_s=round(infer_s, 3),
            track_s=round(track_s, 3),
            total_s=round(time.perf_counter() - started, 3),
        ),
        zone_peaks=watch.peaks,
    )
    thumbnails = {record.id: encode_jpeg(record.crop) for record in segments.built if record.crop is not None}
    return WindowAnalysis(result, "".join(lines).encode(), thumbnails, watch.frame_jpeg)


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


@dataclass(frozen=True)
class _SharedFrames:
    """Whether a frame is one this chunk shares with a neighbour: the previous window reaches `lookahead_ms` into
    this core, and the next one starts `overlap_ms` before this core ends."""

    chunk: Chunk
    overlap_ms: int
    lookahead_ms: int

    def __call__(self, t_ms: int) -> bool:
        in_head = self.chunk.index > 0 and t_ms < self.chunk.start_ms + self.lookahead_ms
        in_tail = self.chunk.end_ms is not None and t_ms >= self.chunk.end_ms - self.overlap_ms
        return in_head or in_tail


def _box(xyxy: Iterable[float]) -> Box:
    x1, y1, x2, y2 = (round(float(v), 1) for v in xyxy)
    return (x1, y1, x2, y2)


def _batched(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    iterator = iter(frames)
    while batch := list(islice(iterator, size)):
        yield batch


def _count(classes: dict[str, ClassStats], frame: Frame, found: Detections, names: dict[int, str]) -> None:
    per_class: dict[str, int] = {}
    for cls in found.cls.tolist():
        per_class[names[cls]] = per_class.get(names[cls], 0) + 1
    for name, count in per_class.items():
        classes.setdefault(name, ClassStats()).add_frame(frame.t_ms, count)


def _frame_line(frame: Frame, found: Detections, seen: list[tuple[_TrackBuilder, Box]], names: dict[int, str]) -> str:
    detections = [
        {"cls": names[cls], "conf": round(float(conf), 3), "box": list(_box(box))}
        for box, conf, cls in zip(found.xyxy, found.conf, found.cls.tolist(), strict=True)
    ]
    tracks = [{"id": record.id, "cls": record.cls, "box": list(box)} for record, box in seen]
    return json.dumps({"t_ms": frame.t_ms, "detections": detections, "tracks": tracks}) + "\n"
