"""The durable wire format: every record round-trips through plain JSON, its keys are pinned, and what older
deployments wrote into in-flight histories still parses."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from videoanalysis.contracts import (
    AnalysisOutcome,
    BlobRef,
    Chunk,
    ChunkInput,
    ChunkOutcome,
    ChunkResult,
    Crop,
    Job,
    JobSpec,
    PlanResult,
    Progress,
    StorageSpec,
    SummarizeInput,
    Timing,
    VideoInfo,
)
from videoanalysis.settings import Settings
from videoanalysis.stats import ClassStats

REF = BlobRef("videos", "clips/a.mp4")
VIDEO = VideoInfo(25.0, 250, 10.0, 640, 360, "h264", 1000, 260, True, ((4_000, 6_000),))
CHUNK = Chunk(1, 10_000, 20_000, 9_760)
JOB = Job(REF, BlobRef("s", "analyses/x.json"), BlobRef("r", "a"), Settings(), StorageSpec(), BlobRef("s", "a"), "e1")
OUTCOME = ChunkOutcome(1, "ok", None, 10_000, 20_000, 275, 50, Timing(1.0, 2.0, 0.5, 3.5))
STATS = ClassStats(detections=3, peak=2, frames_present=2, first_seen_ms=10_000, last_seen_ms=10_200, timeline={10: 2})
RESULT = ChunkResult(
    1,
    "ok",
    None,
    10_000,
    20_000,
    9_000,
    275,
    50,
    {"car": STATS},
    {1: Crop(10_200, 3, 0.91), 4: Crop(12_000, 0, 0.5)},
    OUTCOME.timing,
    "k",
    "d",
    250,
)
PLAN = PlanResult("ok", None, VIDEO, BlobRef("r", "a/job.json"), (CHUNK,))

RECORDS: dict[str, tuple[Any, set[str]]] = {
    "BlobRef": (REF, {"container", "name"}),
    "StorageSpec azure": (StorageSpec(), {"kind", "access", "cache_mb"}),
    "StorageSpec local": (StorageSpec("local", containers={"videos": "/v"}), {"kind", "containers"}),
    "VideoInfo": (VIDEO, {"fps", "frame_count", "duration_s", "width", "height", "codec", "size_bytes",
                          "claimed_frame_count", "untimed", "gaps"}),
    "Chunk": (CHUNK, {"index", "start_ms", "end_ms", "window_start_ms"}),
    "Job": (JOB, {"video", "summary", "results", "settings", "storage", "latest", "etag", "instance"}),
    "JobSpec": (JobSpec(JOB, VIDEO), {"job", "video"}),
    "PlanResult": (PLAN, {"status", "error", "video", "spec", "chunks"}),
    "ChunkInput": (ChunkInput(StorageSpec(), BlobRef("r", "a/job.json"), CHUNK), {"storage", "spec", "chunk"}),
    "ChunkOutcome": (OUTCOME, {"index", "status", "error", "start_ms", "end_ms", "frames_decoded", "frames_analyzed",
                               "timing"}),
    "ChunkResult": (RESULT, {*OUTCOME.to_dict(), "window_start_ms", "classes", "thumbnails", "detections_key",
                             "job_digest", "frames_owned"}),
    "SummarizeInput": (SummarizeInput(JOB, PLAN, (OUTCOME,), "2026-01-01T00:00:00+00:00"),
                       {"job", "plan", "chunks", "started_at"}),
    "AnalysisOutcome": (AnalysisOutcome("partial", "x", REF, REF, {"car": 2}, None),
                        {"status", "error", "summary", "chart", "unique", "latest"}),
    "Progress": (Progress("analyzing", 3, 7), {"stage", "chunks_done", "chunks_total"}),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_every_record_round_trips_through_plain_json_with_pinned_keys(name: str) -> None:
    record, keys = RECORDS[name]
    wire = json.loads(json.dumps(record.to_dict()))
    assert set(wire) == keys, "a changed shape must be a deliberate, versioned change"
    assert type(record).from_dict(wire) == record


def test_the_camera_motions_time_keeps_its_json_key() -> None:
    """`Timing.motion_s` is `track_s` in JSON, as chunk results, histories and summaries of every version hold it."""
    timing = Timing(decode_s=1.0, infer_s=2.0, motion_s=0.5, total_s=3.5)
    assert timing.to_dict() == {"decode_s": 1.0, "infer_s": 2.0, "track_s": 0.5, "total_s": 3.5}
    assert list(timing.to_dict()) == ["decode_s", "infer_s", "track_s", "total_s"]
    assert Timing.from_dict({"decode_s": 1.0, "infer_s": 2.0, "track_s": 0.5, "total_s": 3.5}) == timing


def test_what_an_older_deployment_wrote_still_parses() -> None:
    """Histories written when windows had an end, before jobs had an ETag and videos a claimed count replay as before,
    and chunk results stored when chunks tracked (tracks and zone peaks, no thumbnails) still parse."""
    old_job = {k: v for k, v in JOB.to_dict().items() if k not in ("latest", "etag")}
    assert Job.from_dict(old_job).latest is None and Job.from_dict(old_job).etag is None
    old_video = {k: v for k, v in VIDEO.to_dict().items() if k not in ("claimed_frame_count", "untimed", "gaps")}
    assert VideoInfo.from_dict(old_video) == replace(VIDEO, claimed_frame_count=None, untimed=False, gaps=())
    assert Chunk.from_dict({**CHUNK.to_dict(), "window_end_ms": 22_000}) == CHUNK
    failed = {"index": 2, "status": "failed", "error": "decoder crashed"}  # what the orchestrator recorded
    assert ChunkOutcome.from_dict(failed) == ChunkOutcome.failed(2, "decoder crashed")
    old_outcome = {k: v for k, v in RECORDS["AnalysisOutcome"][0].to_dict().items() if k != "latest"}
    assert AnalysisOutcome.from_dict(old_outcome).latest is None
    tracked = {k: v for k, v in RESULT.to_dict().items() if k != "thumbnails"}
    tracked |= {"tracks": [{"id": 1, "cls": "car", "boxes": {}}], "zone_peaks": {"yard": {"car": 2}}}
    assert ChunkResult.from_dict(tracked) == replace(RESULT, thumbnails={})
    assert ChunkResult.from_dict({**RESULT.to_dict(), "frames_owned": None}).frames_owned is None
