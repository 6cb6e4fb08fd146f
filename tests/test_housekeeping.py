"""The history purge timer: indexed as the host would index it, and run against the test task hub.

The Functions host cannot run here. The timer gets the real `DurableOrchestrationClient` from the DFApp middleware,
and the client's purge request (`DELETE {rpcBaseUrl}instances/?createdTimeFrom=...&createdTimeTo=...&runtimeStatus=`)
goes to `PurgingTaskHub`: the test task hub of tests/support/task_hub.py (the host's side of the durable client),
taught the host's purge, as the extension's HttpApiHandler answers it: the instances created in the range whose
status is listed are deleted, 200 with `{"instancesDeleted": n}`, or 404 when none was.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import azure.functions as func
import pytest
from azure.durable_functions import DurableOrchestrationClient

from tests.support.task_hub import RPC_BASE, FakeTaskHub, Instance, client_module
from tests.support.worker import call, indexed
from triggers import housekeeping
from videoanalysis.settings import Settings

NOW = datetime.now(UTC)


class PurgingTaskHub(FakeTaskHub):
    def __init__(self) -> None:
        super().__init__()
        self.purges: list[dict[str, list[str]]] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> PurgingTaskHub:
        super().install(monkeypatch)
        monkeypatch.setattr(client_module, "delete_async_request", self._delete)
        return self

    async def _delete(self, url: str, function_invocation_id: str | None = None) -> list[Any]:
        parts = urlsplit(url)
        assert parts.path == urlsplit(RPC_BASE).path + "instances/"
        query = parse_qs(parts.query)
        self.purges.append(query)
        since, before = (_parse_time(query[key][0]) for key in ("createdTimeFrom", "createdTimeTo"))
        statuses = set(query["runtimeStatus"][0].split(","))
        doomed = [
            name
            for name, state in self.instances.items()
            if since <= state.created <= before and state.runtime_status in statuses
        ]
        for name in doomed:
            del self.instances[name]
        return [200, {"instancesDeleted": len(doomed)}] if doomed else [404, ""]


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> PurgingTaskHub:
    hub = PurgingTaskHub().install(monkeypatch)
    for days, status in [
        (45, "Completed"), (45, "Failed"), (45, "Terminated"), (45, "Running"), (45, "Pending"),
        (31, "Completed"), (29, "Completed"), (29, "Failed"), (1, "Running"),
    ]:  # fmt: skip
        instance = Instance("analyze_video", {}, runtime_status=status, created=NOW - timedelta(days=days))
        hub.instances[f"{status.lower()}-{days}d"] = instance
    return hub


def _timer() -> func.TimerRequest:
    return func.timer.TimerRequest(past_due=False)


def test_the_timer_is_indexed_daily_with_a_durable_client() -> None:
    bindings = {raw["name"]: raw for raw in map(json.loads, indexed()["purge_history"].get_raw_bindings())}
    assert bindings["timer"] == {
        "direction": "IN",
        "type": "timerTrigger",
        "name": "timer",
        "schedule": "0 30 3 * * *",
        "runOnStartup": False,
        "useMonitor": True,
    }
    assert bindings["client"]["type"] == "durableClient"
    assert set(bindings) == {"timer", "client"}


def test_the_timer_purges_finished_analyses_older_than_the_retention(
    hub: PurgingTaskHub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("HISTORY_RETENTION_DAYS", raising=False)
    called = datetime.now(UTC)
    with caplog.at_level(logging.INFO, logger="videoanalysis"):
        call("purge_history", timer=_timer(), client=hub.binding())
    returned = datetime.now(UTC)
    assert sorted(hub.instances) == ["completed-29d", "failed-29d", "pending-45d", "running-1d", "running-45d"]
    (purge,) = hub.purges
    assert purge["runtimeStatus"] == ["Completed,Failed,Terminated"]
    cutoff = _parse_time(purge["createdTimeTo"][0]) + timedelta(days=30)
    assert called - timedelta(seconds=1) <= cutoff <= returned + timedelta(seconds=1)
    (line,) = [record.getMessage() for record in caplog.records if record.getMessage().startswith("videoanalysis")]
    logged = json.loads(line.removeprefix("videoanalysis purge "))
    assert logged["purged"] == 4 and logged["retention_days"] == 30 and logged["status"] == "ok"


def test_the_retention_is_a_setting(hub: PurgingTaskHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HISTORY_RETENTION_DAYS", "60")
    call("purge_history", timer=_timer(), client=hub.binding())
    assert len(hub.instances) == 9  # nothing is 60 days old: the host answers 404, which is no error
    monkeypatch.setenv("HISTORY_RETENTION_DAYS", "0.5")
    call("purge_history", timer=_timer(), client=hub.binding())
    assert sorted(hub.instances) == ["pending-45d", "running-1d", "running-45d"]


def test_zero_days_keeps_every_history(hub: PurgingTaskHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HISTORY_RETENTION_DAYS", "0")
    call("purge_history", timer=_timer(), client=hub.binding())
    assert hub.purges == [] and len(hub.instances) == 9


def test_a_negative_retention_is_refused() -> None:
    assert Settings().history_retention_days == 30
    with pytest.raises(ValueError, match="HISTORY_RETENTION_DAYS must be >= 0"):
        Settings.from_env({"HISTORY_RETENTION_DAYS": "-1"})


def test_the_cutoff_is_the_retention_before_the_given_time(hub: PurgingTaskHub) -> None:
    """`purge_finished` takes the time: one request, its cut-off exactly `retention_days` before it."""
    client = DurableOrchestrationClient(hub.binding())
    now = datetime(2031, 5, 2, 3, 30, tzinfo=UTC)
    assert asyncio.run(housekeeping.purge_finished(client, 7, now)) == 6  # every finished one is older
    assert len(hub.purges) == 1
    assert hub.purges[0]["createdTimeTo"] == ["2031-04-25T03:30:00.000000Z"]
    assert hub.purges[0]["createdTimeFrom"] == ["2000-01-01T00:00:00.000000Z"]
