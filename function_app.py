"""The Azure Functions app: blueprints only, so indexing and cold start stay cheap (no model, no torch at import).

Every other function is registered where it is defined, on its module's blueprint (`registration.registered`). The
activities are registered here by name, each as a function that imports the activity when first called: the
activities import OpenCV, numpy and the analysis library (about half of what `import function_app` used to cost),
which an instance that serves only the HTTP API, the blob trigger, the orchestrator or the timer never needs, and
the local runner's workers import them without the durable SDK.
"""

import functools
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from orchestrators.analyze_batch import bp as batch_orchestration
from orchestrators.analyze_video import bp as video_orchestration
from registration import registered
from triggers import batch_api, batch_client, blob_trigger, housekeeping, http_api

ACTIVITY_NAMES = ("plan_chunks", "analyze_chunk", "summarize", "list_videos", "write_batch")
"""The keys of `activities.ACTIVITIES`, without importing it (tests/test_app.py checks that they match)."""


HOST_JSON = Path(__file__).parent / "host.json"


def activity_threads(host: Mapping[str, Any], cores: int) -> int:
    """Threads for one activity: the host runs up to `maxConcurrentActivityFunctions` activities at once as threads of
    one worker process (the Durable extension's default: 10 per core), so each gets its share of the cores rather than
    every activity decoding and inferring with all of them."""
    at_once = host.get("extensions", {}).get("durableTask", {}).get("maxConcurrentActivityFunctions", 10 * cores)
    return max(1, cores // max(1, int(at_once)))


@functools.cache
def _share_cores() -> None:
    """Once per worker process, before any activity loads a model (ONNX Runtime and torch take the count then)."""
    from videoanalysis.models import available_cores, configure_threads

    configure_threads(activity_threads(json.loads(HOST_JSON.read_text()), available_cores()))


def _activity(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def activity(payload: dict[str, Any]) -> dict[str, Any]:
        from activities import ACTIVITIES

        _share_cores()
        return ACTIVITIES[name](payload)

    activity.__name__ = activity.__qualname__ = name  # the function's name is the activity's name
    return activity


activities = df.Blueprint()
for _name in ACTIVITY_NAMES:
    registered(activities.activity_trigger(input_name="payload"))(_activity(_name))

BLUEPRINTS = (
    video_orchestration,
    batch_orchestration,
    activities,
    blob_trigger.bp,
    http_api.bp,
    batch_api.bp,
    batch_client.bp,
    housekeeping.bp,
)

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for _blueprint in BLUEPRINTS:
    app.register_functions(_blueprint)
