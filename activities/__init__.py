"""Activity functions: plain functions, which the local runner calls in its worker processes.

`function_app` registers them by name and imports this package on an activity's first call, so that neither those
workers import azure.durable_functions (which they do not use and would pay for each time a pool starts) nor an
instance that only serves the HTTP API imports OpenCV and the analysis library.
"""

from activities.batch import list_videos, write_batch
from activities.chunks import analyze_chunk, plan_chunks
from activities.summary import summarize

ACTIVITIES = {
    activity.__name__: activity for activity in (plan_chunks, analyze_chunk, summarize, list_videos, write_batch)
}
"""By function name, the name each is registered under (`function_app.ACTIVITY_NAMES`)."""

__all__ = ["ACTIVITIES", "analyze_chunk", "list_videos", "plan_chunks", "summarize", "write_batch"]
