"""Analyse one chunk: decode its window, detect in batches, track, and condense it into a small result.

Per-class statistics use raw detections on the frames the chunk owns (its core), so they add up across chunks to
exactly what one sequential pass computes. Tracks run over the whole window (the warm-up overlap included) with a
fresh ByteTrack per chunk; their boxes on the overlap frames are kept so `tracks.stitch` can join them across
chunk boundaries.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from videoanalysis.chunking import Chunk
from videoanalysis.detector import Detections, Detector, TrackedBox, new_tracker
from videoanalysis.settings import Settings
from videoanalysis.summary import ClassStats
from videoanalysis.video import Frame, FrameReader, VideoInfo


@dataclass
class TrackRecord:
    id: int
    cls: str
    first_ms: int
    last_ms: int
    core_hits: int = 0
    boxes: dict[int, list[float]] = field(default_factory=dict)  # t_ms -> box, overlap frames only

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "cls": self.cls,
            "first_ms": self.first_ms,
            "last_ms": self.last_ms,
            "core_hits": self.core_hits,
            "boxes": {str(t_ms): box for t_ms, box in self.boxes.items()},
        }


@dataclass(frozen=True)
class WindowAnalysis:
    result: dict[str, Any]
    detections_jsonl: bytes


def analyze_window(source: str, info: VideoInfo, chunk: Chunk, settings: Settings) -> WindowAnalysis:
    started = time.perf_counter()
    detector = Detector(
        settings.model_path,
        settings.imgsz,
        settings.confidence,
        settings.batch_size,
        settings.classes,
        settings.end2end,
        settings.backend,
    )
    tracker = new_tracker(settings.sample_fps or info.fps, settings.tracker, settings.tracker_gmc)
    overlap_ms = round(settings.overlap_seconds * 1000)
    tail_from_ms = None if chunk.end_ms is None else chunk.end_ms - overlap_ms
    reader = FrameReader(source, chunk.window_start_ms, chunk.end_ms, settings.sample_fps, chunk.start_ms)
    classes: dict[str, ClassStats] = {}
    tracks: dict[int, TrackRecord] = {}
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
            in_overlap = not frame.owned or (tail_from_ms is not None and frame.t_ms >= tail_from_ms)
            for track in tracked:
                name = detector.names[track.cls]
                record = tracks.setdefault(track.track_id, TrackRecord(track.track_id, name, frame.t_ms, frame.t_ms))
                record.last_ms = frame.t_ms
                record.core_hits += frame.owned
                if in_overlap:
                    record.boxes[frame.t_ms] = [round(float(v), 1) for v in track.xyxy]
            if frame.owned:
                _count(classes, frame, found, detector.names)
                lines.append(_frame_line(frame, found, tracked, detector.names))
    stats = reader.stats
    result = {
        "index": chunk.index,
        "status": "ok",
        "error": None,
        "start_ms": chunk.start_ms,
        "end_ms": chunk.end_ms,
        "window_start_ms": chunk.window_start_ms,
        "frames_decoded": stats.frames_decoded,
        "frames_analyzed": stats.frames_sampled_owned,
        "classes": {name: stat.to_dict() for name, stat in sorted(classes.items())},
        "tracks": [record.to_dict() for record in tracks.values()],
        "timing": {
            "decode_s": round(stats.decode_s, 3),
            "infer_s": round(infer_s, 3),
            "track_s": round(track_s, 3),
            "total_s": round(time.perf_counter() - started, 3),
        },
    }
    return WindowAnalysis(result, "".join(lines).encode())


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
        {"cls": names[cls], "conf": round(float(conf), 3), "box": [round(float(v), 1) for v in box]}
        for box, conf, cls in zip(found.xyxy, found.conf, found.cls.tolist(), strict=True)
    ]
    tracks = [
        {"id": track.track_id, "cls": names[track.cls], "box": [round(float(v), 1) for v in track.xyxy]}
        for track in tracked
    ]
    return json.dumps({"t_ms": frame.t_ms, "detections": detections, "tracks": tracks}) + "\n"
