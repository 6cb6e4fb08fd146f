"""Batch video analysis: chunked YOLO26 detection, one tracking pass at the fan-in, per-class counts you can trust."""

__version__ = "0.4.0"
