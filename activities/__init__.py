"""Activity functions: plain functions, which the local runner calls in its worker processes.

`activities.blueprint` registers them for the function app; it is kept apart so that those workers never import
azure.durable_functions, which they do not use and would pay for each time a pool starts.
"""

from activities.chunks import analyze_chunk, plan_chunks
from activities.summary import summarize

ACTIVITIES = {"plan_chunks": plan_chunks, "analyze_chunk": analyze_chunk, "summarize": summarize}

__all__ = ["ACTIVITIES", "analyze_chunk", "plan_chunks", "summarize"]
