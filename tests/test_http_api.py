"""The HTTP API as the host indexes and calls it: real `func.HttpRequest`s, storage on Azurite, and the real durable
client in front of `FakeTaskHub` (the host's side of the durable client)."""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from tests.support.task_hub import SYSTEM_KEY, FakeTaskHub
from tests.support.worker import APP_URL, call, http_request, indexed
from triggers import http_api
from triggers.http_api import INSTANCE_ID
from videoanalysis.contracts import AnalysisOutcome, BlobRef, Job
from videoanalysis.names import instance_id
from videoanalysis.regions import MAX_ZONES
from videoanalysis.report import render_report

ROUTES = {
    "post_analysis": ("analyses", ["POST"], True),
    "get_analysis": ("analyses/{instance_id}", ["GET"], True),
    "get_analysis_summary": ("analyses/{instance_id}/summary", ["GET"], True),
    "get_video_summary": ("videos/{*path}", ["GET"], False),
}


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_http_functions_are_indexed_with_route_methods_and_function_keys(name: str) -> None:
    route, methods, durable = ROUTES[name]
    bindings = {raw["name"]: raw for raw in map(json.loads, indexed()[name].get_raw_bindings())}
    assert bindings["req"] == {
        "direction": "IN",
        "type": "httpTrigger",
        "name": "req",
        "methods": methods,
        "authLevel": "FUNCTION",
        "route": route,
    }
    assert bindings["$return"] == {"direction": "OUT", "type": "http", "name": "$return"}
    assert ("client" in bindings) == durable
    assert len(bindings) == 2 + durable


def _post(hub: FakeTaskHub, body: bytes) -> func.HttpResponse:
    return call("post_analysis", req=http_request("POST", "analyses", body), client=hub.binding())


def _status(hub: FakeTaskHub, instance: str) -> func.HttpResponse:
    request = http_request("GET", f"analyses/{instance}", route_params={"instance_id": instance})
    return call("get_analysis", req=request, client=hub.binding())


def _summary(path: str) -> func.HttpResponse:
    return call("get_video_summary", req=http_request("GET", f"videos/{path}", route_params={"path": path}))


def _body(response: func.HttpResponse) -> dict:
    assert response.mimetype == "application/json"
    return json.loads(response.get_body())


def _no_secrets(response: func.HttpResponse) -> None:
    text = response.get_body().decode() + json.dumps(dict(response.headers))
    assert SYSTEM_KEY not in text and "FUNCTION-KEY" not in text and "runtime/webhooks" not in text


def test_post_starts_an_analysis_and_points_to_its_status(hub, app_storage, blob_service) -> None:
    video = BlobRef(app_storage["videos"], "clips/street cam.mp4")
    blob = blob_service.get_blob_client(video.container, video.name)
    blob.upload_blob(b"video bytes")
    expected = instance_id(video, str(blob.get_blob_properties().etag).strip('"'))

    response = _post(hub, json.dumps(video.to_dict()).encode())
    assert response.status_code == 202
    body = _body(response)
    status_url = f"{APP_URL}/api/analyses/{expected}"
    assert response.headers["Location"] == status_url
    assert body == {
        "id": expected,
        "started": True,
        "video": video.to_dict(),
        "status_url": status_url,
        "summary_url": f"{status_url}/summary",
        "latest_summary_url": f"{APP_URL}/api/videos/clips/street%20cam.mp4/summary",
        "latest_report_url": f"{APP_URL}/api/videos/clips/street%20cam.mp4/report",
    }
    _no_secrets(response)
    assert hub.starts == [expected]

    again = _post(hub, json.dumps({"url": f"{blob.url}?sv=2024&sig=secret"}).encode())
    assert again.status_code == 202 and _body(again)["started"] is False and _body(again)["id"] == expected
    assert hub.starts == [expected], "a second request for the same version starts nothing"


