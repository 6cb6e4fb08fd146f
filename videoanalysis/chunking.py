"""Cut a video's timeline into chunks that tile it exactly once, each analysed with context on both sides.

A chunk owns the frames of its core [start_ms, end_ms). Its window starts `overlap` earlier, so the tracker warms
up, and ends `lookahead` later: the tracker's lost-track horizon plus the overlap. An object that is hidden when the
core ends and reappears within that horizon is re-found by the same track, on frames the next chunk also sees, so
the two chunks' tracks are stitched as a single pass would have tracked it. The last core is open-ended, so a
duration estimate that is a little short never loses the end of the video.
"""

from __future__ import annotations

import math

from videoanalysis.contracts import Chunk, VideoInfo
from videoanalysis.settings import Settings

LOCAL_LONGEST_CHUNK_SECONDS = 120.0
LOCAL_SHORTEST_CHUNK_SECONDS = 5.0


def lookahead_seconds(settings: Settings) -> float:
    """How far a window reaches past its core: long enough to re-find an object lost just before the seam, and
    then to share `overlap_seconds` of tracked frames with the next chunk to stitch on."""
    return settings.track_lost_seconds + settings.overlap_seconds


def plan_chunks(
    info: VideoInfo,
    chunk_seconds: float = 10.0,
    overlap_seconds: float = 1.0,
    max_chunks: int = 500,
    lookahead_seconds: float = 0.0,
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
    lookahead_ms = round(lookahead_seconds * 1000)
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
            window_end_ms=(i + 1) * chunk_ms + lookahead_ms if i < count - 1 else None,
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
