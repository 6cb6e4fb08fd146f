"""Activity functions: plain functions, which the local runner calls in its worker processes.

`function_app` registers them by name and imports this package on an activity's first call, so that neither those
workers import azure.durable_functions (which they do not use and would pay for each time a pool starts) nor an
instance that only serves the HTTP API imports OpenCV and the analysis library.
"""

from activities.chunks import analyze_chunk, plan_chunks
from activities.summary import summarize

ACTIVITIES = {"plan_chunks": plan_chunks, "analyze_chunk": analyze_chunk, "summarize": summarize}

__all__ = ["ACTIVITIES", "analyze_chunk", "plan_chunks", "summarize"]
