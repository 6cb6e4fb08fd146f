"""Analyse one chunk: decode its window, detect in batches, track, and condense it into a small result.

Per-class statistics use raw detections on the frames the chunk owns (its core), so they add up across chunks to
exactly what one sequential pass computes. Tracks run over the whole window, which reaches past the core on both
sides (`chunking.plan_chunks`): before it to warm the tracker up, after it by the tracker's lost-track horizon so
that an object hidden across the seam is re-found by the chunk that lost it. Boxes on the frames a chunk shares with
a neighbour are kept, and `tracks.stitch` joins the two chunks' tracks on them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from videoanalysis.chunking import lookahead_seconds
from videoanalysis.contracts import Box, Chunk, ChunkResult, Timing, TrackSegment, VideoInfo
from videoanalysis.detector import Detections, Detector
from videoanalysis.settings import Settings
from videoanalysis.stats import ClassStats
from videoanalysis.tracking import TrackedBox, new_tracker
from videoanalysis.video import Frame, FrameReader


@dataclass
class _TrackBuilder:
    """A track as it grows frame by frame; frozen into a `TrackSegment` at the end of the window."""

    id: int
    cls: str
    first_ms: int
    last_ms: int
    core_hits: int = 0
    boxes: dict[int, Box] = field(default_factory=dict)

    def segment(self, chunk: int) -> TrackSegment:
        return TrackSegment(chunk, self.id, self.cls, self.first_ms, self.last_ms, self.core_hits, self.boxes)


@dataclass(frozen=True)
class WindowAnalysis:
    result: ChunkResult
    detections_jsonl: bytes


def analyze_window(source: str, info: VideoInfo, chunk: Chunk, settings: Settings) -> WindowAnalysis:
    started = time.perf_counter()
    detector = Detector.from_settings(settings)
    tracker = new_tracker(settings.sample_fps or info.fps, settings)
    shared = _SharedFrames(chunk, round(settings.overlap_seconds * 1000), round(lookahead_seconds(settings) * 1000))
    end_ms = chunk.end_ms if chunk.window_end_ms is None else chunk.window_end_ms
    reader = FrameReader(source, chunk.window_start_ms, end_ms, settings.sample_fps, chunk.start_ms, chunk.end_ms)
    classes: dict[str, ClassStats] = {}
    tracks: dict[int, _TrackBuilder] = {}
    lines: list[str] = []
    infer_s = track_s = 0.0
    for batch in _batched(reader, settings.batch_size):
        tick = time.perf_counter()
        detections = detector.detect([frame.image for frame in batch])
        infer_s += time.perf_counter() - tick
        for frame, found in zip(batch, detections, strict=True):
            tick = time.perf_counter()
            tracked = tracker.update(found, frame.image)
            track_s += time.perf_counter() - tick
            for track in tracked:
                name = detector.names[track.cls]
                record = tracks.setdefault(track.track_id, _TrackBuilder(track.track_id, name, frame.t_ms, frame.t_ms))
                record.last_ms = frame.t_ms
                record.core_hits += frame.owned
                if shared(frame.t_ms):
                    record.boxes[frame.t_ms] = _box(track.xyxy)
            if frame.owned:
                _count(classes, frame, found, detector.names)
                lines.append(_frame_line(frame, found, tracked, detector.names))
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
        tracks=tuple(record.segment(chunk.index) for record in tracks.values()),
        timing=Timing(
            decode_s=round(stats.decode_s, 3),
            infer_s=round(infer_s, 3),
            track_s=round(track_s, 3),
            total_s=round(time.perf_counter() - started, 3),
        ),
    )
    return WindowAnalysis(result, "".join(lines).encode())


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


def _frame_line(frame: Frame, found: Detections, tracked: list[TrackedBox], names: dict[int, str]) -> str:
    detections = [
        {"cls": names[cls], "conf": round(float(conf), 3), "box": list(_box(box))}
        for box, conf, cls in zip(found.xyxy, found.conf, found.cls.tolist(), strict=True)
    ]
    tracks = [{"id": track.track_id, "cls": names[track.cls], "box": list(_box(track.xyxy))} for track in tracked]
    return json.dumps({"t_ms": frame.t_ms, "detections": detections, "tracks": tracks}) + "\n"
