"""The activities on real files in a local storage folder: what they store, and reuse of completed chunks."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from pathlib import Path

import pytest

from activities import analyze_chunk, plan_chunks
from tests.conftest import ROOT
from tests.support import clips
from videoanalysis.contracts import BlobRef, ChunkInput, ChunkOutcome, Job, PlanResult, StorageSpec
from videoanalysis.settings import Settings
from videoanalysis.storage import LocalStorage

MODEL = ROOT / "models" / "demo-yolo26n.onnx"


def _job(tmp_path: Path, settings: Settings) -> Job:
    storage = LocalStorage({"videos": tmp_path / "videos", "out": tmp_path / "out"})
    return Job(
        video=BlobRef("videos", "v.mp4"),
        summary=BlobRef("out", "v.json"),
        results=BlobRef("out", "v.chunks"),
        settings=settings,
        storage=storage.spec(),
    )


def _chunk_inputs(job: Job) -> list[dict]:
    plan = PlanResult.from_dict(plan_chunks(job.to_dict()))
    assert plan.status == "ok" and plan.spec is not None
    return [ChunkInput(job.storage, plan.spec, chunk).to_dict() for chunk in plan.chunks]


def test_a_completed_chunk_is_reused_not_analysed_again(tmp_path: Path) -> None:
    """A rerun of the same job (a retried orchestration, a summary that failed) returns the stored result: here the
    video is gone by then, so only reuse can succeed."""
    (tmp_path / "videos").mkdir()
    video = clips.write_numbered(tmp_path / "videos" / "v.mp4", "mp4v", 100)
    job = _job(tmp_path, Settings(model_path=str(MODEL), chunk_seconds=2.0, overlap_seconds=0.5))
    first = [ChunkOutcome.from_dict(analyze_chunk(payload)) for payload in _chunk_inputs(job)]
    assert len(first) == 2 and all(outcome.status == "ok" for outcome in first)
    stored = {path: path.stat().st_mtime_ns for path in (tmp_path / "out" / "v.chunks").glob("chunk-*")}

    payloads = [json.loads(json.dumps(payload)) for payload in _chunk_inputs(job)]
    video.unlink()
    again = [ChunkOutcome.from_dict(analyze_chunk(payload)) for payload in payloads]
    assert again == first
    assert {path: path.stat().st_mtime_ns for path in stored} == stored


def test_a_result_of_another_job_or_model_version_is_not_reused(tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()
    clips.write_numbered(tmp_path / "videos" / "v.mp4", "mp4v", 50)
    model = tmp_path / "model.onnx"
    model.write_bytes(MODEL.read_bytes())
    settings = Settings(model_path=str(model), chunk_seconds=10.0)
    (payload,) = _chunk_inputs(_job(tmp_path, settings))
    analyze_chunk(payload)
    result_path = tmp_path / "out" / "v.chunks" / "chunk-00000.json"
    written = result_path.stat().st_mtime_ns

    (payload,) = _chunk_inputs(_job(tmp_path, settings.replace(confidence=0.5)))
    analyze_chunk(payload)
    assert result_path.stat().st_mtime_ns != written, "other settings: analysed again"
    written = result_path.stat().st_mtime_ns

    os.utime(model, ns=(written + 10**9, written + 10**9))  # a new model file at the same path
    analyze_chunk(payload)
    assert result_path.stat().st_mtime_ns != written, "another model version: analysed again"


@pytest.mark.parametrize("access", ["cache", "stream"])
def test_an_unreadable_blob_is_named_by_its_blob_name(access: str, monkeypatch, azurite_connection_string, container):
    """Not by the worker's cache path, the storage host or a SAS URL: the user knows the container and blob."""
    monkeypatch.setenv("AzureWebJobsStorage", azurite_connection_string)
    container.upload_blob("clips/notes.mp4", b"not a video at all")
    job = Job(
        video=BlobRef(container.container_name, "clips/notes.mp4"),
        summary=BlobRef(container.container_name, "s.json"),
        results=BlobRef(container.container_name, "r"),
        settings=Settings(model_path=str(MODEL), video_access=access),
        storage=StorageSpec(kind="azure", access=access),
    )
    plan = PlanResult.from_dict(plan_chunks(job.to_dict()))
    assert plan.status == "failed" and plan.error is not None
    assert f"Cannot read {container.container_name}/clips/notes.mp4 as a video" in plan.error
    assert not any(leak in plan.error for leak in ("videoanalysis-cache", "127.0.0.1", "sig=", "http"))


def test_frames_over_max_pixels_are_refused_before_one_is_decoded(tmp_path: Path) -> None:
    """A 6000x6000 MJPEG (36 MP a frame) over the 4K default: planning fails with the reason, analysing nothing."""
    import cv2
    import numpy as np

    (tmp_path / "videos").mkdir()
    writer = cv2.VideoWriter(str(tmp_path / "videos" / "v.mp4"), cv2.VideoWriter.fourcc(*"MJPG"), 5.0, (6000, 6000))
    for _ in range(2):
        writer.write(np.zeros((6000, 6000, 3), np.uint8))
    writer.release()
    plan = PlanResult.from_dict(plan_chunks(_job(tmp_path, Settings(model_path=str(MODEL))).to_dict()))
    assert plan.status == "failed" and plan.chunks == ()
    assert plan.error is not None and "6000x6000 frames (36 MP), over the MAX_PIXELS limit of 8.2944 MP" in plan.error
    assert PlanResult.from_dict(plan_chunks(_job(tmp_path, Settings(max_pixels=0)).to_dict())).status == "ok"


def test_a_video_whose_timestamps_cannot_be_right_is_not_planned_into_hundreds_of_chunks(tmp_path: Path) -> None:
    """Two frames, the second stamped 10 hours after the first, in under 2 KB: a failed plan with the reason
    instead of MAX_CHUNKS activities that find no frames."""
    (tmp_path / "videos").mkdir()
    clips.write_numbered(tmp_path / "videos" / "v.mp4", "h264", 2, [0, 36_000_000])
    plan = PlanResult.from_dict(plan_chunks(_job(tmp_path, Settings(model_path=str(MODEL))).to_dict()))
    assert plan.status == "failed" and plan.chunks == ()
    assert plan.error is not None and "timestamps cannot be right: 2 frames over" in plan.error


def test_every_step_logs_one_structured_line_with_the_analysis_the_video_and_the_chunk(tmp_path: Path, caplog) -> None:
    """What Application Insights collects and the README's queries parse."""
    (tmp_path / "videos").mkdir()
    clips.write_numbered(tmp_path / "videos" / "v.mp4", "mp4v", 50)
    job = replace(_job(tmp_path, Settings(model_path=str(MODEL), chunk_seconds=10.0)), instance="v.mp4-0123")
    with caplog.at_level(logging.INFO, logger="videoanalysis"):
        (payload,) = _chunk_inputs(job)
        analyze_chunk(payload)
        analyze_chunk(payload)
    lines = [record.getMessage().split(" ", 2) for record in caplog.records if record.name == "videoanalysis"]
    assert [(prefix, step) for prefix, step, _ in lines] == [("videoanalysis", "plan")] + [
        ("videoanalysis", "chunk")
    ] * 2
    plan, first, again = (json.loads(fields) for *_, fields in lines)
    assert plan["instance"] == first["instance"] == "v.mp4-0123" and plan["video"] == "videos/v.mp4"
    assert (plan["status"], plan["chunks"]) == ("ok", 1)
    assert first["chunk"] == 0 and first["status"] == "ok" and first["total_s"] > 0 and first["reused"] is False
    assert again["reused"] is True
