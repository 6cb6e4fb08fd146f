"""Counting lines and zones: their definitions, validation, and the rules that count crossings and occupancy.

Coordinates are pixels of the video frame, x right and y down from the top-left corner; the frame spans
``[0, width] x [0, height]`` (its right and bottom edges included, where a box clipped to the frame ends).

**The point that counts** is a box's bottom centre ``((x1 + x2) / 2, y2)``: where the object stands on the ground.
Lines and zones are drawn on the road or the floor (a stop line, a doorway, a crossing); the bottom centre meets
them where the object does, whatever its height, while the box centre of a tall person or a near car floats above
the ground and, in perspective, meets a line drawn on the ground early or late, or not at all.

**Sides of a line.** A line is a directed segment from A to B. A point P's signed distance to it is
``cross(B - A, P - A) / |B - A|`` with ``cross(u, v) = u.x * v.y - u.y * v.x``. In image coordinates (y down) a
positive distance is the *right* side of A->B as seen on the screen looking from A towards B, a negative one the
*left* side. A box is *on* a side only when its point is more than ``MARGIN_SHARE`` of the box's size across the
line away from it (size across = ``|n.x| * w + |n.y| * h`` for the line's unit normal n: the box's width for a
vertical line, its height for a horizontal one); closer, it is on neither side and changes nothing (hysteresis).

**A crossing** is a change of side between two consecutive analysed frames that are on a side (frames on neither
side between them are passed over). Its direction is **"in" from the left side to the right side** (the direction of
A->B turned 90 degrees clockwise on the screen) and "out" the other way: a line drawn upwards counts objects moving
right as "in", a line drawn left to right counts objects moving down as "in". It counts only when the straight step
from the last point on the old side to the first point on the new side meets the segment A-B itself (ends included),
not its extension. Its time is that first frame on the new side. An object that crosses and comes back counts once
each way; one that stops on the line, or jitters across it by less than the margin, counts nothing until it is
clearly on the other side.

**Crossings out of sight.** Tracks that `videoanalysis.tracking.objects` links into one object (`LINK_GAP_SECONDS`) join
their traces like any other: a crossing while the object was hidden is found between them. Between tracks that stay
apart, a crossing is still found when a track ends on one side of a line and a track of the same class begins on the
other side at most `LINK_GAP_SECONDS` later, near where the first one's motion carries it
(`tracking.gaps.within_reach` with the looser ``LINK_TOLERANCE``, from its first to its last frame on a side), and the
straight step between them meets the segment: the crossing counts once, at the second track's first frame on a side.
Each track ends at most one such link and begins at most one, shortest gaps first.

**Zones** are simple polygons. A box is inside when its point is inside the polygon or on its boundary (so a zone
drawn to the frame's edge holds an object whose box is clipped there). ``entered`` is whether an object was inside
in at least one analysed frame; a zone's ``peak`` is the most boxes inside in one analysed frame.

**Segments.** Every rule is a fold over frames in time order, so an object made of several segments (tracks of one
class linked across a gap; a track that changes class is two objects) is traced per segment and joined: `join` joins
the `LineTrace` of its segments in time order and finds the crossing between them exactly as one trace over all
their frames would.
"""

from __future__ import annotations

import json
import math
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any, Literal

import numpy as np

from videoanalysis.tracking.gaps import Point, Sighting, gap_links, within_reach

Box = tuple[float, float, float, float]
Direction = Literal["in", "out"]

MAX_LINES = 16
MAX_ZONES = 16
"""Caps on the regions of one analysis: every line and zone is traced for every object of every chunk, and each one
is a row of the summary and a curve of the chart."""

MAX_ZONE_POINTS = 64
"""Cap on a zone's corners; its self-crossing check compares every pair of edges."""

MAX_NAME_LENGTH = 64

LINK_TOLERANCE = 1.5
"""How far, in box sizes (times ``0.5 + gap in seconds / 2``, `tracking.gaps.within_reach`), the later track may
begin from where the earlier one's motion carries it, for a crossing out of sight. Looser than
`tracking.objects.LINK_TOLERANCE`, which makes two tracks one object: the change of side across the segment is
evidence of its own. Chosen on the evaluation's tuning scenes (`make eval`): 1 to 2 gave nearly the same line error
there."""

