"""Start one analysis per blob version, whoever asks (blob trigger, HTTP POST) and however often.

The instance id is a hash of container/name@ETag (and of the lines and zones, when there are any: a request with other
regions is another analysis), so every event for one upload names the same instance. A look
before the start skips an instance that exists and did not fail (a completed one included: the host would replace
it). The host's de-duplication (`overridableExistingInstanceStates: NonRunningStates` in host.json) refuses a start
on an instance that another event started a moment earlier (pending or running), and a second look turns that
refusal into "already started". A failed or terminated analysis of the same version may be started again; a new
ETag is a new analysis. A batch (`triggers.batch_client`) starts and finds its videos' analyses here too, so a
video that the trigger started, or analysed already, is one analysis whoever asked; its `force` starts a completed
analysis again, never a pending or running one (that one is the analysis asked for).
"""

from __future__ import annotations

import hashlib
import json

import azure.durable_functions as df
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

from videoanalysis import artefacts
from videoanalysis.contracts import BlobRef, Job, StorageSpec
from videoanalysis.names import instance_id
from videoanalysis.regions import Regions
from videoanalysis.settings import NO_REGIONS, Settings

ORCHESTRATOR = "analyze_video"
RESTARTABLE = frozenset(
    {OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated, OrchestrationRuntimeStatus.Canceled}
)


def job_for(video: BlobRef, instance: str, etag: str, settings: Settings) -> Job:
    """The orchestration input. Each analysis keeps its own summary (named after the instance); the video's latest
    summary (named after the video) is written too while this version is still the blob's current one."""
    return Job(
        video=video,
        summary=artefacts.own_summary(settings.summary_container, instance),
        results=artefacts.results(video, instance, settings.results_container),
        settings=settings,
        storage=StorageSpec(kind="azure", access=settings.video_access, cache_mb=settings.video_cache_mb),
        latest=artefacts.latest_summary(settings.summary_container, video.name),
        etag=etag,
        instance=instance,
    )


def analysis_id(video: BlobRef, etag: str, regions: Regions) -> str:
    """The instance of one version of the video analysed with one set of lines and zones: a POST that names its own
    regions starts an analysis of its own (its own summary, its own chunk results) instead of finding the one the
    upload started. Without regions it is the id of the version alone, as it always was."""
    if regions == NO_REGIONS:
        return instance_id(video, etag)
    digest = hashlib.sha256(json.dumps(regions.to_dict()).encode()).hexdigest()[:16]
    return instance_id(video, f"{etag}|regions={digest}")


async def start_analysis(
    client: df.DurableOrchestrationClient,
    video: BlobRef,
    etag: str,
    settings: Settings,
    retry_failed: bool = False,
    force: bool = False,
) -> tuple[str, bool]:
    """Start the analysis of this version of the video unless it exists; returns (instance id, started now).

    `retry_failed` starts a completed analysis again when its summary is partial or failed: the same instance, so
    `analyze_chunk` finds the chunks that completed and reuses them, and only the failed ones are analysed again.
    `force` starts a completed analysis again whatever its summary says (chunks of the same job, model and library
    are still reused: their results would be the same).
    """
    instance = analysis_id(video, etag, settings.count_regions)
    if not await _startable(client, instance, retry_failed, force):
        return instance, False
    try:
        await client.start_new(ORCHESTRATOR, instance, job_for(video, instance, etag, settings).to_dict())
    except Exception:  # the SDK raises a bare Exception when the host refuses the start (e.g. a duplicate)
        if not await _startable(client, instance, retry_failed=False):
            return instance, False
        raise
    return instance, True


async def _startable(
    client: df.DurableOrchestrationClient, instance: str, retry_failed: bool, force: bool = False
) -> bool:
    status = await client.get_status(instance)
    if not status or status.runtime_status in RESTARTABLE:
        return True
    if status.runtime_status != OrchestrationRuntimeStatus.Completed:
        return False
    if force:
        return True
    if not retry_failed:
        return False
    output = json.loads(status.output) if isinstance(status.output, str) else status.output
    return isinstance(output, dict) and output.get("status") in ("partial", "failed")
