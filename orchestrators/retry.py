"""The one retry policy of every activity call, and the one place it becomes the durable SDK's `RetryOptions`.

Every step of both orchestrations is retried the same way: `attempts` tries in all, `interval_s` apart (the SDK's
`RetryOptions` has no backoff coefficient the Python worker passes on, so the interval is fixed). The Functions host
applies it in Azure; `runner.local` applies the very same record on one machine (`RetryPolicy.of` reads it back from
the options an orchestrator scheduled with, `RetryPolicy.call` runs it in this process).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the local runner's workers use the policy without the SDK (about a second to import)
    import azure.durable_functions as df


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    interval_s: float

    @classmethod
    def of(cls, options: df.RetryOptions) -> RetryPolicy:
        """The policy a host applies to a call scheduled with ``options``."""
        return cls(options.max_number_of_attempts, options.first_retry_interval_in_milliseconds / 1000)

    def options(self) -> df.RetryOptions:
        """The SDK's record, as orchestrators pass it to `call_activity_with_retry` (recorded in their histories)."""
        from azure.durable_functions import RetryOptions

        return RetryOptions(
            first_retry_interval_in_milliseconds=max(1, int(self.interval_s * 1000)),
            max_number_of_attempts=self.attempts,
        )

    def call(self, activity: Callable[[Any], Any], payload: Any) -> Any:
        """Run ``activity`` here under the policy; the last attempt's error is raised."""
        for _ in range(self.attempts - 1):
            try:
                return activity(payload)
            except Exception:  # retried as the durable host would
                time.sleep(self.interval_s)
        return activity(payload)


NO_RETRY = RetryPolicy(attempts=1, interval_s=0.0)
"""`call_activity` without a policy: one attempt."""
