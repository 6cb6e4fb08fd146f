"""The blob trigger: a video lands in VIDEO_CONTAINER, one analysis starts for that version of it.

The blob arrives as an SDK `BlobClient` (azurefunctions-extensions-bindings-blob), not as `func.InputStream`: the
host hands over only the blob's identity, so a multi-GB video is never pulled into the worker's memory; the function
reads the blob's properties (ETag, size) and the activities read the video itself, from storage.

Its container (VIDEO_CONTAINER) and event source (BLOB_TRIGGER_SOURCE) are settings read when the worker indexes the
app at start-up, so reading the environment here is safe (the orchestrator is the one that never may). The container
is resolved here rather than as `%VIDEO_CONTAINER%`, so that its default lives in settings.py alone.
No `from __future__ import annotations` here: the worker reads the parameter types to pick the SDK-type binding.
"""

import asyncio
import logging

import azure.durable_functions as df
import azure.functions as func
import azurefunctions.extensions.bindings.blob as blob
from azure.core.exceptions import ResourceNotFoundError

from registration import registered
from triggers.start import start_analysis
from videoanalysis.contracts import BlobRef
from videoanalysis.names import video_name_problem
from videoanalysis.settings import Settings

STORAGE_CONNECTION = "AzureWebJobsStorage"
"""Videos live in the app's own storage account, the one `videoanalysis.storage.blob_service_from_env` reads."""

log = logging.getLogger(__name__)
bp = df.Blueprint()
_indexed = Settings.from_env()


@registered(
    bp.blob_trigger(
        arg_name="video",
        path=f"{_indexed.video_container}/{{name}}",
        connection=STORAGE_CONNECTION,
        source=func.BlobSource(_indexed.blob_trigger_source),
    ),
    bp.durable_client_input(client_name="client"),
)
async def on_video_uploaded(video: blob.BlobClient, client: df.DurableOrchestrationClient) -> None:
    """Oversize videos are started too: `plan_chunks` refuses them, so they end in a failed summary with the reason
    (one place for that rule), and the trigger never throws for them, so the host does not retry them. Neither does
    it throw for a blob deleted since the event: there is nothing left to analyse."""
    settings = Settings.from_env()
    ref = BlobRef(video.container_name, video.blob_name)
    if problem := video_name_problem(ref.name, settings.video_extensions):
        log.info("Ignoring %s/%s: %s", ref.container, ref.name, problem)
        return
    try:
        properties = await asyncio.to_thread(video.get_blob_properties)
    except ResourceNotFoundError:
        log.info("Ignoring %s/%s: deleted since the event", ref.container, ref.name)
        return
    if properties.size > settings.max_video_mb * 2**20:
        log.warning(
            "%s/%s is %.0f MiB, over MAX_VIDEO_MB=%g: its analysis will end in a failed summary",
            ref.container,
            ref.name,
            properties.size / 2**20,
            settings.max_video_mb,
        )
    instance, started = await start_analysis(client, ref, str(properties.etag).strip('"'), settings)
    log.info("%s analysis %s of %s/%s", "Started" if started else "Found the", instance, ref.container, ref.name)
