"""The batch routes as the host indexes and calls them: bad bodies, the body cap, the strict schema, unknown ids, and
the status of a batch that is still running (the whole run is in tests/test_batch_orchestrator.py)."""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from tests.support.task_hub import SYSTEM_KEY, FakeTaskHub
from tests.support.worker import APP_URL, call, http_request, indexed
from videoanalysis.batch_run import BatchRef, BatchSpec, BatchState

ROUTES = {
    "post_batch": ("batches", ["POST"], True),
    "get_batch": ("batches/{batch_id}", ["GET"], True),
    "get_batch_file": ("batches/{batch_id}/{leaf}", ["GET"], False),
}


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_batch_routes_are_indexed_with_their_methods_and_function_keys(name: str) -> None:
    route, methods, durable = ROUTES[name]
    bindings = {raw["name"]: raw for raw in map(json.loads, indexed()[name].get_raw_bindings())}
    assert bindings["req"]["route"] == route and bindings["req"]["methods"] == methods
    assert bindings["req"]["authLevel"] == "FUNCTION" and ("client" in bindings) == durable


def _post(hub: FakeTaskHub, body: bytes) -> func.HttpResponse:
    return call("post_batch", req=http_request("POST", "batches", body), client=hub.binding())


def _body(response: func.HttpResponse) -> dict:
    return json.loads(response.get_body())


def test_post_stores_the_spec_and_starts_the_batch(hub, app_storage, blob_service) -> None:
    door = {"door": [[320, 0], [320, 360]]}
    response = _post(hub, json.dumps({"names": ["a.mp4", "b/c.mp4"], "lines": door, "force": True}).encode())
    assert response.status_code == 202
    body = _body(response)
    status_url = f"{APP_URL}/api/batches/{body['id']}"
    assert body == {
        "id": body["id"],
        "status_url": status_url,
        "csv_url": f"{status_url}/csv",
        "json_url": f"{status_url}/json",
        "index_url": f"{status_url}/index",
    }
    assert response.headers["Location"] == status_url and SYSTEM_KEY not in response.get_body().decode()
    assert hub.starts == [body["id"]] and hub.instances[body["id"]].name == "analyze_batch"
    state = BatchState.from_dict(hub.instances[body["id"]].input)
    assert state.batch == BatchRef(body["id"], app_storage["summaries"]) and state.max_in_flight == 10
    blob = blob_service.get_blob_client(app_storage["summaries"], f"batches/{body['id']}/spec.json")
    spec = BatchSpec.from_dict(json.loads(blob.download_blob().readall()))
    assert spec.names == ("a.mp4", "b/c.mp4") and spec.prefix is None and spec.force is True
    assert spec.container == app_storage["videos"] and spec.settings.count_regions.to_dict()["lines"] == door


HUGE = "9" * 400


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "not JSON"),
        ("[]", "send {"),
        ("{}", "a prefix or names, one of the two"),
        ('{"prefix": "a/", "names": ["a.mp4"]}', "a prefix or names, one of the two"),
        ('{"prefix": 7}', "prefix must be a string"),
        ('{"prefix": "../x/"}', "'..'"),
        ('{"names": []}', "non-empty list"),
        ('{"names": "a.mp4"}', "non-empty list"),
        ('{"names": ["a.mp4", 3]}', "non-empty list"),
        ('{"names": ["notes.txt"]}', "video extension"),
        ('{"names": ["../a.mp4"]}', "'..'"),
        ('{"names": ["a.mp4", "a.mp4"]}', "the name 'a.mp4' is given twice"),
        ('{"prefix": "", "force": "yes"}', "force must be true or false"),
        ('{"prefix": "", "Force": true}', "unknown key 'Force'"),
        ('{"prefix": "", "prefix": "x/"}', "the key 'prefix' is given twice"),
        (
            '{"prefix": "", "zones": {"z": [[0, 0], [1, 0], [1, 1]], "z": [[0, 0], [2, 0], [2, 2]]}}',
            "'z' is given twice",
        ),
        ('{"prefix": "", "lines": {"door": [[HUGE, 0], [1, 1]]}}', "too large"),
        ('{"prefix": "", "lines": {"door": [[1, 1], [1, 1]]}}', "zero length"),
    ],
)
def test_bad_bodies_are_a_400_with_one_line(hub, app_storage, body: str, message: str) -> None:
    response = _post(hub, body.replace("HUGE", HUGE).encode())
    assert response.status_code == 400 and hub.calls == []
    error = _body(response)["error"]
    assert message in error and "\n" not in error, error


def test_a_body_over_the_cap_is_413(hub, app_storage) -> None:
    names = [f"v{i:07d}.mp4" for i in range(90_000)]
    response = _post(hub, json.dumps({"names": names}).encode())
    assert response.status_code == 413 and "over the limit" in _body(response)["error"] and hub.calls == []


def test_status_of_a_running_batch_and_unknown_ids(hub, app_storage) -> None:
    batch_id = _body(_post(hub, b'{"prefix": ""}'))["id"]
    progress = {"stage": "analyzing", "listing_done": False, "videos_total": 200, "done": 40, "succeeded": 38}
    hub.advance(batch_id, "ContinuedAsNew", {**progress, "failed": 2, "in_flight": 10, "ignored": 3})
    request = http_request("GET", f"batches/{batch_id}", route_params={"batch_id": batch_id})
    body = _body(call("get_batch", req=request, client=hub.binding()))
    assert body["status"] == "Running" and body["results"] is None and body["error"] is None
    assert {key: body[key] for key in ("videos_total", "done", "failed", "in_flight", "listing_done")} == {
        "videos_total": 200,
        "done": 40,
        "failed": 2,
        "in_flight": 10,
        "listing_done": False,
    }
    hub.advance(batch_id, "Failed", output="Orchestrator function 'analyze_batch' failed: storage\n at ...")
    body = _body(call("get_batch", req=request, client=hub.binding()))
    assert body["status"] == "Failed" and body["error"] == "Orchestrator function 'analyze_batch' failed: storage"
    calls = len(hub.calls)
    for unknown in ("batch-0123456789abcdef01234567", "..", "batch-x", "a.mp4-0123456789abcdef01234567"):
        request = http_request("GET", f"batches/{unknown}", route_params={"batch_id": unknown})
        assert call("get_batch", req=request, client=hub.binding()).status_code == 404
    assert len(hub.calls) == calls + 1, "only a well-formed batch id reaches the host"


@pytest.mark.parametrize(
    ("batch_id", "leaf"),
    [("batch-0123456789abcdef01234567", "csv"), ("batch-x", "csv"), ("batch-0123456789abcdef01234567", "xlsx")],
)
def test_the_table_is_404_until_written_and_for_other_paths(app_storage, batch_id: str, leaf: str) -> None:
    request = http_request("GET", f"batches/{batch_id}/{leaf}", route_params={"batch_id": batch_id, "leaf": leaf})
    response = call("get_batch_file", req=request)
    assert response.status_code == 404 and "\n" not in _body(response)["error"]
