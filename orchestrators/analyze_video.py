"""The analysis orchestration: plan chunks, fan out one activity per chunk, fan in, summarise.

Every step is retried under the same policy (CHUNK_RETRY_ATTEMPTS, CHUNK_RETRY_INTERVAL_SECONDS): a storage outage
while planning or summarising must not throw away the chunks, which a rerun of the same job reuses anyway
(`activities.chunks.analyze_chunk`).

Replay-safe by construction: it reads only its input and the results of activities (no I/O, clock, random or
environment), so the Functions host and the local runner (`runner.local`) drive this one function.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import azure.durable_functions as df

from orchestrators.retry import RetryPolicy
from registration import registered
from videoanalysis.contracts import (
    AnalysisOutcome,
    Chunk,
    ChunkInput,
    ChunkOutcome,
    Job,
    PlanResult,
    Progress,
    SummarizeInput,
)

PROGRESS_UPDATES = 20

bp = df.Blueprint()


@registered(bp.orchestration_trigger(context_name="context"))
def analyze_video(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    job = Job.from_dict(context.get_input())
    started_at = context.current_utc_datetime.isoformat()
    context.set_custom_status(Progress("planning", 0, 0).to_dict())
    retry = RetryPolicy(job.settings.chunk_retry_attempts, job.settings.chunk_retry_interval_seconds).options()
    plan = PlanResult.from_dict((yield context.call_activity_with_retry("plan_chunks", retry, job.to_dict())))
    results: list[ChunkOutcome] = []
    if plan.status == "ok" and plan.spec is not None:
        inputs = [ChunkInput(job.storage, plan.spec, chunk).to_dict() for chunk in plan.chunks]
        tasks = [context.call_activity_with_retry("analyze_chunk", retry, payload) for payload in inputs]
        results = yield from _fan_in(context, tasks, plan.chunks)
    context.set_custom_status(Progress("summarizing", len(results), len(plan.chunks)).to_dict())
    request = SummarizeInput(job, plan, tuple(results), started_at)
    outcome = AnalysisOutcome.from_dict((yield context.call_activity_with_retry("summarize", retry, request.to_dict())))
    context.set_custom_status(Progress("done", len(results), len(plan.chunks)).to_dict())
    return outcome.to_dict()


def _fan_in(
    context: df.DurableOrchestrationContext, tasks: list, chunks: Sequence[Chunk]
) -> Generator[Any, Any, list[ChunkOutcome]]:
    """Wait for every chunk, reporting progress, and keep going past chunks that failed after their retries.

    The first `task_any` schedules all chunks in one batch; the groups after it only wait, so progress costs
    O(chunks * PROGRESS_UPDATES) per replay instead of the O(chunks^2) of a `task_any` loop.
    """
    if not tasks:
        return []
    yield context.task_any(tasks)
    group_size = -(-len(tasks) // PROGRESS_UPDATES)
    for start in range(0, len(tasks), group_size):
        group = tasks[start : start + group_size]
        while pending := [task for task in group if not task.is_completed]:
            try:
                yield context.task_all(pending)
            except Exception:  # a chunk failed for good; its error is read from its task below
                continue
        done = sum(task.is_completed for task in tasks)
        context.set_custom_status(Progress("analyzing", done, len(tasks)).to_dict())
    return [_chunk_outcome(task.result, chunk) for task, chunk in zip(tasks, chunks, strict=True)]


def _chunk_outcome(result: Any, chunk: Chunk) -> ChunkOutcome:
    if isinstance(result, dict):
        return ChunkOutcome.from_dict(result)
    message = str(result).strip().splitlines()[0].strip() if str(result).strip() else type(result).__name__
    return ChunkOutcome.failed(chunk.index, message)
