"""Cut a video's timeline into chunks that tile it exactly once.

A chunk owns the frames of its core [start_ms, end_ms). Its window starts one analysed frame earlier, the frame the
camera's motion into the core is measured from; tracking runs at the fan-in over all chunks' detections
(`videoanalysis.tracking.video_pass`), so a chunk needs no more context than that. The last core is open-ended, so a
duration estimate that is a little short never loses the end of the video. The video's gaps (long spans without
frames, `VideoInfo.gaps`) are not planned: chunks tile the seconds that hold frames, and a chunk that reaches a gap
takes all of it, so no chunk starts inside one.
"""

from __future__ import annotations

import math

from videoanalysis.contracts import Chunk, VideoInfo

LOCAL_LONGEST_CHUNK_SECONDS = 120.0
LOCAL_SHORTEST_CHUNK_SECONDS = 5.0


def lead_ms(info: VideoInfo, sample_fps: float) -> int:
    """How far before its core a window starts so that it holds the analysed frame before the core: one sampling
    interval (a frame's at SAMPLE_FPS 0) and one frame, since a sampled frame is the first of its sampling interval."""
    frame_ms = 1000 / info.fps if info.fps > 0 else 0.0
    interval_ms = 1000 / sample_fps if sample_fps > 0 else frame_ms
    return math.ceil(interval_ms + frame_ms)


def plan_chunks(
    info: VideoInfo, chunk_seconds: float = 10.0, max_chunks: int = 500, sample_fps: float = 0.0
) -> list[Chunk]:
    """Chunks of about `chunk_seconds`; at most `max_chunks` (longer chunks instead).

    A remainder shorter than half a chunk joins the last chunk instead of costing an activity of its own, so the
    last core lasts between half and one and a half chunks. Lengths count only the seconds that hold frames: a chunk
    boundary that would fall in a gap is at its start (`_skipping_gaps`).
    """
    if not (math.isfinite(chunk_seconds) and chunk_seconds > 0):
        raise ValueError(f"chunk_seconds must be a positive number, got {chunk_seconds}")
    if max_chunks < 1:
        raise ValueError(f"max_chunks must be >= 1, got {max_chunks}")
    if not (math.isfinite(info.duration_s) and info.duration_s >= 0):
        raise ValueError(f"video duration must be a non-negative number, got {info.duration_s}")
    chunk_ms = max(1, round(chunk_seconds * 1000))
    lead = lead_ms(info, sample_fps)
    duration_ms = round(info.duration_s * 1000) - sum(before - after for after, before in info.gaps)
    count = max(1, math.floor(duration_ms / chunk_ms + 0.5))
    if count > max_chunks:
        chunk_ms = math.ceil(duration_ms / max_chunks)
        count = math.ceil(duration_ms / chunk_ms)
    starts = [_skipping_gaps(i * chunk_ms, info.gaps) for i in range(count)]
    return [
        Chunk(
            index=i,
            start_ms=start,
            end_ms=starts[i + 1] if i < count - 1 else None,
            window_start_ms=max(0, start - lead),
        )
        for i, start in enumerate(starts)
    ]


def _skipping_gaps(covered_ms: int, gaps: tuple[tuple[int, int], ...]) -> int:
    """The time `covered_ms` into the seconds that hold frames; one that falls at a gap is the gap's start. A window
    that starts at a gap's start has its frame before (a seek finds it), and reads on across the gap for free."""
    t_ms = covered_ms
    for after, before in gaps:
        if t_ms <= after:
            break
        t_ms += before - after
    return t_ms


def chunk_seconds_for_workers(duration_s: float, workers: int) -> float:
    """A chunk length for `workers` processes on one machine: as few chunks as keep every worker busy.

    Each chunk pays a seek (decoding from the keyframe before it): with 10 s chunks that is up to a third as much
    decoding again on a 4 s-GOP video, a cost that buys nothing once every worker has a chunk. Chunks come in
    rounds of `workers` and last at most LOCAL_LONGEST_CHUNK_SECONDS, so progress still moves on long videos.
    """
    rounds = max(1, math.ceil(duration_s / (workers * LOCAL_LONGEST_CHUNK_SECONDS)))
    return max(LOCAL_SHORTEST_CHUNK_SECONDS, duration_s / (workers * rounds))