MARGIN_SHARE = 0.1
"""How far a box's point must be from a line to be on a side, as a share of the box's size across the line. The demo
model's tracked boxes on the demo scene (573 boxes matched to the truth) put the bottom centre within 0.07 of the
box's size of the true one in 99% of frames: flipping from 0.1 on one side to 0.1 on the other takes an error swing
of 0.2, well beyond that, while any object that really crosses ends up much farther away."""


@dataclass(frozen=True)
class Line:
    """A directed counting line from ``a`` to ``b``; see the module docstring for its sides and "in"."""

    name: str
    a: Point
    b: Point

    def __post_init__(self) -> None:
        _check_name("line", self.name)
        _check_coordinates(f"line {self.name!r}", (self.a, self.b))
        if self.a == self.b:
            raise ValueError(f"line {self.name!r} has zero length: both ends are {_show(self.a)}")


@dataclass(frozen=True)
class Zone:
    """A counting zone: a simple polygon (closed implicitly, corners in either winding order)."""

    name: str
    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        _check_name("zone", self.name)
        if len(self.points) < 3:
            raise ValueError(f"zone {self.name!r} needs at least 3 points, got {len(self.points)}")
        if len(self.points) > MAX_ZONE_POINTS:
            raise ValueError(f"zone {self.name!r} has {len(self.points)} points (at most {MAX_ZONE_POINTS})")
        _check_coordinates(f"zone {self.name!r}", self.points)
        _check_simple(self)


@dataclass(frozen=True)
class Regions:
    """The lines and zones of one analysis. Names are unique across both, so a name means one thing in the summary,
    the chart and error messages."""

    lines: tuple[Line, ...] = ()
    zones: tuple[Zone, ...] = ()

    def __post_init__(self) -> None:
        if len(self.lines) > MAX_LINES:
            raise ValueError(f"too many lines: {len(self.lines)} (at most {MAX_LINES})")
        if len(self.zones) > MAX_ZONES:
            raise ValueError(f"too many zones: {len(self.zones)} (at most {MAX_ZONES})")
        seen: set[str] = set()
        for name in [line.name for line in self.lines] + [zone.name for zone in self.zones]:
            if name in seen:
                raise ValueError(f"the name {name!r} is used twice (line and zone names must be unique)")
            seen.add(name)

    def to_dict(self) -> dict[str, Any]:
        """``{"lines": {name: [[x1, y1], [x2, y2]]}, "zones": {name: [[x, y], ...]}}``, plain JSON."""
        return {
            "lines": {line.name: [list(line.a), list(line.b)] for line in self.lines},
            "zones": {zone.name: [list(p) for p in zone.points] for zone in self.zones},
        }

    @classmethod
    def from_dict(cls, data: Any) -> Regions:
        """Parse and validate the `to_dict` shape (either key may be left out); ValueError says what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError(f"regions must be an object with 'lines' and 'zones', got {_short(data)}")
        unknown = sorted(set(data) - {"lines", "zones"})
        if unknown:
            raise ValueError(f"unknown regions key {unknown[0]!r} (expected 'lines' and 'zones')")
        lines = _named(data.get("lines", {}), "lines", "[[x1, y1], [x2, y2]]")
        zones = _named(data.get("zones", {}), "zones", "[[x, y], ...]")
        return cls(
            lines=tuple(_line_from_json(name, value) for name, value in lines.items()),
            zones=tuple(_zone_from_json(name, value) for name, value in zones.items()),
        )

    @classmethod
    def from_json(cls, text: str) -> Regions:
        """`from_dict` of a JSON text (the ``COUNT_REGIONS`` setting); a name given twice is an error, not the last
        one silently winning."""
        try:
            data = json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as error:
            raise ValueError(f"regions are not valid JSON: {error}") from None
        return cls.from_dict(data)


def parse_line_spec(spec: str) -> Line:
    """A line from the command line's ``NAME=x1,y1,x2,y2``."""
    name, numbers = _split_spec("line", spec, "NAME=x1,y1,x2,y2")
    if len(numbers) != 4:
        raise ValueError(f"line {spec!r}: expected NAME=x1,y1,x2,y2 (4 numbers, got {len(numbers)})")
    return Line(name, (numbers[0], numbers[1]), (numbers[2], numbers[3]))