def test_post_for_a_missing_blob_is_404(hub, app_storage) -> None:
    response = _post(hub, json.dumps({"container": app_storage["videos"], "name": "nope.mp4"}).encode())
    assert response.status_code == 404 and "nope.mp4" in _body(response)["error"]
    assert hub.calls == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not JSON"),
        (b"{not json", "not JSON"),
        (b"[" * 1000 + b"]" * 1000, "not JSON"),  # nesting deeper than the parser's stack
        (b'["videos", "a.mp4"]', "send {"),
        (b"{}", "missing"),
        (b'{"container": "VIDEOS"}', "missing"),
        (b'{"container": "VIDEOS", "name": 7}', "missing"),
        (b'{"container": "other", "name": "a.mp4"}', "unknown container 'other'"),
        (b'{"container": "VIDEOS", "name": "../secrets/a.mp4"}', "'..'"),
        (b'{"container": "VIDEOS", "name": "clips/../../a.mp4"}', "'..'"),
        (b'{"container": "VIDEOS", "name": "/a.mp4"}', "starts or ends with '/'"),
        (b'{"container": "VIDEOS", "name": "clips//a.mp4"}', "empty"),
        (b'{"container": "VIDEOS", "name": "clips\\\\a.mp4"}', "backslash"),
        (b'{"container": "VIDEOS", "name": "a\\u0000.mp4"}', "control"),
        (b'{"container": "VIDEOS", "name": "clip\\u200b.mp4"}', "invisible"),
        (b'{"container": "VIDEOS", "name": "notes.txt"}', "video extension"),
        (b'{"url": "https://elsewhere.blob.core.windows.net/VIDEOS/a.mp4"}', "storage account"),
    ],
)
def test_post_rejects_bad_requests_before_touching_storage_or_the_host(hub, app_storage, body, message) -> None:
    response = _post(hub, body.replace(b"VIDEOS", app_storage["videos"].encode()))
    assert response.status_code == 400
    assert message in _body(response)["error"]
    assert hub.calls == []


DOOR = {"door": [[320, 0], [320, 360]]}
YARD = {"yard": [[0, 0], [100, 0], [100, 100]]}


def test_lines_and_zones_in_the_body_travel_in_the_orchestration_input(hub, app_storage, blob_service) -> None:
    """They replace COUNT_REGIONS for this analysis, which is one of its own: not the one a plain request (or the
    upload) starts, whose id stays that of the version alone; the same regions again find it."""
    video = BlobRef(app_storage["videos"], "a.mp4")
    blob_service.get_blob_client(video.container, video.name).upload_blob(b"video bytes")
    plain = _body(_post(hub, json.dumps(video.to_dict()).encode()))["id"]
    body = json.dumps({**video.to_dict(), "lines": DOOR, "zones": YARD}).encode()
    response = _post(hub, body)
    assert response.status_code == 202 and _body(response)["started"] is True
    own = _body(response)["id"]
    assert own != plain and INSTANCE_ID.fullmatch(own)
    regions = Job.from_dict(hub.instances[own].input).settings.count_regions.to_dict()
    assert regions == {"lines": DOOR, "zones": YARD}
    assert Job.from_dict(hub.instances[plain].input).settings.count_regions.to_dict() == {"lines": {}, "zones": {}}
    assert _body(_post(hub, body))["id"] == own and hub.starts == [plain, own]


@pytest.mark.parametrize(
    ("regions", "message"),
    [
        ({"lines": [[0, 0], [1, 1]]}, "'lines' must be an object of name: [[x1, y1], [x2, y2]]"),
        ({"lines": {"door": [320, 0, 320, 360]}}, "line 'door' must be [[x1, y1], [x2, y2]]"),
        ({"lines": {"door": [[5, 5], [5, 5]]}}, "line 'door' has zero length"),
        ({"zones": {"yard": [[0, 0], [1, 1]]}}, "zone 'yard' needs at least 3 points, got 2"),
        ({"zones": {"bow": [[0, 0], [10, 10], [10, 0], [0, 10]]}}, "zone 'bow' crosses itself"),
        ({"zones": {f"z{i}": YARD["yard"] for i in range(MAX_ZONES + 1)}}, f"too many zones: {MAX_ZONES + 1}"),
        ({"lines": {"a": DOOR["door"]}, "zones": {"a": YARD["yard"]}}, "the name 'a' is used twice"),
        ({"lines": {"door": [[-1, 0], [320, 360]]}}, "coordinates must be >= 0"),
    ],
    ids=[
        "not-an-object",
        "flat-list",
        "zero-length",
        "two-points",
        "self-crossing",
        "too-many",
        "same-name",
        "negative",
    ],
)
def test_bad_lines_or_zones_are_a_400_that_says_why(hub, app_storage, regions: dict, message: str) -> None:
    body = {"container": app_storage["videos"], "name": "a.mp4", **regions}
    response = _post(hub, json.dumps(body).encode())
    assert response.status_code == 400 and hub.calls == []
    error = _body(response)["error"]
    assert message in error and "\n" not in error, error


