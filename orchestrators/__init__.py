"""The orchestrator functions; each module registers its own on its blueprint (`bp`), which `function_app` registers."""

from orchestrators.analyze_batch import analyze_batch
from orchestrators.analyze_video import analyze_video

__all__ = ["analyze_batch", "analyze_video"]
