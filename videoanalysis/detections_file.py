"""A chunk's detections file: each analysed frame of its core as one line of JSON (JSON Lines).

The chunks store what the fan-in's tracking pass (`videoanalysis.tracking.video_pass`) reads back: each frame's
detections, the camera's motion since the frame before, and for each detection the chunk's crop of its run. The
file outlives the code that wrote it (a job's chunks are reused), so a missing `motion` or `crop` still reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from videoanalysis.regions import Box

Thumbnail = tuple[int, int]
"""(chunk, the chunk's id for the crop): where a thumbnail is stored (`artefacts.thumbnail`)."""


@dataclass(frozen=True)
class FrameRecord:
    """One analysed frame as a chunk stored it: its detections, the camera's motion since the frame before, and for
    each detection the chunk's crop of its run (None without one)."""

    t_ms: int
    boxes: tuple[Box, ...]
    conf: tuple[float, ...]
    cls: tuple[str, ...]
    motion: np.ndarray | None = None
    crops: tuple[Thumbnail | None, ...] = ()


def frame_line(frame: FrameRecord) -> str:
    """A frame as one line of a chunk's detections file (JSON Lines)."""
    crops = frame.crops or (None,) * len(frame.boxes)
    detections = [
        {"cls": cls, "conf": conf, "box": list(box), "crop": None if crop is None else crop[1]}
        for box, conf, cls, crop in zip(frame.boxes, frame.conf, frame.cls, crops, strict=True)
    ]
    motion = None if frame.motion is None else frame.motion.tolist()
    return json.dumps({"t_ms": frame.t_ms, "motion": motion, "detections": detections}) + "\n"


def read_frames(chunk: int, lines: bytes) -> Iterator[FrameRecord]:
    """The frames of one chunk's detections file; raises ValueError or KeyError on a file that is not one."""
    for line in lines.splitlines():
        row = json.loads(line)
        detections = row["detections"]
        yield FrameRecord(
            t_ms=int(row["t_ms"]),
            boxes=tuple(rounded_box(d["box"]) for d in detections),
            conf=tuple(float(d["conf"]) for d in detections),
            cls=tuple(str(d["cls"]) for d in detections),
            motion=None if row.get("motion") is None else np.asarray(row["motion"], dtype=np.float64).reshape(2, 3),
            crops=tuple(None if d.get("crop") is None else (chunk, int(d["crop"])) for d in detections),
        )


def rounded_box(values: Iterable[float]) -> Box:
    """A box to 0.1 px, as the detections file keeps it."""
    x1, y1, x2, y2 = (round(float(v), 1) for v in values)
    return (x1, y1, x2, y2)
