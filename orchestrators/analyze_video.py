"""The analysis orchestration: plan chunks, fan out one activity per chunk, fan in, summarise.

Replay-safe by construction: it reads only its input and the results of activities (no I/O, clock, random or
environment), so the Functions host and the local runner (`videoanalysis.local`) drive this one function.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import azure.durable_functions as df

PROGRESS_UPDATES = 20


def analyze_video(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict]:
    job: dict = context.get_input()
    started_at = context.current_utc_datetime.isoformat()
    context.set_custom_status(_progress("planning", 0, 0))
    plan = yield context.call_activity("plan_chunks", job)
    chunks: list[dict] = plan.get("chunks", [])
    results: list[dict] = []
    if plan["status"] == "ok":
        settings = job["settings"]
        retry = df.RetryOptions(
            first_retry_interval_in_milliseconds=max(1, int(settings["chunk_retry_interval_seconds"] * 1000)),
            max_number_of_attempts=settings["chunk_retry_attempts"],
        )
        tasks = [
            context.call_activity_with_retry(
                "analyze_chunk", retry, {"storage": job["storage"], "spec": plan["spec"], "chunk": chunk}
            )
            for chunk in chunks
        ]
        results = yield from _fan_in(context, tasks, chunks)
    context.set_custom_status(_progress("summarizing", len(results), len(chunks)))
    summary = yield context.call_activity(
        "summarize", {"job": job, "plan": plan, "chunks": results, "started_at": started_at}
    )
    context.set_custom_status(_progress("done", len(results), len(chunks)))
    return summary


def _fan_in(context: df.DurableOrchestrationContext, tasks: list, chunks: Sequence[dict]) -> Generator[Any, Any, list]:
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
        context.set_custom_status(_progress("analyzing", done, len(tasks)))
    return [_chunk_result(task.result, chunk) for task, chunk in zip(tasks, chunks, strict=True)]


def _chunk_result(result: Any, chunk: dict) -> dict:
    if isinstance(result, dict):
        return result
    message = str(result).strip().splitlines()[0].strip() if str(result).strip() else type(result).__name__
    return {"index": chunk["index"], "status": "failed", "error": message}


def _progress(stage: str, done: int, total: int) -> dict:
    return {"stage": stage, "chunks_done": done, "chunks_total": total}
