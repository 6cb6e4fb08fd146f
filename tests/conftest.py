"""Shared fixtures: an offline, side-effect-free Ultralytics, and a real Azurite for every storage test."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["YOLO_OFFLINE"] = "1"
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo-config-"))
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="matplotlib-"))

ROOT = Path(__file__).resolve().parent.parent
DEMO_MODEL = ROOT / "models" / "demo-yolo26n.pt"
DEMO_ONNX = ROOT / "models" / "demo-yolo26n-int8.onnx"  # the demo default: the runner's `demo` and the example settings


@pytest.fixture(scope="session")
def azurite_connection_string() -> str:
    """Azurite started by tools/with_azurite.sh (`make test`); missing or unreachable fails, it never skips."""
    value = os.environ.get("AZURITE_CONNECTION_STRING")
    if not value:
        pytest.fail("AZURITE_CONNECTION_STRING is not set: run the tests with `make test` (it starts Azurite)")
    from azure.storage.blob import BlobServiceClient

    try:
        BlobServiceClient.from_connection_string(value).get_service_properties(timeout=10)
    except Exception as error:  # any failure to reach the emulator fails the test
        pytest.fail(f"Azurite is not reachable: {error}")
    return value


@pytest.fixture
def blob_service(azurite_connection_string: str):
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(azurite_connection_string)


@pytest.fixture
def container(blob_service) -> Iterator:
    """A fresh container, deleted afterwards."""
    client = blob_service.create_container(f"test-{uuid.uuid4().hex[:16]}")
    yield client
    client.delete_container()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch):
    """The stand-in for the Functions host behind the `durableClient` binding (`tests/support/task_hub.py`)."""
    from tests.support.task_hub import FakeTaskHub

    return FakeTaskHub().install(monkeypatch)


@pytest.fixture
def app_storage(monkeypatch: pytest.MonkeyPatch, azurite_connection_string: str, blob_service) -> Iterator[dict]:
    """The app's storage settings on fresh Azurite containers; the HTTP API's cached client is dropped around it."""
    from tests.support.worker import app_containers
    from triggers import http_api

    http_api.blob_service.cache_clear()
    yield from app_containers(monkeypatch, azurite_connection_string, blob_service)
    http_api.blob_service.cache_clear()
