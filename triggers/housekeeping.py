"""Housekeeping: once a day, purge the durable history of analyses that finished more than HISTORY_RETENTION_DAYS ago.

The task hub keeps every orchestration's history and instance row forever unless purged. The timer deletes the
instances that are Completed, Failed or Terminated and were created before the retention cut-off, with the durable
client's purge API (one request to the host, which deletes in the task hub). Running and pending analyses are never
touched, whatever their age. The summaries are blobs and stay; a purged analysis's status is gone from
`GET /api/analyses/{id}` (404), its summary is still at `summaries/analyses/{id}.json`. The results container's
per-chunk files are for a lifecycle rule of the storage account (docs/operations.md, Housekeeping).
No `from __future__ import annotations`: the worker reads the parameter types, as in blob_trigger.py.
"""

import json
import logging
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func

from registration import registered
from videoanalysis.settings import Settings

SCHEDULE = "0 30 3 * * *"
"""NCRONTAB (seconds first), in UTC unless WEBSITE_TIME_ZONE says otherwise: every day at 03:30."""
FINISHED = [
    df.OrchestrationRuntimeStatus.Completed,
    df.OrchestrationRuntimeStatus.Failed,
    df.OrchestrationRuntimeStatus.Terminated,
]
SINCE = datetime(2000, 1, 1, tzinfo=UTC)
"""The purge API needs a lower bound on the creation time: one before any instance of this app."""

log = logging.getLogger("videoanalysis")
bp = df.Blueprint()


@registered(
    bp.timer_trigger(arg_name="timer", schedule=SCHEDULE, run_on_startup=False, use_monitor=True),
    bp.durable_client_input(client_name="client"),
)
async def purge_history(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    await purge_finished(client, Settings.from_env().history_retention_days, datetime.now(UTC))


async def purge_finished(client: df.DurableOrchestrationClient, retention_days: float, now: datetime) -> int:
    """Purge finished instances created more than `retention_days` before `now`; 0 days keeps everything.

    Returns how many instances the host deleted, and logs one line `videoanalysis purge <JSON>`.
    """
    if retention_days <= 0:
        log.info("videoanalysis purge %s", json.dumps({"status": "disabled", "retention_days": retention_days}))
        return 0
    before = now - timedelta(days=retention_days)
    result = await client.purge_instance_history_by(
        created_time_from=SINCE, created_time_to=before, runtime_status=FINISHED
    )
    deleted = int(result.instances_deleted)
    fields = {"status": "ok", "retention_days": retention_days, "created_before": before.isoformat(), "purged": deleted}
    log.info("videoanalysis purge %s", json.dumps(fields))
    return deleted
