"""The app's entry points besides the orchestration: the blob trigger, the HTTP API, and the batch's two activities
that hold a durable client (`triggers.batch_client`), on one blueprint.

The handlers stay plain async functions (tests call them as the host would); registration adds the bindings. The
blob trigger's container (VIDEO_CONTAINER) and event source (BLOB_TRIGGER_SOURCE) are settings read when the worker
indexes the app at start-up, so reading the environment here is safe (the orchestrator is the one that never may).
The container is resolved here rather than as `%VIDEO_CONTAINER%`, so that its default lives in settings.py alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import azure.durable_functions as df
import azure.functions as func

from triggers.batch_api import get_batch, get_batch_file, post_batch
from triggers.batch_client import poll_videos, start_videos
from triggers.blob_trigger import on_video_uploaded
from triggers.http_api import get_analysis, get_analysis_summary, get_video_summary, post_analysis
from videoanalysis.settings import Settings

STORAGE_CONNECTION = "AzureWebJobsStorage"
"""Videos live in the app's own storage account, the one `videoanalysis.storage.blob_service_from_env` reads."""


def blueprint(environ: Mapping[str, str] | None = None) -> df.Blueprint:
    environ = os.environ if environ is None else environ
    settings = Settings.from_env(environ)
    bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)
    _decorate(
        on_video_uploaded,
        bp.blob_trigger(
            arg_name="video",
            path=f"{settings.video_container}/{{name}}",
            connection=STORAGE_CONNECTION,
            source=func.BlobSource(settings.blob_trigger_source),
        ),
        bp.durable_client_input(client_name="client"),
    )
    _decorate(
        post_analysis,
        bp.route(route="analyses", methods=[func.HttpMethod.POST], auth_level=func.AuthLevel.FUNCTION),
        bp.durable_client_input(client_name="client"),
    )
    _decorate(
        get_analysis,
        bp.route(route="analyses/{instance_id}", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.FUNCTION),
        bp.durable_client_input(client_name="client"),
    )
    _decorate(
        get_analysis_summary,
        bp.route(
            route="analyses/{instance_id}/summary", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.FUNCTION
        ),
        bp.durable_client_input(client_name="client"),
    )
    _decorate(
        get_video_summary,
        bp.route(route="videos/{*path}", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.FUNCTION),
    )
    _decorate(
        post_batch,
        bp.route(route="batches", methods=[func.HttpMethod.POST], auth_level=func.AuthLevel.FUNCTION),
        bp.durable_client_input(client_name="client"),
    )
    _decorate(
        get_batch,
        bp.route(route="batches/{batch_id}", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.FUNCTION),
        bp.durable_client_input(client_name="client"),
    )
    _decorate(
        get_batch_file,
        bp.route(route="batches/{batch_id}/{leaf}", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.FUNCTION),
    )
    for activity in (start_videos, poll_videos):  # activities that start and look at analyses: they need the client
        _decorate(activity, bp.activity_trigger(input_name="payload"), bp.durable_client_input(client_name="client"))
    return bp


def _decorate(function: Callable, *decorators: Callable) -> None:
    """Apply decorators as a stack of `@` lines would (the last one first)."""
    for decorator in reversed(decorators):
        function = decorator(function)


bp = blueprint()

__all__ = ["blueprint", "bp"]
