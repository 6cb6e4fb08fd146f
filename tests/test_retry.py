"""The one retry policy: what orchestrators record in their histories, and what the local host applies."""

from __future__ import annotations

import time
from itertools import pairwise

import pytest

from orchestrators.retry import NO_RETRY, RetryPolicy


def test_the_options_an_orchestrator_records_read_back_as_the_same_policy() -> None:
    policy = RetryPolicy(attempts=3, interval_s=5.0)
    options = policy.options()
    assert (options.max_number_of_attempts, options.first_retry_interval_in_milliseconds) == (3, 5000)
    assert RetryPolicy.of(options) == policy


def test_a_zero_interval_is_recorded_as_the_shortest_the_sdk_takes() -> None:
    """The SDK refuses an interval of 0 ms; the policy's 0 s becomes 1 ms, as the orchestrators always sent."""
    assert RetryPolicy(attempts=2, interval_s=0.0).options().first_retry_interval_in_milliseconds == 1


def test_a_call_here_is_tried_until_it_succeeds_the_interval_apart() -> None:
    times: list[float] = []

    def flaky(payload: int) -> int:
        times.append(time.monotonic())
        if len(times) < 3:
            raise RuntimeError("not yet")
        return payload * 2

    assert RetryPolicy(attempts=3, interval_s=0.05).call(flaky, 21) == 42
    assert len(times) == 3 and all(later - earlier >= 0.05 for earlier, later in pairwise(times))


def test_the_last_attempts_error_is_raised_and_no_retry_tries_once() -> None:
    calls: list[int] = []

    def failing(payload: int) -> None:
        calls.append(payload)
        raise ValueError(f"attempt {len(calls)}")

    with pytest.raises(ValueError, match="attempt 2"):
        RetryPolicy(attempts=2, interval_s=0.0).call(failing, 1)
    with pytest.raises(ValueError, match="attempt 3"):
        NO_RETRY.call(failing, 1)
    assert len(calls) == 3
