"""Finding an object again after it was out of sight: where its motion carries it, and which track continues which.

A tracker keeps a lost track for `TRACK_LOST_SECONDS` only; an object hidden longer (behind a pillar, a passing
truck, another walker) comes back as a new track. Two tracks are taken for one object when the later one begins
where the earlier one's average velocity (give or take a share of its speed), extrapolated over the gap, carries it,
within a tolerance in box sizes that grows with the gap: the longer the gap, the less a constant velocity says.
`tracking.objects` links objects this way, and `regions` finds the crossings of a line between tracks that stay apart.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Point = tuple[float, float]


@dataclass(frozen=True)
class Sighting:
    """Where an object was seen at one time: a point of its box (the bottom centre) and the box's diagonal."""

    t_ms: int
    point: Point
    size: float
    hidden: float = 0.0
    """How far across the point may lie from the object's own: part of the object was hidden (behind a pillar,
    another object or the frame's border), so its box shows only the rest."""


def miss(first: Sighting, last: Sighting, later: Sighting, speed_change: float = 0.0) -> float | None:
    """How far, in box sizes, `later` lies from where the motion from `first` to `last` carries the object by then, at
    its average speed give or take `speed_change` of it (a share: it may have slowed down or sped up while out of
    sight), less across what the hidden parts of `last` and `later` explain; None without motion to extrapolate (a
    single frame) or without a size."""
    size = (last.size + later.size) / 2
    if last.t_ms <= first.t_ms or size <= 0:
        return None
    carried = (later.t_ms - last.t_ms) / (last.t_ms - first.t_ms)
    step = (last.point[0] - first.point[0]) * carried, (last.point[1] - first.point[1]) * carried
    along = 1.0
    if length := step[0] ** 2 + step[1] ** 2:
        offset = (later.point[0] - last.point[0]) * step[0] + (later.point[1] - last.point[1]) * step[1]
        along = min(max(offset / length, 1.0 - speed_change), 1.0 + speed_change)
    predicted = last.point[0] + step[0] * along, last.point[1] + step[1] * along
    across = max(abs(later.point[0] - predicted[0]) - last.hidden - later.hidden, 0.0)
    return math.hypot(across, later.point[1] - predicted[1]) / size


def within_reach(
    first: Sighting, last: Sighting, later: Sighting, tolerance: float, speed_change: float = 0.0
) -> float | None:
    """`miss` when it is at most `tolerance` box sizes times ``0.5 + gap in seconds / 2``, else None."""
    found = miss(first, last, later, speed_change)
    if found is None or found > tolerance * (0.5 + (later.t_ms - last.t_ms) / 2000):
        return None
    return found


def moved_against(earlier: tuple[Sighting, Sighting], later: tuple[Sighting, Sighting], min_move: float) -> bool:
    """Whether the track seen from `later[0]` to `later[1]` moved against the motion of the one seen from
    `earlier[0]` to `earlier[1]`: their directions more than a right angle apart, each having moved at least
    `min_move` box sizes (less is a box's wobble, not a direction)."""
    steps = []
    for first, last in (earlier, later):
        step = last.point[0] - first.point[0], last.point[1] - first.point[1]
        if math.hypot(*step) < min_move * (first.size + last.size) / 2:
            return False
        steps.append(step)
    return steps[0][0] * steps[1][0] + steps[0][1] * steps[1][1] < 0


def gap_links(
    ends: Sequence[int | None],
    starts: Sequence[int | None],
    gap_ms: int,
    candidate: Callable[[int, int], float | None],
) -> list[tuple[int, int]]:
    """One-to-one links (earlier, later) between tracks: track j may continue track i when it starts after i ends, at
    most `gap_ms` later, and `candidate(i, j)` gives a miss (None: it may not). Shortest gaps first, then the
    smallest miss; each track ends at most one link and begins at most one."""
    if gap_ms <= 0:
        return []
    order = sorted((t_ms, j) for j, t_ms in enumerate(starts) if t_ms is not None)
    times = [t_ms for t_ms, _ in order]
    found = []
    for i, end in enumerate(ends):
        if end is None:
            continue
        for start, j in order[bisect.bisect_right(times, end) : bisect.bisect_right(times, end + gap_ms)]:
            if j != i and (how_far := candidate(i, j)) is not None:
                found.append((start - end, how_far, i, j))
    links, ended, began = [], set(), set()
    for _, _, i, j in sorted(found):
        if i not in ended and j not in began:
            ended.add(i)
            began.add(j)
            links.append((i, j))
    return links


def reaches(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How far the centre of every box of `b` (m, 4) lies from that of every box of `a` (n, 4), in sizes of the box of
    `a` (the square root of its area); shape (n, m). How far an object moved between two analysed frames, for a
    tracker's new tracks (`tracking._sampled_tracktrack`) and a chunk's crop runs (`analysis._Crops`)."""
    size = np.sqrt((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))[:, None]
    centre_a = (a[:, None, :2] + a[:, None, 2:]) / 2
    centre_b = (b[None, :, :2] + b[None, :, 2:]) / 2
    return np.linalg.norm(centre_b - centre_a, axis=2) / np.maximum(size, 1e-9)
