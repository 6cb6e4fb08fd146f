"""tools/smoke.py, the deployed app's smoke test, against Azurite and a real HTTP server that stands in for the host.

The Functions host cannot run here. `HostStandIn` plays its part over real HTTP on 127.0.0.1: on a poll it first
delivers the uploads it has not yet delivered to the app's real blob trigger (as Event Grid would, one poll late),
runs each analysis that starts with the real orchestrator and activities on Azurite (`ReplayHost`, the SDK's
replay engine), and answers the status routes with the app's real HTTP functions, behind a function key. What the
test plays is only Event Grid's delivery and the host's HTTP layer; the durable client talks to `FakeTaskHub`.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from activities import ACTIVITIES
from devhost.replay import ReplayHost
from orchestrators.analyze_video import analyze_video
from tests.conftest import DEMO_ONNX
from tests.support.task_hub import FakeTaskHub
from tests.support.worker import call, trigger_blob_client
from tools import smoke
from videoanalysis.contracts import AnalysisOutcome, BlobRef

KEY = "smoke-function-key"
Finish = Callable[[FakeTaskHub, str, dict[str, Any]], None]


def orchestrate(hub: FakeTaskHub, instance: str, job: dict[str, Any]) -> None:
    """What the host's durable extension does with a started instance: run it, record how it ended."""
    hub.advance(instance, "Running")
    replay = ReplayHost(analyze_video, ACTIVITIES, instance_id=instance).run(job)
    if replay.error is None:
        hub.advance(instance, "Completed", output=replay.output)
    else:
        hub.advance(instance, "Failed", output=replay.error)


class HostStandIn(ThreadingHTTPServer):
    """Stands in for the Functions host (which cannot run here): Event Grid's delivery to the blob trigger, the
    durable extension's running of what it starts (`finish`), and the HTTP routes of the status API."""

    def __init__(self, hub: FakeTaskHub, blob_service: Any, container: str, finish: Finish, deliver: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Routes)
        self.hub, self.blob_service, self.container = hub, blob_service, container
        self.finish, self.deliver = finish, deliver
        self.delivered: set[str] = set()
        self.polls = 0
        self.lock = threading.Lock()

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api"

    def deliver_events(self) -> None:
        """Event Grid: every blob not yet delivered, one poll after it appeared (delivery takes a moment)."""
        self.polls += 1
        if not self.deliver or self.polls < 2:
            return
        for blob in self.blob_service.get_container_client(self.container).list_blobs():
            if blob.name in self.delivered:
                continue
            self.delivered.add(blob.name)
            before = set(self.hub.starts)
            call("on_video_uploaded", video=trigger_blob_client(self.container, blob.name), client=self.hub.binding())
            for instance in set(self.hub.starts) - before:
                self.finish(self.hub, instance, self.hub.instances[instance].input)


