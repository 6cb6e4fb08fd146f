"""The HTTP API: start (or find) an analysis, poll it, read its summary and its HTML report.

Responses carry our own URLs only: the durable management URLs (`create_check_status_response`) embed the task
hub's system key, so they never leave the app. Blob names from users are checked (`videoanalysis.names`) before
they reach storage or the durable client.
"""

import asyncio
import functools
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import azure.durable_functions as df
import azure.functions as func
from azure.core.exceptions import ResourceNotFoundError
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus
from azure.storage.blob import BlobServiceClient

from registration import registered
from triggers.start import start_analysis
from videoanalysis import artefacts
from videoanalysis.contracts import AnalysisOutcome, BlobRef, Job, Progress
from videoanalysis.names import video_name_problem
from videoanalysis.regions import Regions
from videoanalysis.report import CONTENT_SECURITY_POLICY
from videoanalysis.settings import Settings
from videoanalysis.storage import blob_service_from_env

INSTANCE_ID = re.compile(r"[A-Za-z0-9_.-]{1,60}-[0-9a-f]{24}")
"""Every id `videoanalysis.names.instance_id` makes matches; anything else is no analysis of ours and never reaches
the durable client's URLs."""

USAGE = (
    'send {"container": "<container>", "name": "<blob name>"} or {"url": "<blob URL>"}, '
    'optionally with "lines": {"<name>": [[x1, y1], [x2, y2]]} and "zones": {"<name>": [[x, y], ...]}'
)

REPORT_HEADERS = {
    "Content-Security-Policy": f"{CONTENT_SECURITY_POLICY}; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
"""The report is a page of our own making but shows what users named: nothing in it may run, load or frame it."""


MAX_BODY_BYTES = 2**20
"""The largest request body read: every body the API takes is a few KiB (regions at their caps, a batch's names), and
parsing tens of MiB of JSON would hold the worker's event loop for seconds before any check could refuse it."""

ANALYSIS_KEYS = ("container", "name", "url", "lines", "zones", "retry_failed")


class BadRequest(ValueError):
    """A request we answer with `status` (400) and this message."""

    status = 400


class BodyTooLarge(BadRequest):
    status = 413


@dataclass(frozen=True)
class AnalysisRequest:
    """What a POST asks for: a video, whether to retry its failed chunks, and its own lines and zones (None: the
    COUNT_REGIONS setting's)."""

    video: BlobRef
    retry_failed: bool = False
    regions: Regions | None = None


bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)


@functools.cache
def blob_service() -> BlobServiceClient:
    """One client per worker process: with a managed identity, building one costs a token request."""
    return blob_service_from_env()


