"""The fan-in activity: stitch the chunks into one summary and write it (JSON + timeline PNG)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from videoanalysis.contracts import AnalysisOutcome, BlobRef, Chunk, ChunkOutcome, ChunkResult, Job, SummarizeInput
from videoanalysis.storage import Storage, StorageError, open_storage
from videoanalysis.summary import build_summary, failed_summary, render_timeline_png


def summarize(payload: dict[str, Any]) -> dict[str, Any]:
    request = SummarizeInput.from_dict(payload)
    job, plan = request.job, request.plan
    storage = open_storage(job.storage)
    settings = job.settings.to_dict()
    wall_s = (datetime.now(UTC) - datetime.fromisoformat(request.started_at)).total_seconds()
    if plan.status != "ok" or plan.video is None:
        summary = failed_summary(job.video.name, plan.error or "planning failed", settings)
    else:
        planned = {chunk.index: chunk for chunk in plan.chunks}
        chunks = [_full_result(storage, job, _with_plan(outcome, planned)) for outcome in request.chunks]
        video = {"name": job.video.name, **plan.video.to_dict()}
        summary = build_summary(video, settings, chunks, wall_s=round(wall_s, 3))
    storage.write_bytes(job.summary, json.dumps(summary, indent=2).encode(), "application/json")
    chart = BlobRef(job.summary.container, str(Path(job.summary.name).with_suffix(".png")))
    with tempfile.TemporaryDirectory() as folder:
        png = render_timeline_png(summary, Path(folder) / "timeline.png")
        storage.write_bytes(chart, png.read_bytes(), "image/png")
    unique = {name: stats["unique"] for name, stats in summary["classes"].items()}
    return AnalysisOutcome(summary["status"], summary["error"], job.summary, chart, unique).to_dict()


def _with_plan(outcome: ChunkOutcome, planned: dict[int, Chunk]) -> ChunkOutcome:
    """A chunk that failed for good knows only its index: its core comes from the plan (the chart shades it)."""
    chunk = planned.get(outcome.index)
    if chunk is None or outcome.start_ms is not None:
        return outcome
    return replace(outcome, start_ms=chunk.start_ms, end_ms=chunk.end_ms)


def _full_result(storage: Storage, job: Job, outcome: ChunkOutcome) -> ChunkResult:
    """The chunk's full result (tracks included) from storage; the outcome alone if it failed or went missing."""
    if outcome.status != "ok":
        return ChunkResult.from_outcome(outcome)
    try:
        return ChunkResult.from_dict(json.loads(storage.read_bytes(job.chunk_ref(outcome.index, "json"))))
    except (StorageError, ValueError, KeyError) as error:
        return ChunkResult.from_outcome(replace(outcome, status="failed", error=f"chunk result unreadable: {error}"))
