"""Cut a video's timeline into chunks that tile it exactly once, each analysed with a short overlap before it.

A chunk owns the frames of its core [start_ms, end_ms); its window starts `overlap` earlier so the tracker warms up
and tracks can be stitched on frames both chunks saw. The last core is open-ended, so a duration estimate that is a
little short never loses the end of the video.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from videoanalysis.video import VideoInfo

LOCAL_LONGEST_CHUNK_SECONDS = 120.0
LOCAL_SHORTEST_CHUNK_SECONDS = 5.0


@dataclass(frozen=True)
class Chunk:
    """Core [start_ms, end_ms) (end None: to the end of the video), analysed from window_start_ms."""

    index: int
    start_ms: int
    end_ms: int | None
    window_start_ms: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


def plan_chunks(
    info: VideoInfo, chunk_seconds: float = 10.0, overlap_seconds: float = 1.0, max_chunks: int = 500
) -> list[Chunk]:
    """Chunks of about `chunk_seconds`; at most `max_chunks` (longer chunks instead).

    A remainder shorter than half a chunk joins the last chunk instead of costing an activity of its own, so the
    last core lasts between half and one and a half chunks.
    """
    if not (math.isfinite(chunk_seconds) and chunk_seconds > 0):
        raise ValueError(f"chunk_seconds must be a positive number, got {chunk_seconds}")
    if not (math.isfinite(overlap_seconds) and 0 <= overlap_seconds < chunk_seconds):
        raise ValueError(f"overlap_seconds must be >= 0 and < chunk_seconds ({chunk_seconds}), got {overlap_seconds}")
    if max_chunks < 1:
        raise ValueError(f"max_chunks must be >= 1, got {max_chunks}")
    if not (math.isfinite(info.duration_s) and info.duration_s >= 0):
        raise ValueError(f"video duration must be a non-negative number, got {info.duration_s}")
    chunk_ms = max(1, round(chunk_seconds * 1000))
    overlap_ms = round(overlap_seconds * 1000)
    duration_ms = round(info.duration_s * 1000)
    count = max(1, math.floor(duration_ms / chunk_ms + 0.5))
    if count > max_chunks:
        chunk_ms = math.ceil(duration_ms / max_chunks)
        count = math.ceil(duration_ms / chunk_ms)
    return [
        Chunk(
            index=i,
            start_ms=i * chunk_ms,
            end_ms=(i + 1) * chunk_ms if i < count - 1 else None,
            window_start_ms=max(0, i * chunk_ms - overlap_ms),
        )
        for i in range(count)
    ]


def chunk_seconds_for_workers(duration_s: float, workers: int, overlap_seconds: float = 1.0) -> float:
    """A chunk length for `workers` processes on one machine: as few chunks as keep every worker busy.

    Each chunk pays a seek (decoding from the keyframe before it) and its overlap: with 10 s chunks that is half as
    much decoding again on a 4 s-GOP video, a cost that buys nothing once every worker has a chunk. Chunks come in
    rounds of `workers` and last at most LOCAL_LONGEST_CHUNK_SECONDS, so progress still moves on long videos.
    """
    rounds = max(1, math.ceil(duration_s / (workers * LOCAL_LONGEST_CHUNK_SECONDS)))
    shortest = max(LOCAL_SHORTEST_CHUNK_SECONDS, 2 * overlap_seconds)
    return max(shortest, duration_s / (workers * rounds))
