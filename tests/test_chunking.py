"""plan_chunks: cores tile the timeline exactly once, windows start one analysed frame early, caps hold."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest

from scenes.generator import write_scene
from videoanalysis.chunking import LOCAL_LONGEST_CHUNK_SECONDS, Chunk, chunk_seconds_for_workers, lead_ms, plan_chunks
from videoanalysis.video import FrameReader, VideoInfo, probe


def info(duration_s: float) -> VideoInfo:
    return VideoInfo(25.0, round(duration_s * 25), duration_s, 320, 240, "h264", 1000)


def assert_tiles(chunks: list[Chunk], lead: int) -> None:
    """Cores are contiguous from 0 with an open end; each window starts `lead` ms early."""
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].start_ms == 0
    assert chunks[-1].end_ms is None
    for before, after in pairwise(chunks):
        assert before.end_ms == after.start_ms > before.start_ms
    for chunk in chunks:
        assert chunk.window_start_ms == max(0, chunk.start_ms - lead)


@pytest.mark.parametrize("duration_s", [0.0, 0.04, 4.9, 5.0, 10.0, 14.99, 15.0, 59.96, 600.0, 1234.56])
@pytest.mark.parametrize(("chunk_s", "sample_fps"), [(10.0, 5.0), (2.5, 0.0), (3.7, 2.0), (60.0, 5.0)])
def test_cores_tile_the_timeline(duration_s: float, chunk_s: float, sample_fps: float) -> None:
    chunks = plan_chunks(info(duration_s), chunk_s, sample_fps=sample_fps)
    assert_tiles(chunks, lead_ms(info(duration_s), sample_fps))
    assert all(c.end_ms - c.start_ms == round(chunk_s * 1000) for c in chunks[:-1])
    last = duration_s * 1000 - chunks[-1].start_ms
    assert len(chunks) == 1 or chunk_s * 500 <= last < chunk_s * 1500  # a short remainder joins the last chunk


@pytest.mark.parametrize(("duration_s", "count"), [(0.0, 1), (12.0, 1), (14.99, 1), (15.0, 2), (25.0, 3), (100.0, 10)])
def test_chunk_counts(duration_s: float, count: int) -> None:
    assert len(plan_chunks(info(duration_s), 10.0)) == count


@pytest.mark.parametrize(
    ("duration_s", "chunk_s", "max_chunks"), [(3600.0, 1.0, 500), (7200.0, 10.0, 100), (0.6, 0.001, 500)]
)
def test_cap_grows_chunks_instead(duration_s: float, chunk_s: float, max_chunks: int) -> None:
    chunks = plan_chunks(info(duration_s), chunk_s, max_chunks)
    assert len(chunks) <= max_chunks
    assert_tiles(chunks, lead_ms(info(duration_s), 0.0))
    assert chunks[-1].start_ms < duration_s * 1000  # no chunk starts past the end
    assert chunks[0].end_ms >= duration_s * 1000 / max_chunks


def test_single_chunk_cap() -> None:
    assert plan_chunks(info(3600.0), 10.0, max_chunks=1) == [Chunk(0, 0, None, 0)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chunk_seconds": 0.0}, "chunk_seconds must be a positive number"),
        ({"chunk_seconds": -5.0}, "chunk_seconds must be a positive number"),
        ({"chunk_seconds": float("nan")}, "chunk_seconds must be a positive number"),
        ({"chunk_seconds": float("inf")}, "chunk_seconds must be a positive number"),
        ({"max_chunks": 0}, "max_chunks must be >= 1"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_chunks(info(60.0), **kwargs)


def test_bad_duration_is_rejected() -> None:
    with pytest.raises(ValueError, match="duration"):
        plan_chunks(info(-1.0))


def test_chunk_round_trips_through_json() -> None:
    for chunk in plan_chunks(info(35.0)):
        assert Chunk.from_dict(json.loads(json.dumps(chunk.to_dict()))) == chunk
    assert plan_chunks(info(35.0), sample_fps=5.0)[1].to_dict() == {
        "index": 1,
        "start_ms": 10_000,
        "end_ms": 20_000,
        "window_start_ms": 9_760,
    }


def test_a_chunk_of_an_older_deployment_still_parses() -> None:
    """In-flight orchestrations replay chunk inputs written when windows reached past their core: that end is
    ignored, the chunk reads its core."""
    old = {"index": 1, "start_ms": 10_000, "end_ms": 20_000, "window_start_ms": 9_000, "window_end_ms": 22_000}
    assert Chunk.from_dict(old) == Chunk(1, 10_000, 20_000, 9_000)


@pytest.mark.parametrize("sample_fps", [5.0, 3.0, 0.0])
def test_a_window_holds_the_analysed_frame_before_its_core(tmp_path, sample_fps: float) -> None:
    """Wherever a core starts, its window holds one pass's last analysed frame before the core."""
    video = tmp_path / "scene.mp4"
    write_scene(video, seed=3, seconds=4.0, size=(160, 90), codec="h264")
    video_info = probe(str(video))
    one_pass = [frame.t_ms for frame in FrameReader(str(video), sample_fps=sample_fps)]
    for chunk in plan_chunks(video_info, 0.37, sample_fps=sample_fps)[1:]:
        window = [f.t_ms for f in FrameReader(str(video), chunk.window_start_ms, chunk.end_ms, sample_fps)]
        before = max(t for t in one_pass if t < chunk.start_ms)
        assert before in window, (chunk, before)


@pytest.mark.parametrize(
    ("duration_s", "workers", "chunks"),
    [
        (60.0, 2, 2),
        (59.96, 2, 2),
        (61.0, 4, 4),
        (3600.0, 2, 30),
        (241.0, 2, 4),
        (240.0, 2, 2),
        (7.0, 2, 1),
        (0.0, 2, 1),
    ],
)
def test_local_chunks_come_in_rounds_of_workers(duration_s: float, workers: int, chunks: int) -> None:
    """One chunk per worker where that keeps every worker busy; more rounds only to bound the chunk length."""
    seconds = chunk_seconds_for_workers(duration_s, workers)
    plan = plan_chunks(info(duration_s), seconds, sample_fps=5.0)
    assert len(plan) == chunks
    assert_tiles(plan, 240)
    cores = [(c.end_ms or round(duration_s * 1000)) - c.start_ms for c in plan]
    assert max(cores) <= LOCAL_LONGEST_CHUNK_SECONDS * 1000 + 1
