"""The activities on real files in a local storage folder: what they store, and reuse of completed chunks."""

from __future__ import annotations

import base64
import errno
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import pytest

from activities import analyze_chunk, plan_chunks, summarize
from scenes.generator import write_scene
from tests.conftest import DEMO_ONNX, ROOT
from tests.support import clips
from tests.support.worker import app_containers
from triggers.start import job_for
from videoanalysis import artefacts
from videoanalysis.contracts import (
    AnalysisOutcome,
    BlobRef,
    ChunkInput,
    ChunkOutcome,
    ChunkResult,
    Crop,
    Job,
    PlanResult,
    StorageSpec,
    SummarizeInput,
)
from videoanalysis.detections_file import FrameRecord, frame_line
from videoanalysis.regions import Line, Regions, Zone
from videoanalysis.settings import Settings
from videoanalysis.storage import LocalStorage


@pytest.fixture
def app_storage(monkeypatch: pytest.MonkeyPatch, azurite_connection_string: str, blob_service) -> Iterator[dict]:
    yield from app_containers(monkeypatch, azurite_connection_string, blob_service)


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
    job = _job(tmp_path, Settings(model_path=str(DEMO_ONNX), chunk_seconds=2.0, sample_fps=5.0))
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
    model.write_bytes(DEMO_ONNX.read_bytes())
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
        settings=Settings(model_path=str(DEMO_ONNX), video_access=access),
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
    plan = PlanResult.from_dict(plan_chunks(_job(tmp_path, Settings(model_path=str(DEMO_ONNX))).to_dict()))
    assert plan.status == "failed" and plan.chunks == ()
    assert plan.error is not None and "6000x6000 frames (36 MP), over the MAX_PIXELS limit of 8.2944 MP" in plan.error
    assert PlanResult.from_dict(plan_chunks(_job(tmp_path, Settings(max_pixels=0)).to_dict())).status == "ok"


def test_a_video_whose_timestamps_cannot_be_right_is_not_planned_into_hundreds_of_chunks(tmp_path: Path) -> None:
    """Two frames, the second stamped 10 hours after the first, in under 2 KB: a failed plan with the reason
    instead of MAX_CHUNKS activities that find no frames."""
    (tmp_path / "videos").mkdir()
    clips.write_numbered(tmp_path / "videos" / "v.mp4", "h264", 2, [0, 36_000_000])
    plan = PlanResult.from_dict(plan_chunks(_job(tmp_path, Settings(model_path=str(DEMO_ONNX))).to_dict()))
    assert plan.status == "failed" and plan.chunks == ()
    assert plan.error is not None and "timestamps cannot be right: 2 frames over" in plan.error


def test_regions_outside_the_frame_fail_the_plan_and_the_summary_says_so(tmp_path: Path) -> None:
    """Only the probed frame size shows it: planning fails with the first point outside, and no chunk runs."""
    (tmp_path / "videos").mkdir()
    clips.write_numbered(tmp_path / "videos" / "v.mp4", "mp4v", 25)  # 320 x 240
    inside = Zone("edge", ((0, 0), (320, 0), (320, 240)))  # the frame's edges are in it
    regions = Regions((Line("door", (100, 0), (100, 300)),), (inside,))
    job = _job(tmp_path, Settings(model_path=str(DEMO_ONNX), count_regions=regions))
    outcome = _summarize(job, [])
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error.endswith("line 'door': the point (100, 300) is outside the 320x240 frame"), outcome.error
    assert json.loads((tmp_path / "out" / "v.json").read_text())["error"] == outcome.error
    assert not (tmp_path / "out" / "v.chunks").exists()
    ok = _job(tmp_path, Settings(model_path=str(DEMO_ONNX), count_regions=Regions(zones=(inside,))))
    assert PlanResult.from_dict(plan_chunks(ok.to_dict())).status == "ok"


def test_every_step_logs_one_structured_line_with_the_analysis_the_video_and_the_chunk(tmp_path: Path, caplog) -> None:
    """What Application Insights collects and the queries in docs/operations.md parse."""
    (tmp_path / "videos").mkdir()
    clips.write_numbered(tmp_path / "videos" / "v.mp4", "mp4v", 50)
    job = replace(_job(tmp_path, Settings(model_path=str(DEMO_ONNX), chunk_seconds=10.0)), instance="v.mp4-0123")
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


def _summarize(job: Job, outcomes: list[dict]) -> AnalysisOutcome:
    plan = PlanResult.from_dict(plan_chunks(job.to_dict()))
    request = SummarizeInput(job, plan, tuple(ChunkOutcome.from_dict(o) for o in outcomes), "2026-01-01T00:00:00+00:00")
    return AnalysisOutcome.from_dict(summarize(request.to_dict()))


def test_each_object_gets_a_thumbnail_beside_the_chunk_results_and_the_report_shows_it(tmp_path: Path) -> None:
    """Local storage: the chunks write one crop per track, the summary names each object's best one by its path
    relative to the summary, and the report beside it inlines every one of them."""
    (tmp_path / "videos").mkdir()
    write_scene(tmp_path / "videos" / "v.mp4", seed=5, seconds=4.0, size=(640, 360), codec="h264")
    job = _job(tmp_path, Settings(model_path=str(DEMO_ONNX), chunk_seconds=2.0, sample_fps=5.0))
    outcome = _summarize(job, [analyze_chunk(payload) for payload in _chunk_inputs(job)])
    out = tmp_path / "out"
    summary = json.loads((out / "v.json").read_text())
    assert outcome.status == "succeeded" and summary["objects"]
    report = (out / "v.html").read_text()
    for obj in summary["objects"]:
        assert obj["thumbnail"] is not None and obj["thumbnail"].startswith("v.chunks/chunk-"), obj
        jpeg = (out / obj["thumbnail"]).read_bytes()
        assert jpeg.startswith(b"\xff\xd8") and base64.b64encode(jpeg).decode() in report
    assert len(list((out / "v.chunks").glob("*.jpg"))) >= len(summary["objects"])


