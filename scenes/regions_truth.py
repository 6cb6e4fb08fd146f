"""Exact line crossings and zone counts of a generated scene, from its ground truth, by a rule of its own.

The evaluation compares the app's line and zone counts with these, so they are computed without
`videoanalysis.regions`: a bug in its rules (sides, the margin, the segment test, direction, inside) shows up as a
difference instead of being copied into the truth. The rule here is the plainest reading of what a line and a zone
count, on the positions a perfect detector would report:

- **Positions**: an object's truth box in the analysed frames (frame ``i`` at ``frame_time_ms(i, fps)``, analysed when
  its sampling slot, `videoanalysis.video.sample_slot`, differs from frame ``i - 1``'s; frame 0 always; ``sample_fps``
  0 is every frame) where the truth marks it visible (mostly in the frame, mostly not hidden). Its point is the box's
  bottom centre, where it stands.
- **A crossing** of the directed line A->B: two consecutive positions strictly on opposite sides of the line through
  A and B (positions exactly on it are passed over) whose straight step meets the segment A-B. "in" when the later
  position is on the right of A->B on the screen (image coordinates, y down), "out" otherwise; at the later position's
  time. Only objects that count (the truth's ``counted``, as for ``unique``).
- **A zone**: a position is inside when its point is inside the polygon (even-odd ray casting) or on its boundary.
  ``entered``: objects that count with a position inside; ``peak``: the most visible objects of a class inside in one
  analysed frame (any object, as the truth's ``peak``).

The app's rule adds a margin around the line, so a jitter on the line counts nothing, and times a crossing at the
first frame beyond that margin; on generated scenes, where objects drive through, the counts agree
(`tests/test_regions_truth.py`), while the crossing times here may be a frame or two earlier.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scenes.generator import frame_time_ms
from videoanalysis.regions import Box, Crossing, Line, Regions, Zone
from videoanalysis.video import sample_slot

Point = tuple[float, float]


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


def point_of(box: Box) -> Point:
    """Where the object stands: the bottom centre of its box."""
    return ((box[0] + box[2]) / 2, box[3])


def steps_across(line: Line, points: Sequence[tuple[int, Point]]) -> list[Crossing]:
    """The crossings of ``line`` by one object's ``(t_ms, point)`` positions, in time order."""
    (ax, ay), (bx, by) = line.a, line.b
    found = []
    last: tuple[Point, float] | None = None  # the last position off the line, and its signed distance (scaled)
    for t_ms, (px, py) in points:
        distance = (bx - ax) * (py - ay) - (by - ay) * (px - ax)  # > 0: right of A->B, y down
        if distance == 0:
            continue
        if last is not None and (last[1] > 0) != (distance > 0):
            (qx, qy), before = last
            share = before / (before - distance)  # where the step meets the line through A and B
            mx, my = qx + share * (px - qx), qy + share * (py - qy)
            along = ((mx - ax) * (bx - ax) + (my - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)
            if 0 <= along <= 1:
                found.append(Crossing(t_ms, "in" if distance > 0 else "out"))
        last = ((px, py), distance)
    return found


def in_polygon(point: Point, corners: Sequence[Point]) -> bool:
    """Whether ``point`` is inside the polygon or on its boundary."""
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in zip(corners, [*corners[1:], corners[0]], strict=True):
        on_edge_line = (x2 - x1) * (y - y1) == (y2 - y1) * (x - x1)
        if on_edge_line and min(x1, x2) <= x <= max(x1, x2) and min(y1, y2) <= y <= max(y1, y2):
            return True
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _crossings(objects: list[SeenObject], line: Line) -> list[tuple[SeenObject, Crossing]]:
    found = [
        (obj, crossing)
        for obj in objects
        if obj.counted
        for crossing in steps_across(line, [(t_ms, point_of(box)) for t_ms, box in obj.frames])
    ]
    return sorted(found, key=lambda pair: (pair[1].t_ms, pair[0].id))


def _zone_counts(objects: list[SeenObject], zone: Zone, classes: list[str]) -> dict[str, dict[str, int]]:
    inside_by_frame: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    entered: dict[str, int] = defaultdict(int)
    for obj in objects:
        inside = [t_ms for t_ms, box in obj.frames if in_polygon(point_of(box), zone.points)]
        for t_ms in inside:
            inside_by_frame[t_ms][obj.cls] += 1
        entered[obj.cls] += obj.counted and bool(inside)
    return {
        cls: {"entered": entered[cls], "peak": max((frame[cls] for frame in inside_by_frame.values()), default=0)}
        for cls in classes
    }


def _box(values: Any) -> Box:
    x1, y1, x2, y2 = (float(v) for v in values)
    return (x1, y1, x2, y2)
