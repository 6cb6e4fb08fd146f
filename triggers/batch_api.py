"""The batch routes: start a batch over a prefix of VIDEO_CONTAINER or a list of names, poll it, read its table.

`POST /api/batches` stores the batch's spec (`videoanalysis.batch_run.BatchSpec`) and starts `analyze_batch` under a
new id; backfill is this POST with the prefix of the videos already in the container ("" for all of them).
`GET /api/batches/{id}` reads the orchestration's custom status and output. The table is served from its blobs:
`.../csv`, `.../json` and `.../index` (the HTML, with the report's headers: nothing in it may run, load or frame).
"""

import asyncio
import json
import re
import uuid
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

from registration import registered
from triggers.http_api import (
    REPORT_HEADERS,
    BadRequest,
    api_root,
    blob_response,
    blob_service,
    ended_error,
    error_response,
    iso,
    json_body,
    json_response,
    json_value,
    requested_regions,
)
from videoanalysis.batch_run import BatchRef, BatchSpec, BatchState
from videoanalysis.names import name_problem, video_name_problem
from videoanalysis.settings import Settings
from videoanalysis.storage import BlobStorage

ORCHESTRATOR = "analyze_batch"
BATCH_ID = re.compile(r"batch-[0-9a-f]{24}")
BATCH_KEYS = ("prefix", "names", "lines", "zones", "force")
USAGE = (
    'send {"prefix": "<folder/>"} (all the videos under it; "" for the whole container) or '
    '{"names": ["<blob name>", ...]}, optionally with "lines", "zones" and "force": true'
)
FILES = {"csv": ("csv", "text/csv"), "json": ("json", "application/json"), "index": ("html", "text/html")}
"""The table's routes: leaf -> (the blob's suffix, its media type)."""


bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)


@registered(
    bp.route(route="batches", methods=[func.HttpMethod.POST], auth_level=func.AuthLevel.FUNCTION),
    bp.durable_client_input(client_name="client"),
)
async def post_batch(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """POST /api/batches: 202 with the batch's id and its URLs."""
    settings = Settings.from_env()
    try:
        spec = requested_batch(req, settings)
    except BadRequest as error:
        return error_response(error.status, str(error))
    batch = BatchRef(f"batch-{uuid.uuid4().hex[:24]}", settings.summary_container)
    document = json.dumps(spec.to_dict()).encode()
    await asyncio.to_thread(BlobStorage(blob_service()).write_bytes, batch.spec, document, "application/json")
    await client.start_new(ORCHESTRATOR, batch.id, BatchState.first(batch, settings).to_dict())
    status_url = f"{api_root(req, 'batches')}/batches/{batch.id}"
    body = {"id": batch.id, "status_url": status_url, **_result_urls(status_url)}
    return json_response(202, body, {"Location": status_url, "Retry-After": "30"})


@registered(
    bp.route(route="batches/{batch_id}", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.FUNCTION),
    bp.durable_client_input(client_name="client"),
)
async def get_batch(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """GET /api/batches/{batch_id}: runtime status and counts; the table's URLs once it is written."""
    batch_id = req.route_params.get("batch_id", "")
    status = await client.get_status(batch_id) if BATCH_ID.fullmatch(batch_id) else None
    if not status:
        return error_response(404, f"no batch {batch_id!r}")
    return json_response(200, batch_payload(status, f"{api_root(req, 'batches')}/batches/{batch_id}"))


@registered(
    bp.route(route="batches/{batch_id}/{leaf}", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.FUNCTION)
)
async def get_batch_file(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/batches/{batch_id}/csv, /json and /index."""
    batch_id, leaf = req.route_params.get("batch_id", ""), req.route_params.get("leaf", "")
    if not BATCH_ID.fullmatch(batch_id) or leaf not in FILES:
        return error_response(404, "no such resource; a batch's table is at /api/batches/{id}/csv, /json or /index")
    suffix, mimetype = FILES[leaf]
    ref = BatchRef(batch_id, Settings.from_env().summary_container).result(suffix)
    missing = f"no table for batch {batch_id!r} yet: it is running, failed, or does not exist"
    return await blob_response(ref, missing, mimetype, REPORT_HEADERS if leaf == "index" else None)


def requested_batch(req: func.HttpRequest, settings: Settings) -> BatchSpec:
    """The batch a POST asks for, checked as strictly as an analysis: a prefix or names, never both; safe names with
    a video extension, none twice; lines and zones by `videoanalysis.regions`' rules; force a boolean."""
    body = json_body(req, BATCH_KEYS, USAGE)
    if ("prefix" in body) == ("names" in body):
        raise BadRequest(f"give a prefix or names, one of the two: {USAGE}")
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise BadRequest("force must be true or false")
    regions = requested_regions(body)
    if regions is not None:
        settings = settings.replace(count_regions=regions)
    if "prefix" in body:
        return BatchSpec(settings.video_container, prefix=_prefix(body["prefix"]), force=force, settings=settings)
    return BatchSpec(settings.video_container, names=_names(body["names"], settings), force=force, settings=settings)


def _prefix(value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"prefix must be a string: {USAGE}")
    if value and (problem := name_problem(value.removesuffix("/"))):
        raise BadRequest(f"prefix {value!r}: {problem.replace('blob name', 'prefix')}")
    return value


def _names(value: Any, settings: Settings) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(name, str) for name in value):
        raise BadRequest(f"names must be a non-empty list of blob names: {USAGE}")
    seen: set[str] = set()
    for name in value:
        if problem := video_name_problem(name, settings.video_extensions):
            raise BadRequest(f"{name!r}: {problem}")
        if name in seen:
            raise BadRequest(f"the name {name!r} is given twice")
        seen.add(name)
    return tuple(value)


def batch_payload(status: Any, status_url: str) -> dict[str, Any]:
    """What a poller needs from the durable status (never its input)."""
    progress = json_value(status.custom_status)
    progress = progress if isinstance(progress, dict) else {}
    runtime = status.runtime_status
    counts = ("videos_total", "done", "succeeded", "partial", "failed", "in_flight", "ignored")
    payload: dict[str, Any] = {
        "id": status.instance_id,
        "status": "Running" if runtime == OrchestrationRuntimeStatus.ContinuedAsNew else runtime.value,
        "stage": progress.get("stage"),
        "listing_done": bool(progress.get("listing_done", False)),
        **{key: int(progress.get(key, 0)) for key in counts},
        "created": iso(status.created_time),
        "updated": iso(status.last_updated_time),
        "results": _result_urls(status_url) if runtime == OrchestrationRuntimeStatus.Completed else None,
        "error": ended_error(runtime, json_value(status.output)),
    }
    return payload


def _result_urls(status_url: str) -> dict[str, str]:
    return {f"{leaf}_url": f"{status_url}/{leaf}" for leaf in FILES}