class _Routes(BaseHTTPRequestHandler):
    server: HostStandIn

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        if query.get("code") != KEY:
            return self._answer(401, b"", "text/plain")
        route = parts.path.removeprefix("/api/analyses/").split("/")
        function = {1: "get_analysis", 2: "get_analysis_summary"}.get(len(route))
        if not parts.path.startswith("/api/analyses/") or function is None:
            return self._answer(404, b'{"error": "no such route"}', "application/json")
        with self.server.lock:
            self.server.deliver_events()
            request = func.HttpRequest(
                "GET",
                f"http://127.0.0.1:{self.server.server_address[1]}{self.path}",
                headers={},
                params=query,
                route_params={"instance_id": urllib.parse.unquote(route[0])},
                body=b"",
            )
            response = call(function, req=request, client=self.server.hub.binding())
        return self._answer(response.status_code, response.get_body(), response.mimetype)

    def _answer(self, status: int, body: bytes, mimetype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", mimetype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet: the test reads the smoke tool's own line."""


@pytest.fixture
def app_storage(monkeypatch: pytest.MonkeyPatch, app_storage: dict) -> dict:
    monkeypatch.setenv("MODEL_PATH", str(DEMO_ONNX))  # the deployment's MODEL_PATH: the demo model
    return app_storage


@pytest.fixture
def host_for(monkeypatch: pytest.MonkeyPatch, app_storage: dict, blob_service) -> Iterator[Callable[..., HostStandIn]]:
    hub = FakeTaskHub().install(monkeypatch)
    servers: list[HostStandIn] = []

    def start(finish: Finish = orchestrate, deliver: bool = True) -> HostStandIn:
        server = HostStandIn(hub, blob_service, app_storage["videos"], finish, deliver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _smoke(host: HostStandIn, connection: str, container: str, *extra: str) -> int:
    argv = ["--api", host.api, "--key", KEY, "--connection-string", connection, "--container", container]
    return smoke.main([*argv, "--seconds", "3", "--interval", "0.2", *extra], environ={})


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = [line for line in (captured.out + captured.err).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_the_smoke_test_passes_when_the_app_counts_what_this_machine_counts(
    host_for, app_storage: dict, azurite_connection_string: str, capsys: pytest.CaptureFixture[str]
) -> None:
    host = host_for()
    assert _smoke(host, azurite_connection_string, app_storage["videos"], "--timeout", "240") == 0
    line = _one_line(capsys)
    assert line.startswith("smoke: ok: smoke-") and line.endswith(" s)") and "as on this machine" in line
    assert "counted nothing" not in line, line  # the clip holds objects: equal counts say something
    (instance,) = host.hub.starts
    assert host.hub.instances[instance].runtime_status == "Completed"
    assert host.polls >= 2  # the first poll came before Event Grid's delivery, and smoke waited


def _canned(summary_classes: dict[str, Any], status: str = "succeeded") -> Finish:
    """An analysis that ends at once with this summary (for the tool's failure paths; the test above runs it all)."""

    def finish(hub: FakeTaskHub, instance: str, job: dict[str, Any]) -> None:
        summary = BlobRef.from_dict(job["summary"])
        from videoanalysis.storage import blob_service_from_env

        blob = blob_service_from_env().get_blob_client(summary.container, summary.name)
        blob.upload_blob(json.dumps({"classes": summary_classes}), overwrite=True)
        unique = {name: row["unique"] for name, row in summary_classes.items()}
        chart = BlobRef(summary.container, summary.name.replace(".json", ".png"))
        outcome = AnalysisOutcome(status, None if status == "succeeded" else "boom", summary, chart, unique)
        hub.advance(instance, "Completed", output=outcome.to_dict())

    return finish


@pytest.fixture
def counted_here(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The local count, fixed: the failure paths need no second analysis."""
    counts = {"car": 2, "person": 1}
    monkeypatch.setattr(smoke, "local_counts", lambda video, model, folder: dict(counts))
    return counts


def test_different_counts_fail_in_one_line(
    host_for, app_storage, azurite_connection_string, counted_here, capsys: pytest.CaptureFixture[str]
) -> None:
    host = host_for(_canned({"car": {"unique": 3}, "person": {"unique": 1}}))
    assert _smoke(host, azurite_connection_string, app_storage["videos"], "--timeout", "30") == 1
    line = _one_line(capsys)
    assert line.startswith("smoke: failed: smoke-")
    assert line.endswith("counted car 3, person 1 on the app, car 2, person 1 on this machine")


def test_a_failed_analysis_fails_in_one_line(
    host_for, app_storage, azurite_connection_string, counted_here, capsys: pytest.CaptureFixture[str]
) -> None:
    host = host_for(_canned({}, status="failed"))
    assert _smoke(host, azurite_connection_string, app_storage["videos"], "--timeout", "30") == 1
    assert _one_line(capsys).endswith("ended failed: boom")


def test_no_trigger_event_times_out_in_one_line(
    host_for, app_storage, azurite_connection_string, counted_here, capsys: pytest.CaptureFixture[str]
) -> None:
    """No Event Grid subscription (the postdeploy hook did not run): the upload never starts an analysis."""
    host = host_for(deliver=False)
    assert _smoke(host, azurite_connection_string, app_storage["videos"], "--timeout", "1.5") == 1
    line = _one_line(capsys)
    assert line.startswith("smoke: failed: no result for analysis smoke-")
    assert line.endswith("after 2 s (last: not started (no blob trigger event yet))")
    assert host.hub.starts == []


def test_a_wrong_key_fails_in_one_line(
    host_for, app_storage, azurite_connection_string, counted_here, capsys: pytest.CaptureFixture[str]
) -> None:
    host = host_for()
    argv = ["--api", host.api, "--key", "not-the-key", "--connection-string", azurite_connection_string]
    assert smoke.main([*argv, "--container", app_storage["videos"], "--seconds", "1"], environ={}) == 1
    assert _one_line(capsys).endswith("HTTP 401 Unauthorized")


def test_without_the_deployment_it_says_what_to_give(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert smoke.main([], environ={}) == 1
    assert _one_line(capsys) == "smoke: failed: give --api and --account (or run `make smoke` after `azd up`)"
