"""The blob trigger and the registration of the app's Azure surface, as the Functions host would see and call it.

The trigger runs with a real `BlobClient` on Azurite (built by the SDK-type converter from the host's model binding
data) and the real durable client in front of `FakeTaskHub`, which plays the host's side of the durable client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import typing

import azure.durable_functions as df
import azurefunctions.extensions.bindings.blob as blob
import pytest
from azurefunctions.extensions.base import meta

from devhost.replay import ReplayHost
from tests.conftest import DEMO_ONNX, ROOT
from tests.support import clips
from tests.support.task_hub import FakeTaskHub
from tests.support.worker import blob_trigger_blueprint, call, call_async, indexed, trigger_blob_client
from triggers.start import job_for
from videoanalysis.contracts import AnalysisOutcome, BlobRef
from videoanalysis.names import instance_id
from videoanalysis.settings import Settings


class ParamTypeInfo(typing.NamedTuple):
    """What the worker records per parameter when it indexes a function."""

    binding_name: str
    pytype: type | None


def _bindings(function: typing.Any) -> dict[str, dict]:
    return {raw["name"]: raw for raw in map(json.loads, function.get_raw_bindings())}


def test_blob_trigger_is_indexed_with_a_blob_client_and_a_durable_client() -> None:
    function = indexed()["on_video_uploaded"]
    assert _bindings(function) == {
        "video": {
            "direction": "IN",
            "type": "blobTrigger",
            "name": "video",
            "path": "videos/{name}",
            "connection": "AzureWebJobsStorage",
            "source": "LogsAndContainerScan",
        },
        "client": {"direction": "IN", "type": "durableClient", "name": "client"},
    }


def test_the_worker_binds_the_trigger_blob_as_an_sdk_type() -> None:
    """The worker resolves the parameter types and asks the extension's registry, which flags the binding
    `SupportsDeferredBinding`: the host then sends the blob's identity instead of its content."""
    function = indexed()["on_video_uploaded"]
    hints = typing.get_type_hints(function.get_user_function())
    assert hints["video"] is blob.BlobClient
    input_types = {b.name: ParamTypeInfo(b.type, hints.get(b.name)) for b in function.get_bindings()}
    raw, _ = meta._ConverterMeta.get_raw_bindings(function, input_types)
    deferred = {binding["name"]: binding["properties"]["SupportsDeferredBinding"] for binding in map(json.loads, raw)}
    assert deferred == {"video": True, "client": False}


@pytest.mark.parametrize(
    ("environ", "source", "path"),
    [
        ({}, "LogsAndContainerScan", "videos/{name}"),
        ({"BLOB_TRIGGER_SOURCE": "EventGrid", "VIDEO_CONTAINER": "uploads"}, "EventGrid", "uploads/{name}"),
        ({"BLOB_TRIGGER_SOURCE": " eventgrid "}, "EventGrid", "videos/{name}"),
    ],
)
def test_trigger_source_and_container_come_from_app_settings(environ: dict, source: str, path: str) -> None:
    app = df.DFApp()
    app.register_functions(blob_trigger_blueprint(environ))
    (function,) = [f for f in app.get_functions() if f.get_function_name() == "on_video_uploaded"]
    binding = _bindings(function)["video"]
    assert (binding["source"], binding["path"]) == (source, path)


def test_an_unknown_trigger_source_fails_indexing() -> None:
    with pytest.raises(ValueError, match="BLOB_TRIGGER_SOURCE must be one of LogsAndContainerScan, EventGrid"):
        blob_trigger_blueprint({"BLOB_TRIGGER_SOURCE": "Polling"})


def test_count_regions_with_a_huge_integer_fails_indexing_with_one_line() -> None:
    """JSON integers have no size limit; one too large for a float was an OverflowError with a traceback."""
    regions = '{"lines": {"door": [[' + "9" * 400 + ", 0], [1, 9]]}}"
    with pytest.raises(ValueError) as caught:
        blob_trigger_blueprint({"COUNT_REGIONS": regions})
    message = str(caught.value)
    assert message == "setting COUNT_REGIONS: line 'door': coordinates must be finite numbers, got an integer too large"


def test_host_json_refuses_to_restart_a_running_instance() -> None:
    durable = json.loads((ROOT / "host.json").read_text())["extensions"]["durableTask"]
    assert durable["overridableExistingInstanceStates"] == "NonRunningStates"


def _upload(blob_service, container: str, name: str, data: bytes) -> str:
    client = blob_service.get_blob_client(container, name)
    client.upload_blob(data, overwrite=True)
    return str(client.get_blob_properties().etag).strip('"')


def _trigger(hub: FakeTaskHub, container: str, name: str) -> None:
    call("on_video_uploaded", video=trigger_blob_client(container, name), client=hub.binding())


def test_an_upload_starts_one_analysis_of_that_version(hub, app_storage, blob_service) -> None:
    video = BlobRef(app_storage["videos"], "clips/street cam.MP4")
    etag = _upload(blob_service, video.container, video.name, b"not really a video")
    _trigger(hub, video.container, video.name)
    expected = instance_id(video, etag)
    assert hub.starts == [expected]
    started = hub.instances[expected]
    assert started.name == "analyze_video"
    assert started.input == job_for(video, expected, etag, Settings.from_env()).to_dict()
    assert started.input["results"] == {"container": app_storage["results"], "name": f"{video.name}/{expected}"}
    assert started.input["summary"] == {"container": app_storage["summaries"], "name": f"analyses/{expected}.json"}
    assert started.input["latest"] == {"container": app_storage["summaries"], "name": f"{video.name}.json"}
    assert started.input["etag"] == etag


