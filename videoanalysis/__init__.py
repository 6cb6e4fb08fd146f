"""Batch video analysis: chunked YOLO26 detection and tracking with per-class counts you can trust."""

__version__ = "0.3.0"
