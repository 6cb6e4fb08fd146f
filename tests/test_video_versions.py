"""An analysis reads only the version of the video that started it, whatever is uploaded over it meanwhile.

The real activities through the durable SDK's replay (devhost/replay.py) on Azurite: the blob is overwritten with
another scene once the first chunk is done. Every chunk that succeeds must have read the first version's bytes
(its stored detections are those of that version alone), and one that cannot must fail with the reason.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from activities import ACTIVITIES
from devhost.replay import ReplayHost
from orchestrators.analyze_video import analyze_video
from scenes.generator import write_scene
from tests.conftest import DEMO_ONNX
from tests.support import clips
from tests.support.worker import app_containers
from triggers.start import job_for
from videoanalysis import artefacts
from videoanalysis.contracts import AnalysisOutcome, BlobRef, ChunkInput, ChunkOutcome, Job, PlanResult, SummarizeInput
from videoanalysis.settings import Settings
from videoanalysis.storage import LocalStorage

SECONDS = 4.0
SETTINGS = Settings(model_path=str(DEMO_ONNX), chunk_seconds=2.0, sample_fps=5.0)


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bytes, dict[int, bytes]]]:
    """Two versions of one name (scenes of other seeds), each with the detections every chunk finds in it alone."""
    found = {}
    for version, seed in (("v1", 5), ("v2", 6)):
        folder = tmp_path_factory.mktemp(version)
        (folder / "videos").mkdir()
        video = folder / "videos" / "v.mp4"
        write_scene(video, seed=seed, seconds=SECONDS, size=(640, 360), codec="h264")
        storage = LocalStorage({"videos": folder / "videos", "out": folder / "out"})
        job = Job(BlobRef("videos", "v.mp4"), BlobRef("out", "v.json"), BlobRef("out", "v.chunks"), SETTINGS)
        job = replace(job, storage=storage.spec())
        plan = PlanResult.from_dict(ACTIVITIES["plan_chunks"](job.to_dict()))
        assert plan.status == "ok" and plan.spec is not None
        for chunk in plan.chunks:
            ACTIVITIES["analyze_chunk"](ChunkInput(job.storage, plan.spec, chunk).to_dict())
        found[version] = (
            video.read_bytes(),
            {c.index: storage.read_bytes(artefacts.chunk(job.results, c.index, "jsonl")) for c in plan.chunks},
        )
    first, second = found["v1"][1], found["v2"][1]
    assert len(first) == 2 and all(first[index] != second[index] for index in first), "the versions must tell apart"
    return found


@pytest.fixture
def app_storage(monkeypatch: pytest.MonkeyPatch, azurite_connection_string: str, blob_service) -> Iterator[dict]:
    yield from app_containers(monkeypatch, azurite_connection_string, blob_service)


CASES = {
    "stream": ("stream", False, {1}),
    "cache, another instance": ("cache", True, {1}),  # no copy of the first version there: it cannot be read
    "cache, same instance": ("cache", False, set()),  # its copy of the first version is read
}


@pytest.mark.parametrize(("access", "other_instance", "cannot_read"), CASES.values(), ids=CASES.keys())
def test_a_version_uploaded_mid_analysis_is_never_read_by_it(
    access: str,
    other_instance: bool,
    cannot_read: set[int],
    versions: dict,
    app_storage: dict[str, str],
    blob_service,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the worker's video cache, this test's alone
    videos, results, summaries = (blob_service.get_container_client(app_storage[role]) for role in app_storage)
    (first, detections), (second, _) = versions["v1"], versions["v2"]
    blob = videos.upload_blob("cam/v.mp4", first)
    etag = str(blob.get_blob_properties().etag).strip('"')
    settings = Settings.from_env().replace(
        model_path=SETTINGS.model_path,
        chunk_seconds=SETTINGS.chunk_seconds,
        sample_fps=SETTINGS.sample_fps,
        video_access=access,
        chunk_retry_attempts=1,
    )
    job = job_for(BlobRef(app_storage["videos"], "cam/v.mp4"), "versions", etag, settings)

    def analyze_chunk(payload: dict) -> dict:
        outcome = ACTIVITIES["analyze_chunk"](payload)
        if ChunkInput.from_dict(payload).chunk.index == 0:
            blob.upload_blob(second, overwrite=True)
            if other_instance:
                shutil.rmtree(tmp_path / "videoanalysis-cache")
        return outcome

    replay = ReplayHost(analyze_video, {**ACTIVITIES, "analyze_chunk": analyze_chunk}).run(job.to_dict())
    assert replay.error is None, replay.error
    (request,) = [SummarizeInput.from_dict(payload) for name, payload in replay.calls if name == "summarize"]
    for chunk in request.chunks:
        if chunk.index in cannot_read:
            assert chunk.status == "failed" and chunk.error is not None, chunk
            assert chunk.error == (
                f"{job.video.container}/cam/v.mp4 was replaced during this analysis, "
                f"which can no longer read the version it started with (ETag {etag})"
            )
        else:
            assert chunk.status == "ok", chunk
            assert (
                results.download_blob(artefacts.chunk(job.results, chunk.index, "jsonl").name).readall()
                == detections[chunk.index]
            )
    outcome = AnalysisOutcome.from_dict(replay.output)
    summary = json.loads(summaries.download_blob(job.summary.name).readall())
    assert outcome.status == summary["status"] == ("partial" if cannot_read else "succeeded")
    assert summary["failed_chunks"] == sorted(cannot_read)
    if cannot_read:
        assert outcome.error is not None and "was replaced during this analysis" in outcome.error
    assert outcome.latest is None, "the newer version's analysis writes the latest summary"


def test_a_local_video_changed_between_chunks_fails_the_chunks_after_it(tmp_path: Path) -> None:
    """The local runner's version is the file's size and modification time, pinned when it plans."""
    (tmp_path / "videos").mkdir()
    video = clips.write_numbered(tmp_path / "videos" / "v.mp4", "mp4v", 100)
    storage = LocalStorage({"videos": tmp_path / "videos", "out": tmp_path / "out"})
    job = Job(BlobRef("videos", "v.mp4"), BlobRef("out", "v.json"), BlobRef("out", "v.chunks"), SETTINGS)
    job = replace(job, storage=storage.spec())
    plan = PlanResult.from_dict(ACTIVITIES["plan_chunks"](job.to_dict()))
    assert plan.status == "ok" and plan.spec is not None and len(plan.chunks) == 2
    first, second = (ChunkInput(job.storage, plan.spec, chunk).to_dict() for chunk in plan.chunks)
    assert ChunkOutcome.from_dict(ACTIVITIES["analyze_chunk"](first)).status == "ok"
    clips.write_numbered(tmp_path / "new.mp4", "h264", 100).replace(video)
    outcome = ChunkOutcome.from_dict(ACTIVITIES["analyze_chunk"](second))
    assert (outcome.status, outcome.error) == (
        "failed",
        f"{video} was replaced during this analysis, which can no longer read the version it started with",
    )
