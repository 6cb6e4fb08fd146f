"""Activities that read the video: plan the chunks, analyse one chunk."""

from __future__ import annotations

import json

from videoanalysis.analysis import analyze_window
from videoanalysis.chunking import Chunk
from videoanalysis.chunking import plan_chunks as plan_video_chunks
from videoanalysis.detector import ModelError
from videoanalysis.job import Job
from videoanalysis.storage import BlobRef, StorageError, storage_from_dict
from videoanalysis.video import VideoError, VideoInfo, probe


def plan_chunks(payload: dict) -> dict:
    """Probe the video and cut it into chunks; a video we cannot read ends here with the reason."""
    job = Job.from_dict(payload)
    storage = storage_from_dict(job.storage)
    settings = job.settings
    try:
        size = storage.size(job.video)
        if size > settings.max_video_mb * 2**20:
            return _failed(f"video is {size / 2**20:.0f} MiB, over the MAX_VIDEO_MB limit of {settings.max_video_mb:g}")
        with storage.video_source(job.video) as source:
            info = probe(source)
    except (VideoError, StorageError) as error:
        return _failed(str(error))
    chunks = plan_video_chunks(info, settings.chunk_seconds, settings.overlap_seconds, settings.max_chunks)
    spec = {"job": payload, "video": info.to_dict()}
    storage.write_bytes(job.spec_ref, json.dumps(spec).encode(), "application/json")
    return {
        "status": "ok",
        "error": None,
        "video": info.to_dict(),
        "spec": job.spec_ref.to_dict(),
        "chunks": [chunk.to_dict() for chunk in chunks],
    }


def analyze_chunk(payload: dict) -> dict:
    """Detect and track one chunk; per-frame detections and the full chunk result go to storage, not history.

    The input names the job spec that planning stored instead of carrying the job, which would otherwise be
    repeated in the orchestration history once per chunk.
    """
    storage = storage_from_dict(payload["storage"])
    spec = json.loads(storage.read_bytes(BlobRef.from_dict(payload["spec"])))
    job = Job.from_dict(spec["job"])
    chunk = Chunk.from_dict(payload["chunk"])
    detections_ref = job.chunk_ref(chunk.index, "jsonl")
    try:
        with storage.video_source(job.video) as source:
            window = analyze_window(source, VideoInfo.from_dict(spec["video"]), chunk, job.settings)
    except (VideoError, ModelError) as error:  # bad data or configuration: a retry would fail the same way
        return {"index": chunk.index, "status": "failed", "error": str(error)}
    result = {**window.result, "detections_key": detections_ref.name}
    storage.write_bytes(detections_ref, window.detections_jsonl, "application/x-ndjson")
    storage.write_bytes(job.chunk_ref(chunk.index, "json"), json.dumps(result).encode(), "application/json")
    return compact(result)


def compact(result: dict) -> dict:
    """What the orchestrator keeps per chunk: status and counters, never tracks or boxes."""
    keys = ("index", "status", "error", "start_ms", "end_ms", "frames_decoded", "frames_analyzed", "timing")
    return {key: result.get(key) for key in keys}


def _failed(error: str) -> dict:
    return {"status": "failed", "error": error, "video": None, "spec": None, "chunks": []}
