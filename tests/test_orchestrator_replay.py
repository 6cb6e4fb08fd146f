"""The orchestrator replayed through the real azure-functions-durable SDK (tests/durable_host.py plays the host).

These tests pin the control flow, so the activities here are small stand-ins that return what the real ones
return in shape; tests/test_pipeline.py runs the same orchestrator with the real activities.
"""

from __future__ import annotations

import json

import pytest

from orchestrators.analyze_video import PROGRESS_UPDATES, analyze_video
from tests.durable_host import ReplayHost
from videoanalysis.settings import Settings

JOB = {"settings": Settings(chunk_retry_attempts=2, chunk_retry_interval_seconds=1).to_dict(), "storage": {}}


def _activities(chunks: int, failing: frozenset[int] = frozenset(), plan_error: str | None = None) -> dict:
    def plan_chunks(job: dict) -> dict:
        if plan_error:
            return {"status": "failed", "error": plan_error, "video": None, "chunks": []}
        chunks_ = [{"index": i} for i in range(chunks)]
        return {"status": "ok", "error": None, "video": {"fps": 25.0}, "spec": {}, "chunks": chunks_}

    def analyze_chunk(payload: dict) -> dict:
        index = payload["chunk"]["index"]
        if index in failing:
            raise RuntimeError(f"decoder crashed on chunk {index}")
        return {"index": index, "status": "ok", "error": None, "frames_analyzed": 50}

    def summarize(payload: dict) -> dict:
        failed = [chunk["index"] for chunk in payload["chunks"] if chunk["status"] != "ok"]
        status = "failed" if payload["plan"]["status"] != "ok" else "partial" if failed else "succeeded"
        return {"status": status, "failed": failed, "chunks": payload["chunks"], "error": payload["plan"]["error"]}

    return {"plan_chunks": plan_chunks, "analyze_chunk": analyze_chunk, "summarize": summarize}


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
    assert replay.output["status"] == "partial" and replay.output["failed"] == [1]
    failed = replay.output["chunks"][1]
    assert failed["index"] == 1 and "decoder crashed on chunk 1" in failed["error"]
    attempts = [payload["chunk"]["index"] for name, payload in replay.calls if name == "analyze_chunk"]
    assert attempts.count(1) == JOB["settings"]["chunk_retry_attempts"]


def test_unreadable_video_ends_with_a_failed_summary_without_fan_out() -> None:
    replay = ReplayHost(analyze_video, _activities(0, plan_error="not a video")).run(JOB)
    assert replay.output["status"] == "failed" and replay.output["error"] == "not a video"
    assert [name for name, _ in replay.calls] == ["plan_chunks", "summarize"]


def test_history_holds_only_small_payloads() -> None:
    replay = ReplayHost(analyze_video, _activities(20)).run(JOB)
    completed = [json.loads(event["Result"]) for event in replay.history if "Result" in event]
    chunk_results = [result for result in completed if "frames_analyzed" in result]
    assert chunk_results and all(len(json.dumps(result)) < 300 for result in chunk_results)


def test_chunk_inputs_point_at_the_stored_job_instead_of_repeating_it() -> None:
    """The job is in the plan's spec blob; a chunk input repeated N times in history stays small whatever the job."""
    job = {**JOB, "settings": {**JOB["settings"], "classes": ["class-name"] * 200}}
    replay = ReplayHost(analyze_video, _activities(3)).run(job)
    inputs = [payload for name, payload in replay.calls if name == "analyze_chunk"]
    assert len(inputs) == 3 and all(set(payload) == {"storage", "spec", "chunk"} for payload in inputs)
    assert max(len(json.dumps(payload)) for payload in inputs) < 100
