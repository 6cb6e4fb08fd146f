"""The batch orchestration: list a page of videos, keep at most BATCH_MAX_IN_FLIGHT analyses running, continue as new.

One execution (a generation) lists one page (`list_videos`), starts its videos as slots free up (`start_videos`, the
same start as the blob trigger's: one analysis per video version), and polls the analyses in flight
(`poll_videos`) on a durable timer, each finished video's row going to the generation's row blob. It then continues
as new with the next continuation token, the videos still waiting or in flight, and counters, so a history holds at
most one page's events whatever the batch's size; a generation that polls `MAX_POLLS` times continues as new too,
for analyses that run long. Once the listing is done and nothing is in flight, `write_batch` writes the table.

Replay-safe: it reads only its input and activity results; the settings it needs travel in its input
(`videoanalysis.batch_run.BatchState`), those of the analyses in the batch's spec blob.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from orchestrators.retry import RetryPolicy
from registration import registered
from videoanalysis.batch_run import BatchOutcome, BatchState, Counts, InFlight, ListPage

MAX_POLLS = 100
"""Polls per generation before it continues as new: bounds the history while the same analyses run for a long time."""


bp = df.Blueprint()


@registered(bp.orchestration_trigger(context_name="context"))
def analyze_batch(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any] | None]:
    state = BatchState.from_dict(context.get_input())
    retry = RetryPolicy(state.retry_attempts, state.retry_interval_seconds).options()
    batch = state.batch.to_dict()
    pending, in_flight, counts = list(state.pending), list(state.in_flight), state.counts
    continuation, listing_done = state.continuation, state.listing_done
    if not pending and not listing_done:
        _progress(context, "listing", state, counts, len(in_flight))
        request = {
            "batch": batch,
            "generation": state.generation,
            "continuation": continuation,
            "first_index": counts.listed,
            "page_size": state.page_size,
        }
        page = ListPage.from_dict((yield context.call_activity_with_retry("list_videos", retry, request)))
        pending = list(page.videos)
        counts = counts.add(["failed"] * page.refused, listed=len(page.videos) + page.refused, ignored=page.ignored)
        continuation, listing_done = page.continuation, page.continuation is None
    polls = 0
    while (pending or in_flight) and polls < MAX_POLLS:
        if pending and len(in_flight) < state.max_in_flight:
            free = state.max_in_flight - len(in_flight)
            starting, pending = pending[:free], pending[free:]
            request = {"batch": batch, "videos": [video.to_dict() for video in starting]}
            started = yield context.call_activity_with_retry("start_videos", retry, request)
            in_flight += [InFlight.from_dict(entry) for entry in started["in_flight"]]
        _progress(context, "analyzing", state, counts, len(in_flight), listing_done)
        request = {"batch": batch, "generation": state.generation, "videos": [video.to_dict() for video in in_flight]}
        finished = (yield context.call_activity_with_retry("poll_videos", retry, request))["finished"]
        polls += 1
        done = {entry["index"] for entry in finished}
        in_flight = [video for video in in_flight if video.video.index not in done]
        counts = counts.add([entry["status"] for entry in finished])
        _progress(context, "analyzing", state, counts, len(in_flight), listing_done)
        if not pending and not listing_done:
            break  # list the next page while these run: the window stays full across pages
        if in_flight and not (done and pending):
            yield context.create_timer(context.current_utc_datetime + timedelta(seconds=state.poll_seconds))
    if pending or in_flight or not listing_done:
        following = BatchState(
            batch=state.batch,
            max_in_flight=state.max_in_flight,
            page_size=state.page_size,
            poll_seconds=state.poll_seconds,
            retry_attempts=state.retry_attempts,
            retry_interval_seconds=state.retry_interval_seconds,
            generation=state.generation + 1,
            continuation=continuation,
            listing_done=listing_done,
            pending=tuple(pending),
            in_flight=tuple(in_flight),
            counts=counts,
        )
        context.continue_as_new(following.to_dict())
        return None
    _progress(context, "writing", state, counts, 0, listing_done)
    request = {"batch": batch, "generations": state.generation, "counts": counts.to_dict()}
    outcome = BatchOutcome.from_dict((yield context.call_activity_with_retry("write_batch", retry, request)))
    _progress(context, "done", state, counts, 0, listing_done)
    return outcome.to_dict()


def _progress(
    context: df.DurableOrchestrationContext,
    stage: str,
    state: BatchState,
    counts: Counts,
    in_flight: int,
    listing_done: bool | None = None,
) -> None:
    """The custom status `GET /api/batches/{id}` reads: how many videos are listed, done, failed and in flight."""
    context.set_custom_status(
        {
            "stage": stage,
            "generation": state.generation,
            "listing_done": state.listing_done if listing_done is None else listing_done,
            "videos_total": counts.listed,
            "done": counts.done,
            "in_flight": in_flight,
            **counts.to_dict(),
        }
    )