def test_in_azure_a_thumbnail_is_named_by_its_blob_and_the_report_goes_to_the_summary_container(
    app_storage: dict[str, str], blob_service
) -> None:
    """Both summaries (the analysis's own and the video's latest) get their report; thumbnails stay in the results
    container, where the chunk wrote them."""
    videos, results, summaries = (blob_service.get_container_client(app_storage[role]) for role in app_storage)
    videos.upload_blob("cam/v.mp4", clips.write_numbered(Path(tempfile.mkdtemp()) / "v.mp4", "mp4v", 25).read_bytes())
    job = job_for(BlobRef(app_storage["videos"], "cam/v.mp4"), "v.mp4-0123", "etag", Settings.from_env())
    job = replace(job, etag=None)  # no version check: this test is about where things go
    result = ChunkResult(0, "ok", None, 0, None, 0, 25, 20, {}, {7: Crop(400, 0, 0.9)})
    car = ((10.0, 10.0, 50.0, 50.0),), (0.9,), ("<b>car</b>",)
    frames = [FrameRecord(200 * k, *car, crops=((0, 7),)) for k in range(5)]
    results.upload_blob(artefacts.chunk(job.results, 0, "jsonl").name, "".join(frame_line(frame) for frame in frames))
    results.upload_blob(artefacts.chunk(job.results, 0, "json").name, json.dumps(result.to_dict()))
    data = cv2.imencode(".jpg", clips.numbered_frame(3)[:40, :40])[1].tobytes()
    results.upload_blob(artefacts.thumbnail(job.results, 0, 7).name, data)
    _summarize(job, [result.outcome().to_dict()])
    assert job.latest is not None
    for ref in (job.summary, job.latest):
        summary = json.loads(summaries.download_blob(ref.name).readall())
        assert summary["objects"][0]["thumbnail"] == "cam/v.mp4/v.mp4-0123/chunk-00000.track-7.jpg"
        report = summaries.get_blob_client(ref.name.removesuffix(".json") + ".html")
        assert report.get_blob_properties().content_settings.content_type == "text/html; charset=utf-8"
        page = report.download_blob().readall().decode()
        assert base64.b64encode(data).decode() in page and "&lt;b&gt;car&lt;/b&gt;" in page


def test_a_chunk_whose_detections_cannot_be_read_fails_in_the_summary(tmp_path: Path) -> None:
    """The fan-in tracks over the stored detections: a damaged file fails its chunk, with the reason, and the
    tracking pass starts afresh after it."""
    (tmp_path / "videos").mkdir()
    write_scene(tmp_path / "videos" / "v.mp4", seed=5, seconds=6.0, size=(640, 360), codec="h264")
    job = _job(tmp_path, Settings(model_path=str(DEMO_ONNX), chunk_seconds=2.0, sample_fps=5.0))
    outcomes = [analyze_chunk(payload) for payload in _chunk_inputs(job)]
    (tmp_path / "out" / "v.chunks" / "chunk-00001.jsonl").write_text('{"t_ms": 2000, "detec')
    outcome = _summarize(job, outcomes)
    summary = json.loads((tmp_path / "out" / "v.json").read_text())
    assert outcome.status == "partial" and summary["failed_chunks"] == [1]
    assert "chunk 1: chunk detections unreadable" in summary["error"]
    assert all(obj["chunks"] != [1] for obj in summary["objects"])


def test_a_disk_that_fills_up_while_the_report_is_written_leaves_no_summary_saying_succeeded(tmp_path: Path) -> None:
    """Summarising in a process whose files may not grow past a size between the chart's and the report's (EFBIG, as
    a full disk's ENOSPC): the summary JSON, which says how the analysis went, must not be left without its report."""
    (tmp_path / "videos").mkdir()
    clips.write_numbered(tmp_path / "videos" / "v.mp4", "mp4v", 25)
    job = _job(tmp_path, Settings(model_path=str(DEMO_ONNX), chunk_seconds=10.0))
    plan = PlanResult.from_dict(plan_chunks(job.to_dict()))
    outcomes = tuple(ChunkOutcome.from_dict(analyze_chunk(payload)) for payload in _chunk_inputs(job))
    request = SummarizeInput(job, plan, outcomes, "2026-01-01T00:00:00+00:00").to_dict()
    assert AnalysisOutcome.from_dict(summarize(request)).status == "succeeded"
    written = {suffix: tmp_path / "out" / f"v.{suffix}" for suffix in ("json", "png", "html")}
    sizes = {suffix: path.stat().st_size for suffix, path in written.items()}
    assert max(sizes["json"], sizes["png"]) < sizes["html"], sizes
    for path in written.values():
        path.unlink()
    limit = (max(sizes["json"], sizes["png"]) + sizes["html"]) // 2
    script = (
        "import json, sys\n"
        "from activities import summarize\n"
        "try:\n"
        "    summarize(json.loads(sys.argv[1]))\n"
        "except OSError as error:\n"
        "    print(error.errno, error.filename)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(request)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)),
        check=True,
    )
    assert result.stdout.split() == [str(errno.EFBIG), str(written["html"])], result
    assert not written["json"].exists(), "no summary that says how it went without its report"
    assert not list((tmp_path / "out").glob(".*.partial"))
