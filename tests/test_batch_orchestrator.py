"""The Azure batch end to end as the host would run it: `POST /api/batches` starts `analyze_batch`, which runs through
the real SDK replay (devhost/replay.py, with its timers and continue_as_new); the storage activities run for real on
Azurite, and the two that hold a durable client are called through the indexed app with the real client in front of
`FakeTaskHub`. Between polls the "host" runs the analyses the hub holds: real ones (the real orchestrator and
activities) where counts matter, and a completion with a small summary where only who starts what matters.
"""

from __future__ import annotations

import csv
import io
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devhost.replay import Replay, ReplayHost
from scenes.generator import write_scene
from tests.conftest import DEMO_ONNX
from tests.support import clips
from tests.support.task_hub import FakeTaskHub, Instance
from tests.support.worker import APP_URL, call, http_request, trigger_blob_client
from videoanalysis.batch import BatchRow
from videoanalysis.contracts import AnalysisOutcome, BlobRef, Job

Analysis = Callable[[str, Instance], None]


@pytest.fixture
def app_storage(monkeypatch: pytest.MonkeyPatch, app_storage: dict) -> dict:
    monkeypatch.setenv("BATCH_PAGE_SIZE", "2")  # several pages, so several generations, even for a few videos
    monkeypatch.setenv("BATCH_MAX_IN_FLIGHT", "2")
    monkeypatch.setenv("CHUNK_RETRY_INTERVAL_SECONDS", "0.01")
    return app_storage


def _upload(blob_service, container: str, name: str, data: bytes) -> None:
    blob_service.get_blob_client(container, name).upload_blob(data, overwrite=True)


def _read(blob_service, ref: BlobRef) -> bytes:
    return blob_service.get_blob_client(ref.container, ref.name).download_blob().readall()


def fake_analysis(hub: FakeTaskHub, blob_service) -> Analysis:
    """What the host would have done for an analysis: its own summary written, the instance completed."""

    def run(instance_id: str, instance: Instance) -> None:
        job = Job.from_dict(instance.input)
        counts = {"car": len(job.video.name), "person": 1}
        summary = {
            "status": "succeeded",
            "error": None,
            "video": {"name": job.video.name, "duration_s": 2.5},
            "classes": {name: {"unique": count} for name, count in counts.items()},
        }
        _upload(blob_service, job.summary.container, job.summary.name, json.dumps(summary).encode())
        outcome = AnalysisOutcome("succeeded", None, job.summary, job.summary, counts)
        hub.advance(instance_id, "Completed", output=outcome.to_dict())

    return run


def real_analysis(hub: FakeTaskHub) -> Analysis:
    """The real analysis orchestration with the real activities, as the host would run the started instance."""
    from activities import ACTIVITIES
    from orchestrators.analyze_video import analyze_video

    def run(instance_id: str, instance: Instance) -> None:
        replay = ReplayHost(analyze_video, ACTIVITIES, instance_id=instance_id).run(instance.input)
        assert replay.error is None, replay.error
        hub.advance(instance_id, "Completed", output=replay.output)

    return run


def batch_activities(hub: FakeTaskHub, analysis: Analysis) -> dict[str, Callable[[Any], Any]]:
    from activities import list_videos, write_batch

    def poll_videos(payload: dict) -> dict:
        for instance_id, instance in list(hub.instances.items()):
            if instance.name == "analyze_video" and instance.runtime_status in ("Pending", "Running"):
                analysis(instance_id, instance)
        return call("poll_videos", payload=payload, client=hub.binding())

    return {
        "list_videos": list_videos,
        "start_videos": lambda payload: call("start_videos", payload=payload, client=hub.binding()),
        "poll_videos": poll_videos,
        "write_batch": write_batch,
    }


def post_batch(hub: FakeTaskHub, body: dict) -> dict:
    response = call("post_batch", req=http_request("POST", "batches", json.dumps(body).encode()), client=hub.binding())
    assert response.status_code == 202, response.get_body()
    return json.loads(response.get_body())


