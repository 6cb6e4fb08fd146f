"""The local runner's process pool under real faults: workers killed with SIGKILL while they run a call.

The activities below run in real worker processes (forked from the fork server like the runner's own). Each
records when and in which process it began, so a test can kill exactly the worker running a given call, as the
OOM killer would, and then count the attempts each call really had.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from orchestrators.retry import RetryPolicy
from runner.local import ActivityPool, WorkerLost, activity_pool


def _hold(payload: dict[str, Any]) -> str:
    """Record the start (key, pid, time), then take ``seconds``: long enough to be killed while running."""
    with open(payload["log"], "a") as log:
        log.write(json.dumps({"key": payload["key"], "pid": os.getpid(), "t": time.time()}) + "\n")
    time.sleep(payload.get("seconds", 0.0))
    if payload.get("fail"):
        raise RuntimeError(f"{payload['key']} failed on purpose")
    return payload["key"]


ACTIVITIES = {"hold": _hold}
"""What `activity_pool(..., "tests.test_local", ...)` workers import, as the runner's import `activities`."""


@pytest.fixture
def pool() -> Iterator[ActivityPool]:
    with activity_pool(2, "tests.test_local", 1) as pool:
        yield pool


def _starts(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _wait_until(condition: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return value


def _kill_when_started(log: Path, key: str, nth: int) -> int:
    """SIGKILL the process running attempt ``nth`` (1-based) of ``key`` once it has begun; returns its pid."""

    def started() -> dict[str, Any] | None:
        runs = [start for start in _starts(log) if start["key"] == key]
        return runs[nth - 1] if len(runs) >= nth else None

    start = _wait_until(started)
    os.kill(start["pid"], signal.SIGKILL)
    return start["pid"]


def _submit(pool: ActivityPool, log: Path, key: str, seconds: float, attempts: int = 3, interval_s: float = 0.3,
            **extra: Any) -> Future:  # fmt: skip
    payload = {"key": key, "log": str(log), "seconds": seconds, **extra}
    return pool.submit("hold", payload, RetryPolicy(attempts, interval_s))


def test_a_killed_worker_costs_only_its_own_call_one_attempt(pool: ActivityPool, tmp_path: Path) -> None:
    log = tmp_path / "starts.jsonl"
    lost = _submit(pool, log, "lost", seconds=1.5)
    others = [_submit(pool, log, f"other-{i}", seconds=0.3) for i in range(4)]
    killed = _kill_when_started(log, "lost", 1)
    assert lost.result(timeout=60) == "lost"
    assert [future.result(timeout=60) for future in others] == [f"other-{i}" for i in range(4)]
    starts = _starts(log)
    assert [s["key"] for s in starts].count("lost") == 2, "the lost call ran again, once"
    assert all([s["key"] for s in starts].count(f"other-{i}") == 1 for i in range(4)), "nothing else was re-run"
    assert killed not in pool.pids and len(pool.pids) == 2, "the dead worker was replaced"


def test_a_call_that_kills_its_worker_every_time_fails_after_its_attempts(tmp_path: Path) -> None:
    """One worker: the doomed call's worker is killed on each of its 3 attempts; the call waiting behind it is not
    charged for those deaths and succeeds at its first attempt."""
    log = tmp_path / "starts.jsonl"
    with activity_pool(1, "tests.test_local", 1) as pool:
        doomed = _submit(pool, log, "doomed", seconds=30.0, attempts=3, interval_s=0.5)
        waiting = _submit(pool, log, "waiting", seconds=0.0, attempts=1)
        killed = [_kill_when_started(log, "doomed", attempt) for attempt in (1, 2, 3)]
        with pytest.raises(WorkerLost, match=r"killed by SIGKILL while running hold"):
            doomed.result(timeout=60)
        assert waiting.result(timeout=60) == "waiting"
    starts = [s for s in _starts(log) if s["key"] == "doomed"]
    assert [s["pid"] for s in starts] == killed and len(set(killed)) == 3, "each attempt in a new worker"
    gaps = [later["t"] - earlier["t"] for earlier, later in pairwise(starts)]
    assert all(gap >= 0.5 for gap in gaps), f"retried after the interval: {gaps}"
    assert [s["key"] for s in _starts(log)].count("waiting") == 1


def test_failed_attempts_are_retried_here_after_the_interval(pool: ActivityPool, tmp_path: Path) -> None:
    log = tmp_path / "starts.jsonl"
    failing = _submit(pool, log, "failing", seconds=0.0, attempts=3, interval_s=0.4, fail=True)
    with pytest.raises(RuntimeError, match="failing failed on purpose"):
        failing.result(timeout=60)
    times = [s["t"] for s in _starts(log)]
    assert len(times) == 3
    assert all(later - earlier >= 0.4 for earlier, later in pairwise(times))


def test_killing_the_pool_stops_running_calls_at_once_and_cancels_the_rest(tmp_path: Path) -> None:
    log = tmp_path / "starts.jsonl"
    pool = activity_pool(2, "tests.test_local", 1)
    running = [_submit(pool, log, f"long-{i}", seconds=60.0) for i in range(2)]
    waiting = _submit(pool, log, "waiting", seconds=0.0)
    _wait_until(lambda: len(_starts(log)) == 2)
    workers = pool.pids
    started = time.monotonic()
    pool.shutdown(kill=True)
    assert time.monotonic() - started < 1.5
    for future in [*running, waiting]:
        with pytest.raises(CancelledError):
            future.result(timeout=1)
    _wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), timeout=5)
    assert "waiting" not in [s["key"] for s in _starts(log)]


def test_a_worker_that_cannot_import_the_activities_fails_the_call_without_looping() -> None:
    with activity_pool(1, "tests.no_such_activities", 1) as pool:
        with pytest.raises(ModuleNotFoundError, match=r"tests\.no_such_activities"):
            pool.submit("hold", {}, RetryPolicy(attempts=2, interval_s=0.0)).result(timeout=60)
        assert len(pool.started_pids) == 1, "the worker stayed up and answered"
