"""Orchestrator functions, registered on a blueprint for the function app."""

import azure.durable_functions as df

from orchestrators.analyze_batch import analyze_batch
from orchestrators.analyze_video import analyze_video

bp = df.Blueprint()
bp.orchestration_trigger(context_name="context")(analyze_video)
bp.orchestration_trigger(context_name="context")(analyze_batch)

__all__ = ["analyze_batch", "analyze_video", "bp"]
