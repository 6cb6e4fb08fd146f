"""The fan-in activity: stitch the chunks into one summary and write it (JSON + timeline PNG)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from activities import logs
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
    document = json.dumps(summary, indent=2).encode()
    with tempfile.TemporaryDirectory() as folder:
        png = render_timeline_png(summary, Path(folder) / "timeline.png").read_bytes()
    chart = _write_summary(storage, job.summary, document, png)
    latest = job.latest if job.latest is not None and _still_current(storage, job) else None
    if latest is not None:
        _write_summary(storage, latest, document, png)
    storage.release(job.video)
    unique = {name: stats["unique"] for name, stats in summary["classes"].items()}
    failed = summary["failed_chunks"]
    logs.step(
        "summary",
        job,
        status=summary["status"],
        error=summary["error"],
        unique=unique,
        failed_chunks=failed,
        wall_s=summary["totals"]["wall_s"],
        latest=latest is not None,
    )
    return AnalysisOutcome(summary["status"], summary["error"], job.summary, chart, unique, latest).to_dict()


def _write_summary(storage: Storage, ref: BlobRef, document: bytes, png: bytes) -> BlobRef:
    """The summary JSON and its chart beside it; returns the chart's address."""
    storage.write_bytes(ref, document, "application/json")
    chart = BlobRef(ref.container, str(Path(ref.name).with_suffix(".png")))
    storage.write_bytes(chart, png, "image/png")
    return chart


def _still_current(storage: Storage, job: Job) -> bool:
    """Whether the video is still the version this analysis is of: two uploads of one name race, and only the
    newer one's analysis may become the name's latest summary. (Jobs without an ETag predate this rule.)"""
    if job.etag is None:
        return True
    try:
        return storage.etag(job.video) == job.etag
    except StorageError:  # deleted since: no version is current
        return False


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
