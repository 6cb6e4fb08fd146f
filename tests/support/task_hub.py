"""A stand-in for the Durable Functions host behind the `durableClient` binding, for testing client functions.

The Functions host cannot run here. The functions under test get the real `DurableOrchestrationClient`, built by
the DFApp middleware from the binding JSON exactly as in the worker; only the client's two HTTP calls into the host
(`get_async_request`, `post_async_request`) come here instead. `FakeTaskHub` answers them as the extension's
HttpApiHandler does (status codes and bodies of "start" and "get status"), with the Azure Storage backend's
de-duplication under `overridableExistingInstanceStates: NonRunningStates`: a start on an instance that is
Pending, Running, ContinuedAsNew or Suspended is refused (500), a start on any other state replaces it.
Every host call yields to the event loop after computing its answer, like a network round trip, and
`hold_first_looks` lines up concurrent invocations deterministically. Every call is recorded.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

client_module = importlib.import_module("azure.durable_functions.models.DurableOrchestrationClient")
"""The module, not the class of the same name that `azure.durable_functions.models` exports."""
RPC_BASE = "http://127.0.0.1:17071/durabletask/"
SYSTEM_KEY = "SYSTEM-KEY-must-never-leave-the-app"
NOT_OVERRIDABLE = ("Pending", "Running", "ContinuedAsNew", "Suspended")


@dataclass
class Instance:
    name: str
    input: Any
    runtime_status: str = "Pending"
    custom_status: Any = None
    output: Any = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))


class FakeTaskHub:
    def __init__(self) -> None:
        self.instances: dict[str, Instance] = {}
        self.calls: list[tuple[str, str]] = []  # ("status" | "start" | "refused", instance id)
        self._held_looks = 0
        self._rendezvous: asyncio.Barrier | None = None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeTaskHub:
        monkeypatch.setattr(client_module, "get_async_request", self._get)
        monkeypatch.setattr(client_module, "post_async_request", self._post)
        return self

    def binding(self) -> str:
        """The JSON the host passes for a `durableClient` binding (its URLs carry the system key)."""
        webhooks = f"http://localhost:7071/runtime/webhooks/durabletask/instances/INSTANCEID?code={SYSTEM_KEY}"
        return json.dumps(
            {
                "taskHubName": "VideoAnalysisHub",
                "creationUrls": {"createNewInstancePostUri": webhooks},
                "managementUrls": {"id": "INSTANCEID", "statusQueryGetUri": webhooks},
                "baseUrl": "http://localhost:7071/runtime/webhooks/durabletask",
                "requiredQueryStringParameters": f"code={SYSTEM_KEY}",
                "rpcBaseUrl": RPC_BASE,
            }
        )

    @property
    def starts(self) -> list[str]:
        return [instance for kind, instance in self.calls if kind == "start"]

    def advance(self, instance: str, runtime_status: str, custom_status: Any = None, output: Any = None) -> None:
        """What the orchestration would have done by now."""
        state = self.instances[instance]
        state.runtime_status, state.custom_status, state.output = runtime_status, custom_status, output
        state.updated = datetime.now(UTC)

    def hold_first_looks(self, count: int) -> None:
        """Answer the first `count` status requests only once all of them have come: simultaneous events."""
        self._held_looks, self._rendezvous = count, asyncio.Barrier(count)

    async def _get(self, url: str, function_invocation_id: str | None = None) -> list[Any]:
        instance = _path(url).removeprefix("instances/")
        self.calls.append(("status", instance))
        state = self.instances.get(instance)
        answer = (
            [404, ""]
            if state is None
            else [202 if state.runtime_status in NOT_OVERRIDABLE else 200, _status(instance, state)]
        )
        if self._held_looks and self._rendezvous:
            self._held_looks -= 1
            await self._rendezvous.wait()
        await asyncio.sleep(0)
        return answer

    async def _post(self, url: str, data: Any = None, *args: Any, **kwargs: Any) -> list[Any]:
        name, _, instance = _path(url).removeprefix("orchestrators/").partition("/")
        existing = self.instances.get(instance)
        if existing is not None and existing.runtime_status in NOT_OVERRIDABLE:
            self.calls.append(("refused", instance))
            answer = [
                500,
                {
                    "Message": "Something went wrong while processing your request",
                    "ExceptionMessage": f"An Orchestration instance with the status {existing.runtime_status} "
                    "already exists.",
                    "ExceptionType": "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException",
                },
            ]
        else:
            self.calls.append(("start", instance))
            self.instances[instance] = Instance(name, json.loads(data) if isinstance(data, str) else data)
            status_uri = f"http://localhost:7071/runtime/webhooks/durabletask/instances/{instance}?code={SYSTEM_KEY}"
            answer = [202, {"id": instance, "statusQueryGetUri": status_uri}]
        await asyncio.sleep(0)
        return answer


def _path(url: str) -> str:
    return urlsplit(url).path.removeprefix(urlsplit(RPC_BASE).path)


def _status(instance: str, state: Instance) -> dict[str, Any]:
    """HttpApiHandler's StatusResponsePayload; a Python client's input comes back as JSON text."""
    return {
        "name": state.name,
        "instanceId": instance,
        "runtimeStatus": state.runtime_status,
        "input": json.dumps(state.input),
        "customStatus": state.custom_status,
        "output": state.output,
        "createdTime": state.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lastUpdatedTime": state.updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
