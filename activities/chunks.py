"""Activities that read the video: plan the chunks, analyse one chunk."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from typing import Any

import videoanalysis
from activities import logs
from videoanalysis import artefacts
from videoanalysis.analysis import analyze_window
from videoanalysis.chunking import plan_chunks as plan_video_chunks
from videoanalysis.contracts import BlobRef, Chunk, ChunkInput, ChunkOutcome, ChunkResult, Job, JobSpec, PlanResult
from videoanalysis.models import ModelError
from videoanalysis.regions import check_in_frame
from videoanalysis.storage import Storage, StorageError, open_storage
from videoanalysis.video import VideoError, implausible_duration, probe


def plan_chunks(payload: dict[str, Any]) -> dict[str, Any]:
    """Probe the video and cut it into chunks; a video we cannot read ends here with the reason."""
    job = Job.from_dict(payload)
    plan = _plan(job, open_storage(job.storage))
    duration_s = None if plan.video is None else plan.video.duration_s
    logs.step("plan", job, status=plan.status, error=plan.error, chunks=len(plan.chunks), duration_s=duration_s)
    return plan.to_dict()


def _plan(job: Job, storage: Storage) -> PlanResult:
    """The stored spec pins the version planned (the trigger's ETag, or the video's now when none came): every chunk
    reads that version or fails saying it was replaced, so no summary mixes two uploads of one name."""
    settings = job.settings
    try:
        job = replace(job, etag=job.etag or storage.etag(job.video))
        size = storage.size(job.video)
        if size > settings.max_video_mb * 2**20:
            return PlanResult.failed(
                f"video is {size / 2**20:.0f} MiB, over the MAX_VIDEO_MB limit of {settings.max_video_mb:g}"
            )
        with storage.video_source(job.video, job.etag) as source:
            info = probe(source, settings.max_pixels)
    except VideoError as error:
        return PlanResult.failed(error.about(storage.describe(job.video)))
    except StorageError as error:
        return PlanResult.failed(str(error))
    if problem := implausible_duration(info):
        return PlanResult.failed(f"{storage.describe(job.video)}: {problem}")
    try:  # only the probed frame size tells
        check_in_frame(settings.count_regions, info.width, info.height)
    except ValueError as error:
        return PlanResult.failed(f"{storage.describe(job.video)}: {error}")
    chunks = plan_video_chunks(info, settings.chunk_seconds, settings.max_chunks, settings.sample_fps)
    spec = artefacts.job_spec(job.results)
    storage.write_bytes(spec, json.dumps(JobSpec(job, info).to_dict()).encode(), "application/json")
    return PlanResult(status="ok", video=info, spec=spec, chunks=tuple(chunks))


def analyze_chunk(payload: dict[str, Any]) -> dict[str, Any]:
    """Detect in one chunk; per-frame detections, thumbnails and the full chunk result go to storage, not history.

    The input names the job spec that planning stored instead of carrying the job, which would otherwise be
    repeated in the orchestration history once per chunk. A chunk already completed for the same job (a retried
    orchestration, a rerun after a failed summary) is not analysed again: its stored result is returned.
    """
    request = ChunkInput.from_dict(payload)
    storage = open_storage(request.storage)
    spec_bytes = storage.read_bytes(request.spec)
    spec = JobSpec.from_dict(json.loads(spec_bytes))
    digest = job_digest(spec_bytes, spec.job.settings.model_path)
    done = _completed(storage, artefacts.chunk(spec.job.results, request.chunk.index, "json"), digest)
    outcome = done.outcome() if done else _analyze(storage, spec, request.chunk, digest)
    logs.step(
        "chunk",
        spec.job,
        chunk=outcome.index,
        status=outcome.status,
        error=outcome.error,
        reused=done is not None,
        frames_analyzed=outcome.frames_analyzed,
        **outcome.timing.to_dict(),
    )
    return outcome.to_dict()


def _analyze(storage: Storage, spec: JobSpec, chunk: Chunk, digest: str) -> ChunkOutcome:
    job = spec.job
    detections_ref = artefacts.chunk(job.results, chunk.index, "jsonl")
    try:
        with storage.video_source(job.video, job.etag) as source:
            window = analyze_window(source, spec.video, chunk, job.settings)
    except VideoError as error:  # bad data: a retry would fail the same way
        return ChunkOutcome.failed(chunk.index, error.about(storage.describe(job.video)))
    except StorageError as error:  # the video was replaced or deleted: the same
        return ChunkOutcome.failed(chunk.index, str(error))
    except ModelError as error:  # configuration: the same
        return ChunkOutcome.failed(chunk.index, str(error))
    result = replace(window.result, detections_key=detections_ref.name, job_digest=digest)
    storage.write_bytes(detections_ref, window.detections_jsonl, "application/x-ndjson")
    for crop_id, jpeg in window.thumbnails.items():
        storage.write_bytes(artefacts.thumbnail(job.results, chunk.index, crop_id), jpeg, "image/jpeg")
    if window.frame_jpeg is not None:
        storage.write_bytes(artefacts.frame(job.results), window.frame_jpeg, "image/jpeg")
    # The result last: it marks the chunk complete (`_completed`), so everything it points at is written by then.
    storage.write_bytes(
        artefacts.chunk(job.results, chunk.index, "json"), json.dumps(result.to_dict()).encode(), "application/json"
    )
    return result.outcome()


def job_digest(spec: bytes, model_path: str) -> str:
    """What a chunk result depends on: the stored job spec (settings, probed video), the model file's version and
    the library's."""
    try:
        stat = os.stat(model_path)
        model = f"{stat.st_size}:{stat.st_mtime_ns}"
    except OSError:
        model = "missing"
    return hashlib.sha256(spec + f"|{model}|{videoanalysis.__version__}".encode()).hexdigest()


def _completed(storage: Storage, ref: BlobRef, digest: str) -> ChunkResult | None:
    """This chunk's stored result if an earlier attempt or run of the same job completed it, else None."""
    try:
        result = ChunkResult.from_dict(json.loads(storage.read_bytes(ref)))
    except (StorageError, ValueError, KeyError, TypeError):
        return None
    return result if result.status == "ok" and result.job_digest == digest else None