def run_batch(hub: FakeTaskHub, body: dict, analysis: Analysis, max_episodes: int = 10_000) -> tuple[str, Replay]:
    """POST the batch, run its orchestration to the end, and leave the hub holding what the host would."""
    batch_id = post_batch(hub, body)["id"]
    orchestration = hub.instances[batch_id]
    assert orchestration.name == "analyze_batch"
    from orchestrators.analyze_batch import analyze_batch

    host = ReplayHost(analyze_batch, batch_activities(hub, analysis), instance_id=batch_id)
    replay = host.run(orchestration.input, max_episodes)
    assert replay.error is None, replay.error
    hub.advance(batch_id, "Completed", replay.statuses[-1], replay.output)
    return batch_id, replay


def get(hub: FakeTaskHub, path: str, route_params: dict[str, str]) -> Any:
    function = "get_batch" if "leaf" not in route_params else "get_batch_file"
    request = http_request("GET", path, route_params=route_params)
    return call(function, req=request, client=hub.binding()) if function == "get_batch" else call(function, req=request)


def analyses(hub: FakeTaskHub) -> list[str]:
    """The analyses started, in order (a restart is listed again)."""
    return [instance for instance in hub.starts if hub.instances[instance].name == "analyze_video"]


def table(hub: FakeTaskHub, batch_id: str) -> dict:
    response = get(hub, f"batches/{batch_id}/json", {"batch_id": batch_id, "leaf": "json"})
    assert response.status_code == 200
    return json.loads(response.get_body())


def test_a_batch_over_a_prefix_analyses_every_video_once_and_serves_its_table(hub, app_storage, blob_service) -> None:
    """Five videos under the prefix over three pages (page size 2, two in flight): every one analysed once, rows in
    listing order, the names without a video extension ignored, nothing outside the prefix touched."""
    videos = app_storage["videos"]
    names = [f"site/cam{i}.mp4" for i in range(5)]
    for name in [*names, "site/notes.txt", "elsewhere/x.mp4"]:
        _upload(blob_service, videos, name, name.encode())
    batch_id, replay = run_batch(hub, {"prefix": "site/"}, fake_analysis(hub, blob_service))

    assert sorted(Job.from_dict(hub.instances[i].input).video.name for i in analyses(hub)) == names
    assert len(replay.inputs) >= 3, "an execution per page at least"
    status = json.loads(get(hub, f"batches/{batch_id}", {"batch_id": batch_id}).get_body())
    assert status["status"] == "Completed" and status["listing_done"] is True
    counts = {key: status[key] for key in ("videos_total", "done", "succeeded", "failed", "in_flight", "ignored")}
    assert counts == {"videos_total": 5, "done": 5, "succeeded": 5, "failed": 0, "in_flight": 0, "ignored": 1}
    root = f"{APP_URL}/api/batches/{batch_id}"
    assert status["results"] == {"csv_url": f"{root}/csv", "json_url": f"{root}/json", "index_url": f"{root}/index"}

    rows = table(hub, batch_id)["rows"]
    assert [row["video"] for row in rows] == names
    assert [row["unique"] for row in rows] == [{"car": len(name), "person": 1} for name in names]
    csv_response = get(hub, f"batches/{batch_id}/csv", {"batch_id": batch_id, "leaf": "csv"})
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    parsed = list(csv.reader(io.StringIO(csv_response.get_body().decode(), newline="")))
    assert parsed[0] == ["video", "status", "duration_s", "error", "car", "person"]
    assert parsed[1] == ["site/cam0.mp4", "succeeded", "2.5", "", "13", "1"]
    index = get(hub, f"batches/{batch_id}/index", {"batch_id": batch_id, "leaf": "index"})
    assert index.status_code == 200 and index.mimetype == "text/html"
    assert "frame-ancestors 'none'" in index.headers["Content-Security-Policy"]
    assert index.headers["X-Content-Type-Options"] == "nosniff"
    assert '<a href="../../videos/site/cam3.mp4/report">site/cam3.mp4</a>' in index.get_body().decode()


