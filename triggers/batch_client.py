"""The batch's two activities that need the durable client: start (or find) its videos' analyses, and look at them.

They are activity functions with a `durableClient` input binding, which the DFApp turns into the same
`DurableOrchestrationClient` it builds for the HTTP routes and the blob trigger. Starting goes through
`triggers.start.start_analysis`, so a video the blob trigger started, or analysed already, is the same instance and is
neither started twice nor waited for as a child that never reports: the batch polls its status instead. A
sub-orchestration would not do: one created with an id that the trigger already started has no parent to report
to (the batch would wait forever), and one on a completed id would analyse the video again.
"""

import asyncio
import json
from typing import Any

import azure.durable_functions as df

from registration import registered
from triggers.http_api import json_value
from triggers.start import start_analysis
from videoanalysis import artefacts
from videoanalysis.batch_run import (
    FINISHED,
    BatchRef,
    BatchSpec,
    InFlight,
    VideoVersion,
    finished_row,
    merge_rows,
    summary_row,
)
from videoanalysis.contracts import BlobRef, StorageSpec
from videoanalysis.storage import Storage, StorageError, open_storage

STORAGE = StorageSpec(kind="azure")
bp = df.Blueprint()


@registered(bp.activity_trigger(input_name="payload"), bp.durable_client_input(client_name="client"))
async def start_videos(payload: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Start or find the analysis of each listed version; returns them as in flight (the next poll finds those that
    already finished)."""
    batch = BatchRef.from_dict(payload["batch"])
    storage = open_storage(STORAGE)
    spec = BatchSpec.from_dict(json.loads(await asyncio.to_thread(storage.read_bytes, batch.spec)))
    started = []
    for video in (VideoVersion.from_dict(entry) for entry in payload["videos"]):
        ref = BlobRef(spec.container, video.name)
        instance, _ = await start_analysis(client, ref, video.etag, spec.settings, force=spec.force)
        started.append(InFlight(video, instance).to_dict())
    return {"in_flight": started}


@registered(bp.activity_trigger(input_name="payload"), bp.durable_client_input(client_name="client"))
async def poll_videos(payload: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """The analyses of `videos` that finished, each with its row written to this generation's row blob."""
    batch = BatchRef.from_dict(payload["batch"])
    videos = [InFlight.from_dict(entry) for entry in payload["videos"]]
    statuses = await asyncio.gather(*(client.get_status(video.instance) for video in videos))
    storage = open_storage(STORAGE)
    rows = {}
    for video, status in zip(videos, statuses, strict=True):
        runtime = status.runtime_status.value if status and status.runtime_status else None
        if runtime is not None and runtime in FINISHED:
            output = json_value(status.output)
            rows[video.video.index] = await asyncio.to_thread(finished_row, video, runtime, output, storage.read_bytes)
        elif not status and (summary := await asyncio.to_thread(_own_summary, storage, video, batch)) is not None:
            rows[video.video.index] = summary_row(video, summary)
    await asyncio.to_thread(merge_rows, storage, batch.rows(int(payload["generation"])), rows)
    return {"finished": [{"index": index, "status": row.status} for index, row in rows.items()]}


def _own_summary(storage: Storage, video: InFlight, batch: BatchRef) -> dict[str, Any] | None:
    """ "Not found" is what the host answers for a start not yet picked up, and for an analysis that housekeeping
    purged since the batch found it completed: that one's own summary is still there, and is its row."""
    try:
        return json.loads(storage.read_bytes(artefacts.own_summary(batch.container, video.instance)))
    except StorageError:
        return None
