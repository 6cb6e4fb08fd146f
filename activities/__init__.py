"""Activity functions, registered on a blueprint for the function app.

They stay plain functions (the local runner calls them in worker processes); registration adds the triggers.
"""

import azure.durable_functions as df

from activities.chunks import analyze_chunk, plan_chunks
from activities.summary import summarize

ACTIVITIES = {"plan_chunks": plan_chunks, "analyze_chunk": analyze_chunk, "summarize": summarize}

bp = df.Blueprint()
for _activity in ACTIVITIES.values():
    bp.activity_trigger(input_name="payload")(_activity)

__all__ = ["ACTIVITIES", "analyze_chunk", "bp", "plan_chunks", "summarize"]
