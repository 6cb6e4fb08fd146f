"""The fan-in activity: stitch the chunks into one summary and write it (JSON + timeline PNG)."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from videoanalysis.job import Job
from videoanalysis.storage import BlobRef, StorageError, storage_from_dict
from videoanalysis.summary import build_summary, failed_summary, render_timeline_png


def summarize(payload: dict) -> dict:
    job = Job.from_dict(payload["job"])
    storage = storage_from_dict(job.storage)
    plan = payload["plan"]
    settings = job.settings.to_dict()
    wall_s = (datetime.now(UTC) - datetime.fromisoformat(payload["started_at"])).total_seconds()
    if plan["status"] != "ok":
        summary = failed_summary(job.video.name, plan["error"], settings)
    else:
        planned = {chunk["index"]: chunk for chunk in plan["chunks"]}
        chunks = [_full_result(storage, job, {**planned[chunk["index"]], **chunk}) for chunk in payload["chunks"]]
        video = {"name": job.video.name, **plan["video"]}
        summary = build_summary(video, settings, chunks, wall_s=round(wall_s, 3))
    storage.write_bytes(job.summary, json.dumps(summary, indent=2).encode(), "application/json")
    chart = BlobRef(job.summary.container, str(Path(job.summary.name).with_suffix(".png")))
    with tempfile.TemporaryDirectory() as folder:
        png = render_timeline_png(summary, Path(folder) / "timeline.png")
        storage.write_bytes(chart, png.read_bytes(), "image/png")
    return {
        "status": summary["status"],
        "error": summary["error"],
        "summary": job.summary.to_dict(),
        "chart": chart.to_dict(),
        "unique": {name: stats["unique"] for name, stats in summary["classes"].items()},
    }


def _full_result(storage, job: Job, chunk: dict) -> dict:
    """The chunk's full result (tracks included) from storage; the compact one if it failed or went missing."""
    if chunk["status"] != "ok":
        return chunk
    try:
        return json.loads(storage.read_bytes(job.chunk_ref(chunk["index"], "json")))
    except (StorageError, ValueError) as error:
        return {**chunk, "status": "failed", "error": f"chunk result unreadable: {error}"}
