"""The orchestrator replayed through the real azure-functions-durable SDK (devhost/replay.py plays the host).

These tests pin the control flow, so the activities here are small stand-ins that return what the real ones
return in shape; tests/test_pipeline.py runs the same orchestrator with the real activities.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from azure.durable_functions.models.history.HistoryEventType import HistoryEventType as Event

from devhost.replay import START, Replay, ReplayHost
from orchestrators.analyze_video import PROGRESS_UPDATES, analyze_video
from tests.conftest import ROOT
from videoanalysis import artefacts
from videoanalysis.contracts import (
    AnalysisOutcome,
    BlobRef,
    Chunk,
    ChunkInput,
    ChunkOutcome,
    Job,
    PlanResult,
    StorageSpec,
    SummarizeInput,
    VideoInfo,
)
from videoanalysis.settings import Settings

SETTINGS = Settings(chunk_retry_attempts=2, chunk_retry_interval_seconds=1)
JOB = Job(
    video=BlobRef("videos", "street.mp4"),
    summary=BlobRef("out", "street.json"),
    results=BlobRef("out", "street.chunks"),
    settings=SETTINGS,
    storage=StorageSpec(kind="local", containers={"videos": "/data/videos", "out": "/data/out"}),
).to_dict()
VIDEO = VideoInfo(fps=25.0, frame_count=2500, duration_s=100.0, width=640, height=360, codec="h264", size_bytes=1)


def _activities(
    chunks: int,
    failing: frozenset[int] = frozenset(),
    plan_error: str | None = None,
    outages: dict[str, int] | None = None,
) -> dict:
    """Stand-ins that speak the real contracts, with no work behind them; `outages` makes an activity raise its first
    N times, as one does when storage refuses connections."""
    outages = dict(outages or {})

    def outage(name: str) -> None:
        if outages.get(name, 0) > 0:
            outages[name] -= 1
            raise ConnectionError(f"{name}: storage refused the connection")

    def plan_chunks(payload: dict) -> dict:
        outage("plan_chunks")
        job = Job.from_dict(payload)
        if plan_error:
            return PlanResult.failed(plan_error).to_dict()
        planned = tuple(Chunk(i, i * 1000, (i + 1) * 1000, max(0, i * 1000 - 500)) for i in range(chunks))
        return PlanResult("ok", video=VIDEO, spec=artefacts.job_spec(job.results), chunks=planned).to_dict()

    def analyze_chunk(payload: dict) -> dict:
        index = ChunkInput.from_dict(payload).chunk.index
        if index in failing:
            raise RuntimeError(f"decoder crashed on chunk {index}")
        return ChunkOutcome(index, "ok", frames_analyzed=50).to_dict()

    def summarize(payload: dict) -> dict:
        outage("summarize")
        request = SummarizeInput.from_dict(payload)
        failed = [chunk for chunk in request.chunks if chunk.status != "ok"]
        status = "failed" if request.plan.status != "ok" else "partial" if failed else "succeeded"
        error = request.plan.error or "; ".join(chunk.error or "" for chunk in failed) or None
        return AnalysisOutcome(status, error, request.job.summary, request.job.summary, {}).to_dict()

    return {"plan_chunks": plan_chunks, "analyze_chunk": analyze_chunk, "summarize": summarize}


def _summarized(replay: Replay) -> SummarizeInput:
    (payload,) = [payload for name, payload in replay.calls if name == "summarize"]
    return SummarizeInput.from_dict(payload)


def test_fan_out_schedules_every_chunk_in_one_batch() -> None:
    replay = ReplayHost(analyze_video, _activities(7)).run(JOB)
    assert replay.error is None and replay.output["status"] == "succeeded"
    batches = [batch for batch in replay.scheduled_per_episode if batch]
    assert batches == [["plan_chunks"], ["analyze_chunk"] * 7, ["summarize"]]
    scheduled = [call for call in replay.calls if call[0] == "analyze_chunk"]
    assert sorted(payload["chunk"]["index"] for _, payload in scheduled) == list(range(7))


@pytest.mark.parametrize("per_episode", [1, 3, 100])
def test_progress_is_reported_through_custom_status(per_episode: int) -> None:
    replay = ReplayHost(analyze_video, _activities(45), completions_per_episode=per_episode).run(JOB)
    stages = [status["stage"] for status in replay.statuses]
    assert stages[0] == "planning" and stages[-1] == "done" and "summarizing" in stages
    analyzing = [status for status in replay.statuses if status["stage"] == "analyzing"]
    done = [status["chunks_done"] for status in analyzing]
    assert done == sorted(done) and all(status["chunks_total"] == 45 for status in analyzing)
    assert len(set(done)) <= PROGRESS_UPDATES
    if per_episode < 45:
        assert len(set(done)) >= 2, "progress must move while chunks complete"
    assert replay.statuses[-1] == {"stage": "done", "chunks_done": 45, "chunks_total": 45}


def test_replaying_the_full_history_gives_the_same_actions() -> None:
    host = ReplayHost(analyze_video, _activities(5, failing=frozenset({2})))
    replay = host.run(JOB)
    again = [host.replay_once(replay.history[:end], JOB)[1] for end in (len(replay.history),) * 2]
    assert again[0] == again[1]
    assert again[0]["actions"] == replay.episodes[-1]["actions"]
    assert again[0]["output"] == replay.output


def test_a_chunk_that_keeps_failing_makes_a_partial_summary_naming_it() -> None:
    replay = ReplayHost(analyze_video, _activities(4, failing=frozenset({1}))).run(JOB)
    assert replay.error is None, "a failed chunk must not fail the orchestration"
    assert replay.output["status"] == "partial"
    failed = _summarized(replay).chunks[1]
    assert (failed.index, failed.status) == (1, "failed") and "decoder crashed on chunk 1" in (failed.error or "")
    attempts = [payload["chunk"]["index"] for name, payload in replay.calls if name == "analyze_chunk"]
    assert attempts.count(1) == SETTINGS.chunk_retry_attempts


def test_unreadable_video_ends_with_a_failed_summary_without_fan_out() -> None:
    replay = ReplayHost(analyze_video, _activities(0, plan_error="not a video")).run(JOB)
    assert replay.output["status"] == "failed" and replay.output["error"] == "not a video"
    assert [name for name, _ in replay.calls] == ["plan_chunks", "summarize"]


def test_chunk_inputs_point_at_the_stored_job_instead_of_repeating_it() -> None:
    """The job is in the plan's spec blob; a chunk input repeated N times in history stays small whatever the job."""
    big_job = {**JOB, "settings": {**JOB["settings"], "classes": ["class-name"] * 200}}
    sizes = []
    for job in (JOB, big_job):
        replay = ReplayHost(analyze_video, _activities(3)).run(job)
        inputs = [payload for name, payload in replay.calls if name == "analyze_chunk"]
        assert len(inputs) == 3 and all(set(payload) == {"storage", "spec", "chunk"} for payload in inputs)
        sizes.append(max(len(json.dumps(payload)) for payload in inputs))
    assert sizes[0] == sizes[1] < 400