def test_status_of_an_unknown_or_malformed_id_is_404(hub, app_storage) -> None:
    assert _status(hub, "video-0123456789abcdef01234567").status_code == 404
    for malformed in ("..%2Fadmin", ".", "..", "-", "video"):  # "." would be the durable API's list-all URL
        assert _status(hub, malformed).status_code == 404
    assert [instance for _, instance in hub.calls] == ["video-0123456789abcdef01234567"], "bad ids never reach it"


@pytest.mark.parametrize("name", ["a.mp4", "clips/street cam.MP4", "..x.mp4", "ü" * 80 + ".mp4", "x" * 300 + ".mp4"])
def test_every_id_the_app_makes_passes_the_id_check(name: str) -> None:
    assert INSTANCE_ID.fullmatch(instance_id(BlobRef("videos", name), "0x8DC0123456789AB"))


def test_status_reports_progress_then_where_the_summary_is(hub, app_storage, blob_service) -> None:
    video = BlobRef(app_storage["videos"], "clips/a.mp4")
    blob_service.get_blob_client(video.container, video.name).upload_blob(b"video bytes")
    instance = _body(_post(hub, json.dumps(video.to_dict()).encode()))["id"]

    hub.advance(instance, "Running", custom_status={"stage": "analyzing", "chunks_done": 3, "chunks_total": 7})
    running = _status(hub, instance)
    assert running.status_code == 200
    body = _body(running)
    keys = {"id", "status", "progress", "created", "updated", "video", "result", "summary", "latest_summary", "error"}
    assert set(body) == keys
    assert body["status"] == "Running" and body["video"] == video.to_dict()
    assert body["progress"] == {"stage": "analyzing", "chunks_done": 3, "chunks_total": 7}
    assert body["created"].startswith("20") and body["updated"].startswith("20")
    assert body["summary"] is None and body["result"] is None
    _no_secrets(running)

    own = BlobRef(app_storage["summaries"], f"analyses/{instance}.json")
    latest = BlobRef(app_storage["summaries"], "clips/a.mp4.json")
    chart = BlobRef(app_storage["summaries"], f"analyses/{instance}.png")
    output = AnalysisOutcome("succeeded", None, own, chart, {"car": 2}, latest).to_dict()
    hub.advance(instance, "Completed", {"stage": "done", "chunks_done": 7, "chunks_total": 7}, output)
    done = _body(_status(hub, instance))
    assert done["status"] == "Completed"
    assert done["result"] == {"status": "succeeded", "error": None, "unique": {"car": 2}}
    assert done["summary"] == {**own.to_dict(), "url": f"{APP_URL}/api/analyses/{instance}/summary"}
    assert done["latest_summary"] == {**latest.to_dict(), "url": f"{APP_URL}/api/videos/clips/a.mp4/summary"}

    hub.advance(instance, "Failed", output="Orchestrator function 'analyze_video' failed: boom\n  at ...")
    failed = _body(_status(hub, instance))
    assert failed["status"] == "Failed" and failed["error"] == "Orchestrator function 'analyze_video' failed: boom"


def test_summary_is_404_until_the_summary_blob_exists(app_storage, blob_service) -> None:
    name = "clips/street cam.mp4"
    assert _summary(f"{name}/summary").status_code == 404
    summary = {"status": "succeeded", "classes": {"car": {"unique": 2}}}
    blob_service.get_blob_client(app_storage["summaries"], f"{name}.json").upload_blob(json.dumps(summary))
    response = _summary(f"{name}/summary")
    assert response.status_code == 200 and _body(response) == summary


def test_the_report_is_served_as_html_that_may_run_and_load_nothing(app_storage, blob_service) -> None:
    """The summarize activity writes `<summary>.html` beside the video's latest summary; the route serves it with a
    policy that forbids scripts, outside loads and framing, whatever the page holds."""
    name = "clips/<b>street</b> cam.mp4"
    assert _summary(f"{name}/report").status_code == 404
    page = render_report({"status": "succeeded", "video": {"name": name}, "classes": {}, "objects": []})
    blob_service.get_blob_client(app_storage["summaries"], f"{name}.html").upload_blob(page.encode())
    response = _summary(f"{name}/report")
    assert response.status_code == 200 and response.mimetype == "text/html" and response.charset == "utf-8"
    assert response.get_body().decode() == page and "&lt;b&gt;street&lt;/b&gt; cam.mp4" in page
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; img-src data:;") and "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    _no_secrets(response)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("a.mp4", 404),
        ("a.mp4/chart", 404),
        ("summary", 404),
        ("report", 404),
        ("../a.mp4/summary", 400),
        ("../a.mp4/report", 400),
        ("notes.txt/summary", 400),
    ],
)
def test_summary_paths_that_are_not_a_video_summary(app_storage, path: str, status: int) -> None:
    assert _summary(path).status_code == status


