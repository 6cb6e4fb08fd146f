"""One chunk's analysis: which frames a chunk shares with its neighbours, where stitching matches their tracks."""

from __future__ import annotations

from videoanalysis.analysis import _SharedFrames
from videoanalysis.chunking import lookahead_seconds, plan_chunks
from videoanalysis.contracts import VideoInfo
from videoanalysis.settings import Settings

VIDEO = VideoInfo(fps=25.0, frame_count=750, duration_s=30.0, width=640, height=360, codec="h264", size_bytes=1)


def test_neighbours_record_boxes_on_the_same_frames_around_each_seam() -> None:
    """Chunk i's window reaches `lookahead` past the seam and chunk i+1's starts `overlap` before it: both keep
    boxes on every frame of [seam - overlap, seam + lookahead), and neither keeps them deep inside its core."""
    settings = Settings(chunk_seconds=10.0, overlap_seconds=1.0, track_lost_seconds=1.0)
    lookahead_ms = round(lookahead_seconds(settings) * 1000)
    chunks = plan_chunks(VIDEO, 10.0, 1.0, lookahead_seconds=lookahead_seconds(settings))
    shared = [_SharedFrames(chunk, 1000, lookahead_ms) for chunk in chunks]
    for before, after, chunk in zip(shared, shared[1:], chunks[1:], strict=False):
        seam = chunk.start_ms
        window = range(seam - 1000, seam + lookahead_ms, 40)
        assert all(before(t) and after(t) for t in window)
        assert chunk.window_start_ms == seam - 1000 and chunks[chunk.index - 1].window_end_ms == seam + lookahead_ms
    assert not shared[1](15_000) and not shared[0](0)
    assert shared[-1](25_000) is False, "the last chunk has no next neighbour"