@registered(
    bp.route(route="analyses", methods=[func.HttpMethod.POST], auth_level=func.AuthLevel.FUNCTION),
    bp.durable_client_input(client_name="client"),
)
async def post_analysis(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """POST /api/analyses: 202 + Location whether the analysis starts now or already exists (see `started`)."""
    settings = Settings.from_env()
    try:
        request = requested_analysis(req, settings)
    except BadRequest as error:
        return error_response(error.status, str(error))
    video = request.video
    if request.regions is not None:
        settings = settings.replace(count_regions=request.regions)
    blob = blob_service().get_blob_client(video.container, video.name)
    try:
        properties = await asyncio.to_thread(blob.get_blob_properties)
    except ResourceNotFoundError:
        return error_response(404, f"no blob {video.container}/{video.name}")
    etag = str(properties.etag).strip('"')
    instance, started = await start_analysis(client, video, etag, settings, request.retry_failed)
    root = api_root(req)
    status_url = f"{root}/analyses/{instance}"
    body = {
        "id": instance,
        "started": started,
        "video": video.to_dict(),
        "status_url": status_url,
        "summary_url": f"{status_url}/summary",
        "latest_summary_url": _summary_url(root, video.name),
        "latest_report_url": _summary_url(root, video.name, "report"),
    }
    return json_response(202, body, {"Location": status_url, "Retry-After": "10"})


@registered(
    bp.route(route="analyses/{instance_id}", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.FUNCTION),
    bp.durable_client_input(client_name="client"),
)
async def get_analysis(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """GET /api/analyses/{instance_id}: status and progress; where the summary is once it is done."""
    instance = req.route_params.get("instance_id", "")
    status = await _analysis_status(client, instance)
    if not status:
        return error_response(404, f"no analysis {instance!r}")
    return json_response(200, status_payload(status, api_root(req)))


@registered(
    bp.route(route="analyses/{instance_id}/summary", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.FUNCTION),
    bp.durable_client_input(client_name="client"),
)
async def get_analysis_summary(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """GET /api/analyses/{instance_id}/summary: this analysis's own summary, whatever was uploaded since."""
    instance = req.route_params.get("instance_id", "")
    status = await _analysis_status(client, instance)
    job = _parsed(Job, json_value(status.input_)) if status else None
    if job is None:
        return error_response(404, f"no analysis {instance!r}")
    return await blob_response(job.summary, f"no summary of analysis {instance!r} yet: it is running or failed")


async def _analysis_status(client: df.DurableOrchestrationClient, instance: str) -> DurableOrchestrationStatus | None:
    """The durable status of an id the app could have made; any other id never reaches the durable client."""
    return await client.get_status(instance, show_input=True) if INSTANCE_ID.fullmatch(instance) else None


@registered(bp.route(route="videos/{*path}", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.FUNCTION))
async def get_video_summary(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/videos/{name}/summary and /api/videos/{name}/report, where name may hold '/': the route is the
    catch-all `videos/{*path}` (a catch-all must be the last segment), and the trailing leaf is split off here."""
    settings = Settings.from_env()
    name, _, leaf = req.route_params.get("path", "").rpartition("/")
    if leaf not in ("summary", "report") or not name:
        return error_response(
            404, "no such resource; a video's summary is at /api/videos/{name}/summary, its report at .../report"
        )
    if problem := video_name_problem(name, settings.video_extensions):
        return error_response(400, problem)
    missing = f"no {leaf} for {name!r} yet: the analysis is running, has not started, or failed"
    summary = artefacts.latest_summary(settings.summary_container, name)
    if leaf == "report":
        return await blob_response(artefacts.report(summary), missing, "text/html", REPORT_HEADERS)
    return await blob_response(summary, missing)


async def blob_response(
    ref: BlobRef, missing: str, mimetype: str = "application/json", headers: dict[str, str] | None = None
) -> func.HttpResponse:
    blob = blob_service().get_blob_client(ref.container, ref.name)
    try:
        data = await asyncio.to_thread(lambda: blob.download_blob().readall())
    except ResourceNotFoundError:
        return error_response(404, missing)
    return func.HttpResponse(data, status_code=200, mimetype=mimetype, headers=headers)


def requested_analysis(req: func.HttpRequest, settings: Settings) -> AnalysisRequest:
    """The analysis a POST asks for, checked: a JSON object, a known container, a safe name with a video extension,
    and lines and zones that pass `videoanalysis.regions`' rules (all but the frame size, which planning checks)."""
    body = json_body(req, ANALYSIS_KEYS, USAGE)
    if isinstance(body.get("url"), str):
        container, name = split_blob_url(body["url"], blob_service().url)
    elif isinstance(body.get("container"), str) and isinstance(body.get("name"), str):
        container, name = body["container"], body["name"]
    else:
        raise BadRequest(f"missing or non-string fields: {USAGE}")
    if container != settings.video_container:
        raise BadRequest(f"unknown container {container!r}: videos are analysed from {settings.video_container!r}")
    if problem := video_name_problem(name, settings.video_extensions):
        raise BadRequest(problem)
    retry_failed = body.get("retry_failed", False)
    if not isinstance(retry_failed, bool):
        raise BadRequest("retry_failed must be true or false")
    return AnalysisRequest(BlobRef(container, name), retry_failed, requested_regions(body))


def json_body(req: func.HttpRequest, keys: tuple[str, ...], usage: str) -> dict[str, Any]:
    """The body as a JSON object, read under a strict schema: at most MAX_BODY_BYTES (413), no key given twice at any
    depth (a line or zone named twice would otherwise keep the last one silently), and only the `keys` a route
    knows (a misspelt "Lines" would otherwise be ignored, and the analysis run without its lines)."""
    data = req.get_body()
    if len(data) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"the body is {len(data):,} bytes, over the limit of {MAX_BODY_BYTES:,}")
    try:
        body = json.loads(data, object_pairs_hook=_unique_keys)
    except DuplicateKey as error:
        raise BadRequest(str(error)) from None
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise BadRequest(f"the body is not JSON: {usage}") from None
    if not isinstance(body, dict):
        raise BadRequest(usage)
    if unknown := [key for key in body if key not in keys]:
        raise BadRequest(f"unknown key {unknown[0]!r}: the keys are {', '.join(keys)}")
    return body


class DuplicateKey(ValueError):
    """A JSON object that names one key twice (not a parse error: it is said as it is)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(f"the key {key!r} is given twice in one object")
        result[key] = value
    return result


def requested_regions(body: dict[str, Any]) -> Regions | None:
    """The body's "lines" and "zones", which replace COUNT_REGIONS for this analysis; None when it gives neither."""
    given = {key: body[key] for key in ("lines", "zones") if key in body}
    if not given:
        return None
    try:
        return Regions.from_dict(given)
    except ValueError as error:
        raise BadRequest(str(error)) from None


def split_blob_url(url: str, service_url: str) -> tuple[str, str]:
    """(container, name) of a blob URL in the app's storage account; a SAS query string is ignored."""
    parts, service = urlsplit(url), urlsplit(service_url)
    prefix = service.path.rstrip("/") + "/"
    same_account = (parts.scheme, parts.netloc.lower()) == (service.scheme, service.netloc.lower())
    if not same_account or not parts.path.startswith(prefix):
        raise BadRequest(f"the url is not a blob in this app's storage account ({service_url})")
    container, _, name = parts.path[len(prefix) :].partition("/")
    return unquote(container), unquote(name)


def status_payload(status: DurableOrchestrationStatus, api_root: str) -> dict[str, Any]:
    """What a poller needs, from the durable status: never the status object itself (its input holds settings)."""
    job = json_value(status.input_)
    video = _parsed(BlobRef, job.get("video") if isinstance(job, dict) else None)
    progress = _parsed(Progress, json_value(status.custom_status))
    output = json_value(status.output)
    outcome = _parsed(AnalysisOutcome, output)
    runtime = status.runtime_status
    payload: dict[str, Any] = {
        "id": status.instance_id,
        "status": runtime.value if runtime else None,
        "progress": None if progress is None else progress.to_dict(),
        "created": iso(status.created_time),
        "updated": iso(status.last_updated_time),
        "video": None if video is None else video.to_dict(),
        "result": None,
        "summary": None,
        "latest_summary": None,
        "error": None,
    }
    if runtime == OrchestrationRuntimeStatus.Completed and outcome is not None:
        payload["result"] = {"status": outcome.status, "error": outcome.error, "unique": dict(outcome.unique)}
        payload["error"] = outcome.error
        own = f"{api_root}/analyses/{status.instance_id}/summary"
        payload["summary"] = {**outcome.summary.to_dict(), "url": own}
        if outcome.latest is not None and video is not None:
            payload["latest_summary"] = {**outcome.latest.to_dict(), "url": _summary_url(api_root, video.name)}
    else:
        payload["error"] = ended_error(runtime, output)
    return payload


def ended_error(runtime: OrchestrationRuntimeStatus | None, output: Any) -> str | None:
    """Why an orchestration failed or was terminated, in one line; None while it runs or once it completed."""
    if runtime not in (OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated):
        return None
    return str(output).strip().splitlines()[0] if output else runtime.value.lower()


def _parsed(record: Any, value: Any) -> Any:
    """`record.from_dict(value)`, or None for what the host holds that is not one (absent, or another shape)."""
    try:
        return record.from_dict(value)
    except (TypeError, KeyError, ValueError, AttributeError):
        return None


def json_value(value: Any) -> Any:
    """The host returns input, custom status and output as JSON values or as JSON text, depending on who wrote them."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


def api_root(req: func.HttpRequest, collection: str = "analyses") -> str:
    """The API's base URL as the caller reached it (route prefix included), without the query: `?code=` stays out.
    `collection` is the route's first segment ("analyses", "batches")."""
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}{parts.path[: parts.path.rfind('/' + collection)]}"


def _summary_url(api_root: str, video_name: str, leaf: str = "summary") -> str:
    return f"{api_root}/videos/{quote(video_name, safe='/')}/{leaf}"


def json_response(status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status_code, headers=headers, mimetype="application/json")


def error_response(status_code: int, message: str) -> func.HttpResponse:
    return json_response(status_code, {"error": message})