def parse_zone_spec(spec: str) -> Zone:
    """A zone from the command line's ``NAME=x1,y1,x2,y2,x3,y3[,...]``."""
    form = "NAME=x1,y1,x2,y2,x3,y3[,...]"
    name, numbers = _split_spec("zone", spec, form)
    if len(numbers) % 2:
        raise ValueError(f"zone {spec!r}: expected {form} (pairs of numbers, got {len(numbers)} numbers)")
    return Zone(name, tuple(zip(numbers[::2], numbers[1::2], strict=True)))


def check_in_frame(regions: Regions, width: int, height: int) -> None:
    """Raise ValueError naming the first point outside the ``width`` x ``height`` frame (known only once probed)."""
    named: list[tuple[str, tuple[Point, ...]]] = [(f"line {line.name!r}", (line.a, line.b)) for line in regions.lines]
    named += [(f"zone {zone.name!r}", zone.points) for zone in regions.zones]
    for what, points in named:
        for x, y in points:
            if not (0 <= x <= width and 0 <= y <= height):
                raise ValueError(f"{what}: the point {_show((x, y))} is outside the {width}x{height} frame")


# --- lines -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Crossing:
    """One crossing of a line by one object, at the first analysed frame on the new side."""

    t_ms: int
    direction: Direction


@dataclass(frozen=True)
class Sided:
    """A frame where an object is on a side of a line: +1 right of A->B, -1 left; `size` is its box's diagonal."""

    t_ms: int
    side: int
    point: Point
    size: float


@dataclass(frozen=True)
class LineTrace:
    """What one line makes of a run of frames of one object: the crossings inside it, and its first and last frames
    on a side, which are all `join` needs to find the crossing between this run and the next."""

    first: Sided | None = None
    last: Sided | None = None
    crossings: tuple[Crossing, ...] = ()


EMPTY = LineTrace()
"""The trace of no frames (or of frames all within the margin): `join`'s identity."""


def anchor(box: Box) -> Point:
    """The point of a box that counts: its bottom centre."""
    x1, _, x2, y2 = box
    return ((x1 + x2) / 2, y2)


def box_size(box: Box) -> float:
    """A box's diagonal, to one decimal: the size that distances between sightings are measured in."""
    return round(math.hypot(box[2] - box[0], box[3] - box[1]), 1)


def sighting(t_ms: int, box: Box) -> Sighting:
    """Where a box puts its object at `t_ms`, for `videoanalysis.tracking.gaps`: the point that counts, and the
    box's size."""
    return Sighting(t_ms, anchor(box), box_size(box))


def side_of(line: Line, box: Box) -> int:
    """+1 when the box's point is on the right of the line, -1 on its left, 0 within the margin of it."""
    (ax, ay), (bx, by) = line.a, line.b
    dx, dy = bx - ax, by - ay
    length = math.hypot(dx, dy)
    px, py = anchor(box)
    distance = (dx * (py - ay) - dy * (px - ax)) / length
    across = (abs(dy) * (box[2] - box[0]) + abs(dx) * (box[3] - box[1])) / length  # the normal is (-dy, dx)/length
    margin = MARGIN_SHARE * across
    return 1 if distance > margin else -1 if distance < -margin else 0


def trace(line: Line, track: Iterable[tuple[int, Box]]) -> LineTrace:
    """The trace of one object's ``(t_ms, box)`` frames, in time order; its ``crossings`` are the object's."""
    return reduce(lambda done, step: join(line, done, step), (_step(line, t_ms, box) for t_ms, box in track), EMPTY)


def join(line: Line, earlier: LineTrace, later: LineTrace) -> LineTrace:
    """The trace of two consecutive runs of frames of one object, as if traced in one pass."""
    if earlier.last is None:
        return later
    if later.first is None:
        return earlier
    between = _crossing(line, earlier.last, later.first)
    return LineTrace(earlier.first, later.last, earlier.crossings + between + later.crossings)