def test_a_corrupt_video_is_a_failed_row_and_the_rows_of_real_analyses_are_their_own_summaries(
    hub, app_storage, blob_service, monkeypatch, tmp_path: Path
) -> None:
    """Two real scenes and a file that is no video, analysed for real (real orchestrator, real activities, Azurite):
    the batch completes, the corrupt file's row says why, and each good row is the row of that analysis's own
    summary, counts included."""
    monkeypatch.setenv("MODEL_PATH", str(DEMO_ONNX))
    monkeypatch.setenv("CHUNK_SECONDS", "2")
    videos = app_storage["videos"]
    for seed, name in ((5, "day/a.mp4"), (7, "day/b.mp4")):
        path = tmp_path / f"{seed}.mp4"
        write_scene(path, seed=seed, seconds=3.0, size=(640, 360), codec="h264")
        _upload(blob_service, videos, name, path.read_bytes())
    _upload(blob_service, videos, "day/broken.mp4", clips.write_text(tmp_path / "t.mp4").read_bytes())
    batch_id, _ = run_batch(hub, {"prefix": "day/"}, real_analysis(hub))

    rows = {row["video"]: row for row in table(hub, batch_id)["rows"]}
    assert list(rows) == ["day/a.mp4", "day/b.mp4", "day/broken.mp4"]
    broken = rows.pop("day/broken.mp4")
    assert broken["status"] == "failed" and broken["error"] and "\n" not in broken["error"]
    for name, row in rows.items():
        (instance,) = [i for i in analyses(hub) if Job.from_dict(hub.instances[i].input).video.name == name]
        outcome = AnalysisOutcome.from_dict(hub.instances[instance].output)
        own = json.loads(_read(blob_service, outcome.summary))
        expected = BatchRow.from_summary(name, own, f"analyses/{instance}/summary", f"videos/{name}/report")
        assert row == {**expected.to_dict(), "version": row["version"]} and row["version"]
        assert row["status"] == "succeeded" and sum(row["unique"].values()) > 0, "real scenes hold objects"
    status = json.loads(get(hub, f"batches/{batch_id}", {"batch_id": batch_id}).get_body())
    assert (status["done"], status["succeeded"], status["failed"]) == (3, 2, 1)


def test_videos_analysed_or_in_flight_are_not_analysed_again_unless_forced(hub, app_storage, blob_service) -> None:
    """a.mp4 was analysed, b.mp4's upload started its analysis a moment ago (still running): a batch over a, b and c
    starts only c and waits for b's analysis. With force, the completed analyses start again; a running one never
    does (it is the analysis asked for)."""
    videos = app_storage["videos"]
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        _upload(blob_service, videos, name, name.encode())
    complete = fake_analysis(hub, blob_service)
    call("on_video_uploaded", video=trigger_blob_client(videos, "a.mp4"), client=hub.binding())
    (a_id,) = hub.starts
    complete(a_id, hub.instances[a_id])
    call("on_video_uploaded", video=trigger_blob_client(videos, "b.mp4"), client=hub.binding())
    b_id = hub.starts[-1]
    hub.advance(b_id, "Running")

    names = {"names": ["a.mp4", "b.mp4", "c.mp4"]}
    batch_id, _ = run_batch(hub, names, complete)
    starts = analyses(hub)
    assert starts.count(a_id) == 1 and starts.count(b_id) == 1 and len(starts) == 3, "only c was started"
    assert [row["status"] for row in table(hub, batch_id)["rows"]] == ["succeeded"] * 3

    _upload(blob_service, videos, "d.mp4", b"d")
    call("on_video_uploaded", video=trigger_blob_client(videos, "d.mp4"), client=hub.binding())
    d_id = hub.starts[-1]
    hub.advance(d_id, "Running")
    before = analyses(hub)
    run_batch(hub, {"names": ["d.mp4", "a.mp4", "b.mp4", "c.mp4"], "force": True}, complete)  # d is listed first
    again = analyses(hub)[len(before) :]
    assert sorted(again) == sorted(starts), "force started a, b and c again"
    assert d_id not in again and hub.calls.count(("refused", d_id)) == 0


