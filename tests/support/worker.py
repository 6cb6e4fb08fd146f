"""Call the app's functions the way the Python worker does, with the binding values the host would send.

The worker looks a function up in what `app.get_functions()` indexed, calls `get_user_function()` (for durable
client functions that is the DFApp middleware, which turns the binding JSON into a `DurableOrchestrationClient`)
with keyword arguments, and builds SDK-type parameters with the extension's converter from the host's model
binding data.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import runpy
import uuid
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any
from unittest import mock

import azure.functions as func
import azurefunctions.extensions.bindings.blob as blob
import pytest
from azurefunctions.extensions.base import Datum

from tests.conftest import ROOT

APP_URL = "http://localhost:7071"


@functools.cache
def indexed() -> dict[str, Any]:
    """The functions of function_app.py by name, indexed once per process as the worker does. The script runs
    afresh (`app.get_functions()` may be called once per app, and other tests index the imported app)."""
    app = runpy.run_path(str(ROOT / "function_app.py"))["app"]
    return {function.get_function_name(): function for function in app.get_functions()}


def blob_trigger_blueprint(environ: Mapping[str, str]) -> Any:
    """The blob trigger's blueprint as a worker whose app settings are ``environ`` alone indexes it: the module reads
    its container and event source when it is imported, so it runs afresh here."""
    with mock.patch.object(os, "environ", dict(environ)):
        return runpy.run_path(str(ROOT / "triggers" / "blob_trigger.py"))["bp"]


def call(function_name: str, **bindings: Any) -> Any:
    return asyncio.run(call_async(function_name, **bindings))


async def call_async(function_name: str, **bindings: Any) -> Any:
    return await indexed()[function_name].get_user_function()(**bindings)


def trigger_blob_client(container: str, name: str, connection: str = "AzureWebJobsStorage") -> blob.BlobClient:
    """The `BlobClient` a blob trigger receives: the host sends only this model binding data, never the bytes."""
    content = json.dumps({"Connection": connection, "ContainerName": container, "BlobName": name})
    data = SimpleNamespace(version="1.0", source="AzureStorageBlobs", content_type="application/json", content=content)
    return blob.BlobClientConverter.decode(
        Datum(data, "model_binding_data"), trigger_metadata={}, pytype=blob.BlobClient
    )


def http_request(
    method: str, path: str, body: bytes = b"", route_params: dict[str, str] | None = None
) -> func.HttpRequest:
    """A request as the host hands it over: full URL with the function key in the query, route values parsed."""
    return func.HttpRequest(
        method,
        f"{APP_URL}/api/{path}?code=FUNCTION-KEY",
        headers={"content-type": "application/json"},
        params={"code": "FUNCTION-KEY"},
        route_params=route_params or {},
        body=body,
    )


def app_containers(monkeypatch: pytest.MonkeyPatch, connection: str, blob_service) -> Iterator[dict[str, str]]:
    """The app's storage settings on Azurite, with fresh video, results and summary containers (deleted after)."""
    names = {role: f"test-{role}-{uuid.uuid4().hex[:12]}" for role in ("videos", "results", "summaries")}
    for name in names.values():
        blob_service.create_container(name)
    monkeypatch.setenv("AzureWebJobsStorage", connection)
    monkeypatch.setenv("VIDEO_CONTAINER", names["videos"])
    monkeypatch.setenv("RESULTS_CONTAINER", names["results"])
    monkeypatch.setenv("SUMMARY_CONTAINER", names["summaries"])
    yield names
    for name in names.values():
        blob_service.delete_container(name)