def _step(line: Line, t_ms: int, box: Box) -> LineTrace:
    side = side_of(line, box)
    if side == 0:
        return EMPTY
    sided = Sided(t_ms, side, anchor(box), box_size(box))
    return LineTrace(sided, sided)


def _crossing(line: Line, old: Sided, new: Sided) -> tuple[Crossing, ...]:
    if old.side == new.side or not _segments_meet(old.point, new.point, line.a, line.b):
        return ()
    return (Crossing(new.t_ms, "in" if new.side > 0 else "out"),)


@dataclass(frozen=True)
class TrackLine:
    """One object (its linked segments) as `gap_crossings` sees it: its class, its first and last frame, its trace."""

    cls: str
    first_ms: int
    last_ms: int
    trace: LineTrace


def gap_crossings(line: Line, tracks: Sequence[TrackLine], gap_ms: int) -> list[tuple[int, int, Crossing]]:
    """Crossings out of sight between tracks (module docstring), as (earlier track's index, later one's, crossing)."""
    crossings: dict[tuple[int, int], Crossing] = {}

    def candidate(i: int, j: int) -> float | None:
        earlier, later = tracks[i], tracks[j]
        first, old, new = earlier.trace.first, earlier.trace.last, later.trace.first
        if later.cls != earlier.cls or later.first_ms <= earlier.last_ms or first is None or old is None or new is None:
            return None
        crossed = _crossing(line, old, new)
        if not crossed:
            return None
        crossings[i, j] = crossed[0]
        return within_reach(_sighting(first), _sighting(old), _sighting(new), LINK_TOLERANCE)

    ends = [None if track.trace.last is None else track.trace.last.t_ms for track in tracks]
    starts = [None if track.trace.first is None else track.trace.first.t_ms for track in tracks]
    return [(i, j, crossings[i, j]) for i, j in gap_links(ends, starts, gap_ms, candidate)]


def _sighting(sided: Sided) -> Sighting:
    return Sighting(sided.t_ms, sided.point, sided.size)


# --- zones -------------------------------------------------------------------------------------------------------


def anchors(boxes: Iterable[Box]) -> np.ndarray:
    """The points of many boxes, shape (n, 2)."""
    b = np.asarray(list(boxes), dtype=np.float64).reshape(-1, 4)
    return np.stack(((b[:, 0] + b[:, 2]) / 2, b[:, 3]), axis=1)


def inside(zone: Zone, points: np.ndarray) -> np.ndarray:
    """Which of ``points`` (n, 2) are inside the zone or on its boundary: the even-odd rule, vectorised."""
    px, py = points[:, :1], points[:, 1:]
    x1, y1 = np.asarray(zone.points, dtype=np.float64).T
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    straddles = (y1 > py) != (y2 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
    odd = np.count_nonzero(straddles & (px < x_at), axis=1) % 2 == 1
    cross = (x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)
    on_edge = (
        (np.abs(cross) <= 1e-9 * np.hypot(x2 - x1, y2 - y1))
        & (np.minimum(x1, x2) <= px)
        & (px <= np.maximum(x1, x2))
        & (np.minimum(y1, y2) <= py)
        & (py <= np.maximum(y1, y2))
    )
    return np.asarray(odd | on_edge.any(axis=1))


def entered(zone: Zone, boxes: Iterable[Box]) -> bool:
    """Whether one object, given its boxes in some frames, was inside the zone in any of them."""
    return bool(inside(zone, anchors(boxes)).any())


def count_inside(zone: Zone, boxes: Iterable[Box]) -> int:
    """How many of one frame's boxes are inside the zone; a zone's peak is the most over frames."""
    return int(np.count_nonzero(inside(zone, anchors(boxes))))


# --- validation and geometry helpers -----------------------------------------------------------------------------


def _check_name(kind: str, name: str) -> None:
    if not name.strip():
        raise ValueError(f"a {kind} needs a name")
    if name != name.strip() or not name.isprintable() or len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"{kind} name {name!r} must be printable, at most {MAX_NAME_LENGTH} characters, without spaces around it"
        )


def _check_coordinates(what: str, points: Iterable[Point]) -> None:
    for point in points:
        for v in point:
            if not math.isfinite(v):
                raise ValueError(f"{what}: coordinates must be finite numbers, got {v}")
            if v < 0:
                raise ValueError(f"{what}: coordinates must be >= 0 (pixels from the top-left corner), got {v}")