@pytest.mark.parametrize(
    ("outcome", "restarted"), [("partial", True), ("failed", True), ("succeeded", False)], ids=lambda v: str(v)
)
def test_retry_failed_starts_a_partial_analysis_again(hub, app_storage, blob_service, outcome, restarted) -> None:
    """The same instance starts again, so its completed chunks are reused (tests/test_activities.py); a plain POST
    or a successful analysis starts nothing."""
    video = BlobRef(app_storage["videos"], "a.mp4")
    blob_service.get_blob_client(video.container, video.name).upload_blob(b"video bytes")
    instance = _body(_post(hub, json.dumps(video.to_dict()).encode()))["id"]
    chart = BlobRef(app_storage["summaries"], "x.png")
    output = AnalysisOutcome(outcome, None, chart, chart, {}).to_dict()
    hub.advance(instance, "Completed", {"stage": "done", "chunks_done": 3, "chunks_total": 3}, output)
    assert _body(_post(hub, json.dumps(video.to_dict()).encode()))["started"] is False
    again = _body(_post(hub, json.dumps({**video.to_dict(), "retry_failed": True}).encode()))
    assert again["started"] is restarted and again["id"] == instance
    assert hub.starts == [instance] * (1 + restarted)


def test_retry_failed_must_be_a_boolean(hub, app_storage) -> None:
    body = {"container": app_storage["videos"], "name": "a.mp4", "retry_failed": "yes"}
    response = _post(hub, json.dumps(body).encode())
    assert response.status_code == 400 and "retry_failed" in _body(response)["error"] and hub.calls == []


HUGE = "9" * 400


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"container": "VIDEOS", "name": "a.mp4", "Lines": {}}', "unknown key 'Lines'"),
        ('{"container": "VIDEOS", "name": "a.mp4", "regions": {}}', "unknown key 'regions'"),
        ('{"container": "VIDEOS", "name": "a.mp4", "name": "b.mp4"}', "the key 'name' is given twice"),
        (
            '{"container": "VIDEOS", "name": "a.mp4", "lines": {"door": [[1, 0], [1, 9]], "door": [[2, 0], [2, 9]]}}',
            "the key 'door' is given twice",
        ),
        ('{"container": "VIDEOS", "name": "a.mp4", "zones": {"yard": [[0, 0], [9, 0], [HUGE, 9]]}}', "zone 'yard'"),
        ('{"container": "VIDEOS", "name": "a.mp4", "lines": {"door": [[HUGE, 0], [1, 9]]}}', "too large"),
    ],
    ids=["unknown-key", "unknown-regions", "duplicate-key", "duplicate-line", "huge-zone", "huge-line"],
)
def test_a_strict_schema_refuses_unknown_and_repeated_keys_and_huge_numbers(hub, app_storage, body, message) -> None:
    text = body.replace("VIDEOS", app_storage["videos"]).replace("HUGE", HUGE)
    response = _post(hub, text.encode())
    assert response.status_code == 400 and hub.calls == []
    error = _body(response)["error"]
    assert message in error and "\n" not in error and len(error) < 300, error


def test_a_body_over_the_cap_is_refused_before_it_is_parsed(hub, app_storage) -> None:
    """Valid JSON just over the cap is a 413, and so is invalid JSON (which the parser would call a 400): the size is
    checked first. At the cap, the same body is read and its name refused."""
    for name in ("x" * http_api.MAX_BODY_BYTES + ".mp4", '"' * http_api.MAX_BODY_BYTES):
        response = _post(hub, json.dumps({"container": app_storage["videos"], "name": name}).encode())
        assert response.status_code == 413 and "over the limit of 1,048,576" in _body(response)["error"]
    body = json.dumps({"container": app_storage["videos"], "name": "x" * 2000 + ".mp4"}).encode()
    padded = body[:-1] + b" " * (http_api.MAX_BODY_BYTES - len(body)) + b"}"
    assert len(padded) == http_api.MAX_BODY_BYTES
    assert _post(hub, padded).status_code == 400 and hub.calls == []