def test_planning_and_summarising_are_retried_through_an_outage() -> None:
    """A storage outage at the end must not fail an analysis whose chunks are all done."""
    attempts = SETTINGS.chunk_retry_attempts
    activities = _activities(3, outages={"plan_chunks": attempts - 1, "summarize": attempts - 1})
    replay = ReplayHost(analyze_video, activities).run(JOB)
    assert replay.error is None and replay.output["status"] == "succeeded"
    names = [name for name, _ in replay.calls]
    assert names.count("plan_chunks") == names.count("summarize") == attempts
    assert names.count("analyze_chunk") == 3


def test_an_outage_longer_than_the_retries_fails_the_orchestration_with_its_reason() -> None:
    activities = _activities(3, outages={"summarize": SETTINGS.chunk_retry_attempts})
    replay = ReplayHost(analyze_video, activities).run(JOB)
    assert replay.error is not None and "storage refused the connection" in replay.error


def test_an_in_flight_orchestration_of_the_previous_deployment_still_replays() -> None:
    """A history recorded with the previous orchestrator (dict payloads; planning and summarising without retries),
    cut at every event as a deployment could find it in flight, replays through this one without an error and ends
    with the output it recorded."""
    recorded = json.loads((ROOT / "tests" / "support" / "history-c89a2ec.json").read_text())
    history, input_ = recorded["history"], recorded["input"]
    host = ReplayHost(analyze_video, {})
    for end in range(2, len(history) + 1):
        _, state = host.replay_once(history[:end], input_)
        assert not state.get("error"), (end, state.get("error"))
    assert state["isDone"] and AnalysisOutcome.from_dict(state["output"]).status == "succeeded"


def _countdown(context):
    """Waits on a durable timer, then starts again with the next number, until 3."""
    number = context.get_input()
    if number >= 3:
        return {"number": number, "at": context.current_utc_datetime.isoformat()}
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=30))
    context.continue_as_new(number + 1)


def test_the_replay_host_fires_timers_at_their_time_and_continues_as_new_with_a_fresh_history() -> None:
    replay = ReplayHost(_countdown, {}).run(0)
    assert replay.error is None and replay.inputs == [0, 1, 2, 3] and replay.output["number"] == 3
    assert datetime.fromisoformat(replay.output["at"]) >= START + timedelta(seconds=90), "3 timers of 30 s"
    events = [event for history in replay.generations for event in history]
    assert len(replay.generations) == 3
    assert all(history[1]["EventType"] == Event.EXECUTION_STARTED for history in replay.generations)
    assert [json.loads(history[1]["Input"]) for history in [*replay.generations, replay.history]] == [0, 1, 2, 3]
    created = [event["FireAt"] for event in events if event["EventType"] == Event.TIMER_CREATED]
    fired = [event["FireAt"] for event in events if event["EventType"] == Event.TIMER_FIRED]
    assert len(created) == 3 and created == fired
