"""Exact line crossings and zone counts of a generated scene, from its ground truth, by the app's own rules.

The truth's boxes are what a perfect detector and tracker would report, so `videoanalysis.regions` applied to them
(the same point of the box, the same margin, the same fold) on the frames the app analyses gives the counts the app
should report:

- **Frames**: the analysed ones. Frame ``i`` is at ``frame_time_ms(i, fps)`` and is analysed when its sampling slot
  (`videoanalysis.video.sample_slot`) differs from frame ``i - 1``'s; frame 0 always; ``sample_fps`` 0 is every frame.
- **Boxes**: an object's truth box in the frames where the truth marks it visible (mostly in the frame, mostly not
  hidden): the frames a detector can find it in.
- **Lines and ``entered``**: objects that count (the truth's ``counted``, as for ``unique``), each one track over
  its visible analysed frames. A crossing while hidden still counts, from the frames either side.
- **A zone's ``peak``**: the most visible objects of a class inside in one analysed frame (any object, as the
  truth's ``peak``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scenes.generator import frame_time_ms
from videoanalysis.regions import Box, Crossing, Line, Regions, Zone, count_inside, entered, trace
from videoanalysis.video import sample_slot


@dataclass(frozen=True)
class SeenObject:
    """One truth object on the analysed frames where it is visible."""

    id: int
    cls: str
    counted: bool
    frames: tuple[tuple[int, Box], ...]  # (t_ms, box), in time order


def analysed_frames(n_frames: int, fps: float, sample_fps: float) -> list[int]:
    """Indexes of the frames the app analyses at ``sample_fps``, by the global sampling rule."""
    if sample_fps == 0:
        return list(range(n_frames))
    slots = [sample_slot(frame_time_ms(i, fps), sample_fps) for i in range(n_frames)]
    return [i for i in range(n_frames) if i == 0 or slots[i] != slots[i - 1]]


def seen_objects(truth: Mapping[str, Any], sample_fps: float) -> list[SeenObject]:
    """Every truth object with its visible boxes on analysed frames."""
    fps = float(truth["fps"])
    analysed = set(analysed_frames(int(truth["frames"]), fps, sample_fps))
    out = []
    for obj in truth["objects"]:
        first = int(obj["first_frame"])
        frames = tuple(
            (frame_time_ms(i, fps), _box(box))
            for i, (box, visible) in enumerate(zip(obj["boxes"], obj["visible"], strict=True), start=first)
            if visible and i in analysed
        )
        out.append(SeenObject(int(obj["id"]), str(obj["cls"]), bool(obj["counted"]), frames))
    return out


def line_crossings(truth: Mapping[str, Any], line: Line, sample_fps: float) -> list[tuple[SeenObject, Crossing]]:
    """Every crossing of ``line`` by an object that counts, with the object, in time order."""
    return _crossings(seen_objects(truth, sample_fps), line)


def region_counts(truth: Mapping[str, Any], regions: Regions, sample_fps: float) -> dict[str, Any]:
    """``{"lines": {name: {cls: {"in": n, "out": n}}}, "zones": {name: {cls: {"entered": n, "peak": n}}}}``, every
    class of the truth listed (as in its ``unique``)."""
    classes = list(truth["classes"])
    objects = seen_objects(truth, sample_fps)
    lines = {}
    for line in regions.lines:
        crossed = {cls: {"in": 0, "out": 0} for cls in classes}
        for obj, crossing in _crossings(objects, line):
            crossed[obj.cls][crossing.direction] += 1
        lines[line.name] = crossed
    return {"lines": lines, "zones": {zone.name: _zone_counts(objects, zone, classes) for zone in regions.zones}}


def _crossings(objects: list[SeenObject], line: Line) -> list[tuple[SeenObject, Crossing]]:
    found = [(obj, c) for obj in objects if obj.counted for c in trace(line, obj.frames).crossings]
    return sorted(found, key=lambda pair: (pair[1].t_ms, pair[0].id))


def _zone_counts(objects: list[SeenObject], zone: Zone, classes: list[str]) -> dict[str, dict[str, int]]:
    frames: dict[int, list[tuple[str, Box]]] = defaultdict(list)
    for obj in objects:
        for t_ms, box in obj.frames:
            frames[t_ms].append((obj.cls, box))
    counts = {}
    for cls in classes:
        counted = [obj for obj in objects if obj.cls == cls and obj.counted]
        inside_once = sum(entered(zone, (box for _, box in obj.frames)) for obj in counted)
        peak = max((count_inside(zone, [b for c, b in boxes if c == cls]) for boxes in frames.values()), default=0)
        counts[cls] = {"entered": inside_once, "peak": peak}
    return counts


def _box(values: Any) -> Box:
    x1, y1, x2, y2 = (float(v) for v in values)
    return (x1, y1, x2, y2)
