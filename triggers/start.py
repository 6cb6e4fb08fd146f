"""Start one analysis per blob version, whoever asks (blob trigger, HTTP POST) and however often.

The instance id is a hash of container/name@ETag, so every event for one upload names the same instance. A look
before the start skips an instance that exists and did not fail (a completed one included: the host would replace
it). The host's de-duplication (`overridableExistingInstanceStates: NonRunningStates` in host.json) refuses a start
on an instance that another event started a moment earlier (pending or running), and a second look turns that
refusal into "already started". A failed or terminated analysis of the same version may be started again; a new
ETag is a new analysis.
"""

from __future__ import annotations

import json

import azure.durable_functions as df
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

from videoanalysis.contracts import BlobRef, Job, StorageSpec
from videoanalysis.names import instance_id
from videoanalysis.settings import Settings

ORCHESTRATOR = "analyze_video"
RESTARTABLE = frozenset(
    {OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated, OrchestrationRuntimeStatus.Canceled}
)


def job_for(video: BlobRef, instance: str, etag: str, settings: Settings) -> Job:
    """The orchestration input. Each analysis keeps its own summary (named after the instance); the video's latest
    summary (named after the video) is written too while this version is still the blob's current one."""
    return Job(
        video=video,
        summary=BlobRef(settings.summary_container, f"analyses/{instance}.json"),
        results=BlobRef(settings.results_container, f"{video.name}/{instance}"),
        settings=settings,
        storage=StorageSpec(kind="azure", access=settings.video_access, cache_mb=settings.video_cache_mb),
        latest=latest_summary_ref(video.name, settings),
        etag=etag,
        instance=instance,
    )


def latest_summary_ref(video_name: str, settings: Settings) -> BlobRef:
    return BlobRef(settings.summary_container, f"{video_name}.json")


async def start_analysis(
    client: df.DurableOrchestrationClient, video: BlobRef, etag: str, settings: Settings, retry_failed: bool = False
) -> tuple[str, bool]:
    """Start the analysis of this version of the video unless it exists; returns (instance id, started now).

    `retry_failed` starts a completed analysis again when its summary is partial or failed: the same instance, so
    `analyze_chunk` finds the chunks that completed and reuses them, and only the failed ones are analysed again.
    """
    instance = instance_id(video, etag)
    if not await _startable(client, instance, retry_failed):
        return instance, False
    try:
        await client.start_new(ORCHESTRATOR, instance, job_for(video, instance, etag, settings).to_dict())
    except Exception:  # the SDK raises a bare Exception when the host refuses the start (e.g. a duplicate)
        if not await _startable(client, instance, retry_failed=False):
            return instance, False
        raise
    return instance, True


async def _startable(client: df.DurableOrchestrationClient, instance: str, retry_failed: bool) -> bool:
    status = await client.get_status(instance)
    if not status or status.runtime_status in RESTARTABLE:
        return True
    if not retry_failed or status.runtime_status != OrchestrationRuntimeStatus.Completed:
        return False
    output = json.loads(status.output) if isinstance(status.output, str) else status.output
    return isinstance(output, dict) and output.get("status") in ("partial", "failed")