def _check_simple(zone: Zone) -> None:
    """A zone's polygon must not cross or touch itself: no two edges meet except neighbours at their shared corner,
    and no corner folds an edge back onto the one before."""
    points = zone.points
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        if points[i] == points[(i + 1) % n]:
            raise ValueError(f"zone {zone.name!r}: points {i + 1} and {(i + 1) % n + 1} are the same point")
    for i in range(n):
        (p, q), (_, r) = edges[i], edges[(i + 1) % n]
        if _cross(p, q, r) == 0 and (q[0] - p[0]) * (r[0] - q[0]) + (q[1] - p[1]) * (r[1] - q[1]) < 0:
            raise ValueError(f"zone {zone.name!r} crosses itself: it folds back at point {(i + 1) % n + 1}")
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # neighbours across the closing corner
            if _segments_meet(*edges[i], *edges[j]):
                raise ValueError(
                    f"zone {zone.name!r} crosses itself: edge {i + 1}-{i + 2} meets edge {j + 1}-{(j + 1) % n + 1}"
                )


def _cross(o: Point, p: Point, q: Point) -> float:
    """cross(p - o, q - o): > 0 when q is on the right of o->p in image coordinates (y down)."""
    return (p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0])


def _segments_meet(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """Whether the closed segments p1-p2 and q1-q2 have a point in common."""
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    if d1 * d2 < 0 and d3 * d4 < 0:
        return True
    return any(
        d == 0 and _within(a, b, c)
        for d, a, b, c in ((d1, q1, q2, p1), (d2, q1, q2, p2), (d3, p1, p2, q1), (d4, p1, p2, q2))
    )


def _within(a: Point, b: Point, c: Point) -> bool:
    """Whether c, collinear with a-b, lies on the segment a-b."""
    return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])


# --- parsing helpers ---------------------------------------------------------------------------------------------


def _split_spec(kind: str, spec: str, form: str) -> tuple[str, list[float]]:
    name, sep, values = spec.partition("=")
    if not sep:
        raise ValueError(f"{kind} {spec!r}: expected {form}")
    numbers = []
    for text in values.split(","):
        try:
            numbers.append(_number(float(text)))
        except ValueError:
            raise ValueError(f"{kind} {spec!r}: {text.strip()!r} is not a number (expected {form})") from None
    return name.strip(), numbers


def _number(value: float) -> float:
    """Whole numbers as int, so that a region reads back as it was written (``100``, not ``100.0``)."""
    return int(value) if math.isfinite(value) and value.is_integer() else value


def _named(value: Any, key: str, form: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{key!r} must be an object of name: {form}, got {_short(value)}")
    return value


def _line_from_json(name: str, value: Any) -> Line:
    points = _points(value, f"line {name!r}")
    if points is None or len(points) != 2:
        raise ValueError(f"line {name!r} must be [[x1, y1], [x2, y2]], got {_short(value)}")
    return Line(name, points[0], points[1])


def _zone_from_json(name: str, value: Any) -> Zone:
    points = _points(value, f"zone {name!r}")
    if points is None:
        raise ValueError(f"zone {name!r} must be [[x, y], ...], got {_short(value)}")
    return Zone(name, points)


def _points(value: Any, what: str) -> tuple[Point, ...] | None:
    """``[[x, y], ...]`` as points; None when it has another shape. Booleans are not numbers here. JSON integers
    have no size limit: one too large for a float is refused here, as an infinite coordinate is by the checks."""
    if not isinstance(value, list):
        return None
    points = []
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2):
            return None
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair):
            return None
        try:
            points.append((_number(float(pair[0])), _number(float(pair[1]))))
        except OverflowError:
            raise ValueError(f"{what}: coordinates must be finite numbers, got an integer too large") from None
    return tuple(points)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise ValueError(f"regions JSON gives {key!r} twice")
    return dict(pairs)


def _show(point: Point) -> str:
    return f"({point[0]:g}, {point[1]:g})"


def _short(value: Any) -> str:
    return reprlib.repr(value)
