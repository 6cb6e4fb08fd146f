"""The fan-in activity: track the video over the chunks' detections, summarise it, and write the summary (JSON +
timeline PNG + HTML report)."""

from __future__ import annotations

import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from activities import logs
from videoanalysis import artefacts
from videoanalysis.chart import render_timeline_png
from videoanalysis.contracts import AnalysisOutcome, BlobRef, Chunk, ChunkOutcome, ChunkResult, Job, SummarizeInput
from videoanalysis.detections_file import FrameRecord, read_frames
from videoanalysis.report import render_report
from videoanalysis.settings import NO_REGIONS
from videoanalysis.storage import LocalStorage, Storage, StorageError, open_storage
from videoanalysis.summary import ThumbnailName, build_summary, failed_summary
from videoanalysis.summary_records import SummaryVideo
from videoanalysis.tracking.video_pass import track_chunks

BLOB_READERS = 8
"""Blobs read at once: two per chunk (its result and its detections) and one per thumbnail in the report, hundreds
for a long video, each a round trip to storage."""


def summarize(payload: dict[str, Any]) -> dict[str, Any]:
    request = SummarizeInput.from_dict(payload)
    job, plan = request.job, request.plan
    storage = open_storage(job.storage)
    settings = job.settings.to_dict()
    wall_s = (datetime.now(UTC) - datetime.fromisoformat(request.started_at)).total_seconds()
    thumbnails: dict[str, BlobRef] = {}
    if plan.status != "ok" or plan.video is None:
        built = failed_summary(job.video.name, plan.error or "planning failed", settings)
    else:
        planned = {chunk.index: chunk for chunk in plan.chunks}
        chunks, frames = _read_chunks(storage, job, [_with_plan(outcome, planned) for outcome in request.chunks])
        tracks = track_chunks(chunks, frames, plan.video, job.settings)
        namer = _thumbnail_namer(storage, job, thumbnails)
        video = SummaryVideo(job.video.name, plan.video)
        built = build_summary(video, settings, chunks, tracks, wall_s=round(wall_s, 3), thumbnail=namer)
    summary = built.to_dict()
    document = json.dumps(summary, indent=2).encode()
    with tempfile.TemporaryDirectory() as folder:
        png = render_timeline_png(summary, Path(folder) / "timeline.png").read_bytes()
    frame = _read_or_none(storage, artefacts.frame(job.results)) if job.settings.count_regions != NO_REGIONS else None
    report = render_report(summary, png, _read_thumbnails(storage, thumbnails), frame).encode()
    chart = _write_summary(storage, job.summary, document, png, report)
    latest = job.latest if job.latest is not None and _still_current(storage, job) else None
    if latest is not None:
        _write_summary(storage, latest, document, png, report)
    storage.release(job.video)
    unique = {name: row.unique for name, row in built.classes.items()}
    logs.step(
        "summary",
        job,
        status=built.status,
        error=built.error,
        unique=unique,
        failed_chunks=built.failed_chunks,
        wall_s=built.totals.wall_s,
        latest=latest is not None,
    )
    return AnalysisOutcome(built.status, built.error, job.summary, chart, unique, latest).to_dict()


def _write_summary(storage: Storage, ref: BlobRef, document: bytes, png: bytes, report: bytes) -> BlobRef:
    """The summary JSON, its chart and its report beside it; returns the chart's address. The JSON goes last: it
    says how the analysis went, so a write that fails (a full disk, an outage) never leaves it without the others."""
    chart = artefacts.chart(ref)
    storage.write_bytes(chart, png, "image/png")
    storage.write_bytes(artefacts.report(ref), report, "text/html; charset=utf-8")
    storage.write_bytes(ref, document, "application/json")
    return chart


def _thumbnail_namer(storage: Storage, job: Job, refs: dict[str, BlobRef]) -> ThumbnailName:
    """How the summary names an object's thumbnail, recording where each one is for the report: locally a path
    relative to the summary (the results folder travels with it), in Azure the blob name in the results container."""

    def name(chunk: int, crop_id: int) -> str:
        ref = artefacts.thumbnail(job.results, chunk, crop_id)
        shown = ref.name
        if isinstance(storage, LocalStorage):
            shown = Path(os.path.relpath(storage.path(ref), storage.path(job.summary).parent)).as_posix()
        refs[shown] = ref
        return shown

    return name


def _read_thumbnails(storage: Storage, refs: dict[str, BlobRef]) -> dict[str, bytes]:
    """The thumbnails the report inlines, by summary name; one gone missing shows as "no image", not a failure."""
    with ThreadPoolExecutor(max_workers=BLOB_READERS) as pool:
        data = dict(zip(refs, pool.map(partial(_read_or_none, storage), refs.values()), strict=True))
    return {name: jpeg for name, jpeg in data.items() if jpeg is not None}


def _read_or_none(storage: Storage, ref: BlobRef) -> bytes | None:
    """An image for the report, or None when it is missing (its chunk failed): the report does without it."""
    try:
        return storage.read_bytes(ref)
    except StorageError:
        return None


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


def _read_chunks(
    storage: Storage, job: Job, outcomes: list[ChunkOutcome]
) -> tuple[list[ChunkResult], dict[int, list[FrameRecord]]]:
    """Every chunk's full result, and each successful chunk's analysed frames, read `BLOB_READERS` chunks at once."""
    with ThreadPoolExecutor(max_workers=BLOB_READERS) as pool:
        read = list(pool.map(partial(_read_chunk, storage, job), outcomes))
    return [chunk for chunk, _ in read], {chunk.index: frames for chunk, frames in read if frames is not None}


def _read_chunk(storage: Storage, job: Job, outcome: ChunkOutcome) -> tuple[ChunkResult, list[FrameRecord] | None]:
    """A chunk's full result and analysed frames; a chunk that failed, or whose result or detections cannot be read,
    is its outcome alone, failed, with the reason."""
    if outcome.status != "ok":
        return ChunkResult.from_outcome(outcome), None
    try:
        chunk = ChunkResult.from_dict(
            json.loads(storage.read_bytes(artefacts.chunk(job.results, outcome.index, "json")))
        )
    except (StorageError, ValueError, KeyError) as error:
        return _failed(outcome, f"chunk result unreadable: {error}"), None
    try:
        detections = storage.read_bytes(artefacts.chunk(job.results, chunk.index, "jsonl"))
        return chunk, list(read_frames(chunk.index, detections))
    except (StorageError, ValueError, KeyError, TypeError, IndexError) as error:
        return _failed(chunk.outcome(), f"chunk detections unreadable: {error}"), None


def _failed(outcome: ChunkOutcome, error: str) -> ChunkResult:
    return ChunkResult.from_outcome(replace(outcome, status="failed", error=error))
