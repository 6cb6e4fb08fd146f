"""Orchestrator functions, registered on a blueprint for the function app."""

import azure.durable_functions as df

from orchestrators.analyze_video import analyze_video

bp = df.Blueprint()
bp.orchestration_trigger(context_name="context")(analyze_video)

__all__ = ["analyze_video", "bp"]