def test_listing_that_fails_once_is_retried(hub, app_storage, blob_service, monkeypatch) -> None:
    """The first listing meets storage that refuses connections (a port nobody listens on, no SDK retries): the
    durable retry lists again and the batch completes with every video."""
    from azure.storage.blob import BlobServiceClient

    import activities.batch

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    account = "devstoreaccount1"
    key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    refusing = BlobServiceClient.from_connection_string(
        f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{account};",
        retry_total=0,
    )
    real = activities.batch.blob_service_from_env
    services = iter([refusing])
    monkeypatch.setattr(activities.batch, "blob_service_from_env", lambda: next(services, None) or real())
    for name in ("a.mp4", "b.mp4"):
        _upload(blob_service, app_storage["videos"], name, name.encode())
    batch_id, replay = run_batch(hub, {"prefix": ""}, fake_analysis(hub, blob_service))
    assert [name for name, _ in replay.calls].count("list_videos") == 2, "one refused, one retried"
    assert [row["video"] for row in table(hub, batch_id)["rows"]] == ["a.mp4", "b.mp4"]


def test_names_that_collide_stay_apart(hub, app_storage, blob_service) -> None:
    """The same file name in two folders, and a name whose instance id reads the same ("cam1-a.mp4"): three videos,
    three analyses, three rows; a name with no blob is a failed row that says so."""
    videos = app_storage["videos"]
    names = ["cam1/a.mp4", "cam2/a.mp4", "cam1-a.mp4"]
    for name in names:
        _upload(blob_service, videos, name, name.encode())
    batch_id, _ = run_batch(hub, {"names": [*names, "cam3/a.mp4"]}, fake_analysis(hub, blob_service))
    rows = table(hub, batch_id)["rows"]
    assert [row["video"] for row in rows] == [*names, "cam3/a.mp4"]
    assert [row["unique"].get("car") for row in rows[:3]] == [len(name) for name in names]
    assert rows[3]["status"] == "failed" and rows[3]["error"] == f"no blob {videos}/cam3/a.mp4"
    started = set(analyses(hub))
    assert len(started) == 3 and len({i.split("-")[-1] for i in started}) == 3
    assert len({row["summary"] for row in rows[:3]}) == 3


def test_an_analysis_purged_after_the_batch_found_it_is_read_from_its_own_summary(
    hub, app_storage, blob_service
) -> None:
    """Housekeeping purged the completed analysis between the batch's start (which found it) and its poll: the host
    answers "not found", as for a start not yet picked up; the analysis's own summary is its row."""
    videos = app_storage["videos"]
    _upload(blob_service, videos, "a.mp4", b"a")
    complete = fake_analysis(hub, blob_service)
    call("on_video_uploaded", video=trigger_blob_client(videos, "a.mp4"), client=hub.binding())
    (a_id,) = hub.starts
    complete(a_id, hub.instances[a_id])

    def purged(instance_id: str, instance: Instance) -> None:
        pytest.fail("nothing is to be analysed")

    activities = batch_activities(hub, purged)
    start = activities["start_videos"]

    def start_then_purge(payload: dict) -> dict:
        started = start(payload)
        del hub.instances[a_id]
        return started

    activities["start_videos"] = start_then_purge
    batch_id = post_batch(hub, {"names": ["a.mp4"]})["id"]
    from orchestrators.analyze_batch import analyze_batch

    host = ReplayHost(analyze_batch, activities, instance_id=batch_id)
    replay = host.run(hub.instances[batch_id].input, max_episodes=300)
    assert replay.error is None and replay.output["counts"]["succeeded"] == 1
    hub.advance(batch_id, "Completed", replay.statuses[-1], replay.output)
    (row,) = table(hub, batch_id)["rows"]
    assert row["video"] == "a.mp4" and row["unique"] == {"car": 5, "person": 1}