def test_duplicate_events_start_nothing_more_and_a_changed_video_starts_again(hub, app_storage, blob_service) -> None:
    container = app_storage["videos"]
    _upload(blob_service, container, "a.mp4", b"first version")
    _trigger(hub, container, "a.mp4")
    _trigger(hub, container, "a.mp4")
    first = hub.starts[0]
    hub.advance(first, "Completed", output={"status": "succeeded"})
    _trigger(hub, container, "a.mp4")
    assert hub.starts == [first], "the same ETag must never start a second analysis, running or completed"
    _upload(blob_service, container, "a.mp4", b"second version")
    _trigger(hub, container, "a.mp4")
    assert len(hub.starts) == 2 and hub.starts[1] != first


def test_a_failed_analysis_of_the_same_version_is_started_again(hub, app_storage, blob_service) -> None:
    container = app_storage["videos"]
    _upload(blob_service, container, "a.mp4", b"video")
    _trigger(hub, container, "a.mp4")
    hub.advance(hub.starts[0], "Failed", output="Orchestrator function 'analyze_video' failed: boom")
    _trigger(hub, container, "a.mp4")
    assert hub.starts == [hub.starts[0]] * 2


def test_two_simultaneous_events_start_one_analysis(hub, app_storage, blob_service) -> None:
    """Both look before either starts (the race); the host refuses the second start, which then finds the first."""
    container = app_storage["videos"]
    _upload(blob_service, container, "a.mp4", b"video")
    hub.hold_first_looks(2)

    async def both() -> None:
        await asyncio.gather(
            *(
                call_async("on_video_uploaded", video=trigger_blob_client(container, "a.mp4"), client=hub.binding())
                for _ in range(2)
            )
        )

    asyncio.run(both())
    kinds = [kind for kind, _ in hub.calls]
    assert kinds[:2] == ["status", "status"], "the test must exercise the race: both looks before any start"
    assert kinds.count("start") == 1 and kinds.count("refused") == 1
    assert kinds[-1] == "status", "the refused event looks again and reports the existing instance"


def test_a_blob_that_is_not_a_video_is_ignored(hub, app_storage, blob_service, caplog) -> None:
    container = app_storage["videos"]
    _upload(blob_service, container, "notes.txt", b"hello")
    with caplog.at_level(logging.INFO, logger="triggers.blob_trigger"):
        _trigger(hub, container, "notes.txt")
    assert hub.calls == []
    assert "Ignoring" in caplog.text and "notes.txt" in caplog.text


def test_a_blob_deleted_since_the_event_is_ignored(hub, app_storage, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="triggers.blob_trigger"):
        _trigger(hub, app_storage["videos"], "gone.mp4")
    assert hub.calls == [] and "deleted since the event" in caplog.text


def test_an_oversize_video_ends_in_a_failed_summary(hub, app_storage, blob_service, monkeypatch, caplog) -> None:
    """The trigger starts it (no exception, so no host retries); plan_chunks refuses it; summarize writes why.
    The orchestration runs through the real SDK replay (devhost/replay.py) with the real activities on Azurite."""
    from activities import plan_chunks, summarize
    from orchestrators.analyze_video import analyze_video

    monkeypatch.setenv("MAX_VIDEO_MB", "0.001")
    container = app_storage["videos"]
    _upload(blob_service, container, "big.mp4", b"\x00" * 4096)
    with caplog.at_level(logging.WARNING, logger="triggers.blob_trigger"):
        _trigger(hub, container, "big.mp4")
    assert "over MAX_VIDEO_MB" in caplog.text
    (instance,) = hub.starts
    activities = {"plan_chunks": plan_chunks, "analyze_chunk": pytest.fail, "summarize": summarize}
    replay = ReplayHost(analyze_video, activities, instance_id=instance).run(hub.instances[instance].input)
    assert replay.error is None and replay.output["status"] == "failed"
    summary_blob = blob_service.get_blob_client(app_storage["summaries"], "big.mp4.json")
    summary = json.loads(summary_blob.download_blob().readall())
    assert summary["status"] == "failed" and "MAX_VIDEO_MB" in summary["error"]


def test_two_versions_of_one_name_each_keep_their_summary_and_the_newer_is_latest(
    hub, app_storage, blob_service, monkeypatch, tmp_path
) -> None:
    """v1 and v2 of one name; v2's analysis finishes first, v1's last. Each instance's summary is its own, and the
    name's latest summary stays v2's: v1 is no longer the blob's current version."""
    from activities import ACTIVITIES
    from orchestrators.analyze_video import analyze_video

    monkeypatch.setenv("MODEL_PATH", str(DEMO_ONNX))
    container, name = app_storage["videos"], "clips/cam.mp4"
    _upload(blob_service, container, name, b"not a video")
    _trigger(hub, container, name)
    clip = clips.write_numbered(tmp_path / "v2.mp4", "mp4v", 25)
    _upload(blob_service, container, name, clip.read_bytes())
    _trigger(hub, container, name)
    old, new = hub.starts
    outputs = {}
    for instance in (new, old):
        replay = ReplayHost(analyze_video, ACTIVITIES, instance_id=instance).run(hub.instances[instance].input)
        assert replay.error is None
        outputs[instance] = AnalysisOutcome.from_dict(replay.output)

    def read(ref: BlobRef) -> dict:
        return json.loads(blob_service.get_blob_client(ref.container, ref.name).download_blob().readall())

    assert outputs[new].summary != outputs[old].summary
    assert outputs[new].latest is not None and outputs[old].latest is None
    assert read(outputs[new].latest) == read(outputs[new].summary), "the older analysis finished last, not latest"
